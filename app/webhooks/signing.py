"""Signing deliveries per the Standard Webhooks specification, with its own library: the
headers webhook-id (the event's id, the same on every attempt), webhook-timestamp and
webhook-signature (HMAC-SHA256 of "id.timestamp.body" with the endpoint's secret)."""

import base64
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh endpoint secret in the specification's format: `whsec_` and 24 to 64 random
    bytes in base64 (we use 32)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_headers(secret: str, event_id: str, at: datetime, body: bytes) -> dict[str, str]:
    return {"webhook-id": event_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(event_id, at, body),
            "content-type": "application/json"}
