"""The SSRF guard and the delivery signature (app/webhooks: addresses, signing)."""

from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.errors import ValidationFailed
from app.webhooks.addresses import UnsafeAddress, check_addresses, checked_url, is_public
from app.webhooks.signing import new_secret, signed_headers


@pytest.mark.parametrize("url", [
    "ftp://example.com/hook", "https:///no-host", "https://user:pass@example.com/hook",
    "https://token@example.com/hook", "example.com/hook", "https://e.com/" + "x" * 2048])
def test_malformed_or_credentialed_urls_are_refused(url):
    with pytest.raises(ValidationFailed):
        checked_url(url, production=False)


def test_production_takes_https_only():
    with pytest.raises(ValidationFailed, match="https"):
        checked_url("http://hooks.example.com/in", production=True)
    assert checked_url(" https://hooks.example.com/in ", production=True) == (
        "https://hooks.example.com/in")


@pytest.mark.parametrize(("address", "public"), [
    ("8.8.8.8", True), ("2606:4700:4700::1111", True),
    ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("::1", False),
    ("fe80::1%eth0", False), ("fc00::1", False), ("::ffff:10.0.0.1", False),
    ("224.0.0.1", False), ("240.0.0.1", False)])
def test_only_public_addresses_are_public(address, public):
    assert is_public(address) is public


async def test_a_local_receiver_is_refused_in_production_and_allowed_in_development():
    with pytest.raises(UnsafeAddress, match="not a public address"):
        await check_addresses("https://localhost:8443/hook", production=True)
    assert "127.0.0.1" in await check_addresses("http://127.0.0.1:9/hook", production=False)


async def test_a_name_that_does_not_resolve_is_refused():
    with pytest.raises(UnsafeAddress, match="does not resolve"):
        await check_addresses("https://no-such-host.invalid/hook", production=True)


def test_a_signed_delivery_verifies_with_the_librarys_own_verify():
    secret = new_secret()
    body = b'{"type":"appointment.booked"}'
    headers = signed_headers([secret], "evt_1", datetime.now(UTC), body)

    assert secret.startswith("whsec_") and new_secret() != secret
    assert Webhook(secret).verify(body, headers) == {"type": "appointment.booked"}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)
