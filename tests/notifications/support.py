"""Helpers of the notification tests: messages in the outbox, and senders that record or fail."""

from app.db import Database
from app.notifications import outbox
from app.notifications.models import NotificationKind
from app.notifications.senders import OutgoingMessage
from tests.support import Member, Tenant


async def enqueue(db: Database, org: Tenant, to: Member, subject: str, **extra) -> int | None:
    async with db.transaction(org.id) as session:
        return await outbox.enqueue(session, kind=extra.pop("kind", NotificationKind.BOOKING),
                                    recipient_user_id=to.user.id, subject=subject,
                                    body=f"{subject}: the details.", **extra)


class RecordingSender:
    """Accepts every message, except those to addresses it was told to refuse."""

    def __init__(self, *, refuse: set[str] = frozenset()) -> None:
        self.refuse = refuse
        self.sent: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> None:
        if message.to in self.refuse:
            raise ConnectionError(f"mailbox {message.to} unavailable")
        self.sent.append(message)
