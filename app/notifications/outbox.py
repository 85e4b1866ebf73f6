"""Writing messages to the outbox, in the caller's transaction.

A message is written together with the change it tells about, so a rolled
back change never sends one and a committed change never loses one; the
delivery job sends it afterwards (see `app.notifications.delivery`).
"""

from datetime import datetime

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.notifications.models import NotificationKind, OutboxMessage
from app.tenancy import current_organization_id


async def enqueue(
    session: AsyncSession,
    *,
    kind: NotificationKind | str,
    recipient_user_id: int,
    subject: str,
    body: str,
    appointment_id: int | None = None,
    dedupe_key: str | None = None,
) -> int | None:
    """Adds a message for a user of the session's organization; returns its id.

    With a `dedupe_key` the message is added once per organization: a second
    call with the same key adds nothing and returns None. Reminders are not
    enqueued here but by `app.notifications.reminders.queue_reminders`.
    """
    kind = NotificationKind(kind)
    if kind is NotificationKind.REMINDER:
        raise ValueError("reminders are queued by app.notifications.reminders, once per lead time")
    return await insert_message(
        session, kind=kind, recipient_user_id=recipient_user_id, subject=subject, body=body,
        appointment_id=appointment_id, dedupe_key=dedupe_key,
    )


async def insert_message(
    session: AsyncSession,
    *,
    kind: NotificationKind,
    recipient_user_id: int,
    subject: str,
    body: str,
    appointment_id: int | None = None,
    dedupe_key: str | None = None,
    lead_hours: int | None = None,
    due_at: datetime | None = None,
) -> int | None:
    """One INSERT; a duplicate (same dedupe key, or same reminder) is skipped and gives None."""
    statement = (
        insert(OutboxMessage)
        .values(
            organization_id=current_organization_id(session),
            kind=kind,
            recipient_user_id=recipient_user_id,
            appointment_id=appointment_id,
            lead_hours=lead_hours,
            dedupe_key=dedupe_key,
            subject=subject,
            body=body,
            next_attempt_at=due_at if due_at is not None else func.now(),
        )
        .on_conflict_do_nothing()
        .returning(OutboxMessage.id)
    )
    return await session.scalar(statement)
