"""Helpers of the account tests: sending the queued emails, and reading their links."""

import re
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import text

from app.clock import utc_now
from app.db import Database
from app.notifications import delivery
from app.people.emails import mint_token_for_message
from tests.notifications.support import RecordingSender
from tests.support import Tenant

STRONG_PASSWORD = "a much longer passphrase 42"
OTHER_STRONG_PASSWORD = "another quite long passphrase 7"
_LINK = re.compile(r"https?://\S+/(accept-invitation|reset-password)\?token=[A-Za-z0-9_-]+")

LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
    token user { email role } userErrors { code field message } } }"""
ME = "{ me { email role invitationPending } }"


async def send_queued(db: Database, org: Tenant) -> RecordingSender:
    """Sends the organization's queued messages as the sweep would; returns what went out."""
    sender = RecordingSender()
    await delivery.deliver_due(db, sender, now=utc_now(), organization_ids=[org.id],
                               mint_token=mint_token_for_message)
    return sender


def link_in(body: str) -> str:
    [link] = [match.group(0) for match in _LINK.finditer(body)]
    return link


def token_in(body: str) -> str:
    return parse_qs(urlsplit(link_in(body)).query)["token"][0]


async def emailed_token(db: Database, org: Tenant, to: str) -> str:
    """Sends what is queued and returns the token of the one email to `to`."""
    sender = await send_queued(db, org)
    [message] = [message for message in sender.sent if message.to == to]
    assert token_in(message.html) == token_in(message.body)
    return token_in(message.body)


async def expire_tokens(db: Database, org: Tenant) -> None:
    """Moves every account token of the organization an hour into the past (as the owner:
    the application role cannot touch the table)."""
    async with db.engine.begin() as connection:
        await connection.execute(text(
            "UPDATE account_tokens SET expires_at = now() - interval '1 hour' "
            "WHERE organization_id = :organization"), {"organization": org.id})


async def login(api, org: Tenant, email: str, password: str) -> dict:
    return (await api.data(LOGIN, {"input": {"organization": org.slug, "email": email,
                                             "password": password}}))["login"]
