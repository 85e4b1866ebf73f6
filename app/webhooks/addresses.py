"""Where a webhook may be sent: the SSRF guard, checked when an endpoint is registered and
again before each delivery (a name's addresses can change in between).

Any endpoint URL is http(s) with a host and no credentials in it. In production it must be
https and its host must resolve only to public addresses: never loopback, private,
link-local (cloud metadata lives there), shared, multicast or reserved space, so that a
tenant cannot make the server call into its own network. In development, loopback and
private addresses are allowed, for tests and demos.
"""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from app.errors import ValidationFailed

MAX_URL_LENGTH = 2048


class UnsafeAddress(Exception):
    """A host that resolves (now) to an address the server must not call."""


def checked_url(value: str, *, production: bool, field: str = "url") -> str:
    """The URL if its form is acceptable (VALIDATION_FAILED otherwise); its addresses are
    `check_addresses`' to judge."""
    url = value.strip()
    parts = urlsplit(url)
    if len(url) > MAX_URL_LENGTH or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(f"An http(s) URL with a host, at most {MAX_URL_LENGTH} "
                               "characters.", field=field)
    if parts.username is not None or parts.password is not None:
        raise ValidationFailed("The URL may not carry credentials; the deliveries are signed "
                               "instead.", field=field)
    if production and parts.scheme != "https":
        raise ValidationFailed("Webhook URLs must be https.", field=field)
    return url


async def check_addresses(url: str, *, production: bool) -> list[str]:
    """The addresses the URL's host resolves to now; `UnsafeAddress` if, in production, any
    of them is not public (or the name does not resolve)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise UnsafeAddress(f"{parts.hostname} does not resolve: {error.strerror}") from error
    # In the resolver's order of preference, each once.
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if production:
        for address in addresses:
            if not is_public(address):
                raise UnsafeAddress(f"{parts.hostname} resolves to {address}, which is not a "
                                    "public address.")
    return addresses


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone is not an address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    return ip.is_global and not ip.is_multicast
