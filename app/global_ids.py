"""The one codec for Relay global IDs: base64("Type:pk"), opaque to clients.

It sits below every package: the API encodes and decodes with it, and the webhook payloads
the domain writes name their objects with the same IDs.
"""

import base64
import binascii

from app.errors import NotFound

_MAX_PK = 2**63 - 1


def encode(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def parse(global_id: str) -> tuple[str, int] | None:
    """(type name, primary key), or None if the ID is not one of ours.

    Only the exact text `encode` makes is one of ours: base64 decoding alone would skip
    stray characters (spaces, NULs, extra padding), and "VXNlcjo2!!!" would be user 6.
    """
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, pk = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        value = int(pk)
    except (ValueError, binascii.Error, UnicodeError):
        return None
    if not type_name or not 0 < value <= _MAX_PK or encode(type_name, value) != global_id:
        return None
    return type_name, value


def decode(global_id: str, type_name: str, *, field: str | None = None) -> int:
    """The primary key of an ID that must name a `type_name`; anything else is NOT_FOUND,
    naming `field`: the service argument the key is for, as a service's own refusal would."""
    parsed = parse(global_id)
    if parsed is None or parsed[0] != type_name:
        raise NotFound(f"No {type_name} with ID {global_id!r}.", field=field)
    return parsed[1]
