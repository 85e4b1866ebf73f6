"""Signing deliveries per the Standard Webhooks specification, with its own library: the
headers webhook-id (the event's id, the same on every attempt), webhook-timestamp and
webhook-signature (HMAC-SHA256 of "id.timestamp.body" with the endpoint's secret, and with
the one it replaced while a rotation rolls over)."""

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh endpoint secret in the specification's format: `whsec_` and 24 to 64 random
    bytes in base64 (we use 32)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_headers(signing_secrets: Sequence[str], event_id: str, at: datetime,
                   body: bytes) -> dict[str, str]:
    """The headers of a delivery signed with each secret: the specification's
    space-separated signatures, of which a receiver needs one to match (the new secret's
    and the old one's, during a rotation's rollover)."""
    return {"webhook-id": event_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": " ".join(Webhook(secret).sign(event_id, at, body)
                                          for secret in signing_secrets),
            "content-type": "application/json"}
