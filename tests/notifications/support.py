"""Helpers of the notification tests: messages in the outbox, senders that record or fail,
and a real SMTP server that keeps what it receives."""

from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from aiosmtpd.controller import Controller

from app.db import Database
from app.notifications import outbox
from app.notifications.models import NotificationKind
from app.notifications.senders import OutgoingMessage
from tests.live_server import free_port
from tests.support import Member, Tenant


async def enqueue(db: Database, org: Tenant, to: Member, subject: str, **extra) -> int | None:
    async with db.transaction(org.id) as session:
        return await outbox.enqueue(session, kind=extra.pop("kind", NotificationKind.BOOKING),
                                    recipient_user_id=to.user.id, subject=subject,
                                    body=f"{subject}: the details.",
                                    locale=extra.pop("locale", "en"), **extra)


class RecordingSender:
    """Accepts every message, except those to addresses it was told to refuse."""

    def __init__(self, *, refuse: set[str] = frozenset()) -> None:
        self.refuse = refuse
        self.sent: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> None:
        if message.to in self.refuse:
            raise ConnectionError(f"mailbox {message.to} unavailable")
        self.sent.append(message)


class SmtpInbox:
    """An aiosmtpd handler keeping each email as a mail client reads it."""

    def __init__(self) -> None:
        self.received: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's hook name
        self.received.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[Controller, SmtpInbox]]:
    """An SMTP server on a free local port, and its inbox."""
    inbox = SmtpInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()
