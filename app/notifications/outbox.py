"""Writing messages to the outbox, in the caller's transaction.

A message is written together with the change it tells about, so a rolled
back change never sends one and a committed change never loses one; the
delivery job sends it afterwards (see `app.notifications.delivery`).
"""

from datetime import datetime

from sqlalchemy import BindParameter, bindparam, func, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from app.notifications.models import NotificationKind, OutboxMessage
from app.tenancy import current_organization_id

# Stands in a message body for a token minted only when the message is sent (see
# `app.notifications.delivery`), so no usable link ever rests in the outbox.
TOKEN_PLACEHOLDER = "@TOKEN@"
# The kinds whose body holds TOKEN_PLACEHOLDER.
TOKEN_KINDS = frozenset({NotificationKind.INVITATION, NotificationKind.PASSWORD_RESET})

_DEFER_DELIVERY = text("SELECT bookings_defer_notification(:message_id)")


async def enqueue(
    session: AsyncSession,
    *,
    kind: NotificationKind | str,
    recipient_user_id: int,
    subject: str,
    body: str,
    locale: str,
    appointment_id: int | None = None,
    dedupe_key: str | None = None,
    html_body: str | None = None,
    awaited: bool = False,
) -> int | None:
    """Adds a message for a user of the session's organization; returns its id.

    `locale` is the tag the message was written in (`app.i18n.languages.Language.tag`): it
    stays with the message, whatever the recipient chooses before it is sent.

    With a `dedupe_key` the message is added once per organization: a second
    call with the same key adds nothing and returns None. Reminders are not
    enqueued here but by `app.notifications.reminders.queue_reminders`.

    An `awaited` message (someone is waiting for it: an invitation, a password reset)
    also gets its own delivery job, committed with it, so a worker sends it within
    seconds; the periodic sweep stays the safety net, and the claim in
    `app.notifications.delivery` keeps the two from sending it twice.
    """
    kind = NotificationKind(kind)
    if kind is NotificationKind.REMINDER:
        raise ValueError("reminders are queued by app.notifications.reminders, once per lead time")
    message_id = await insert_message(
        session, kind=kind, recipient_user_id=recipient_user_id, subject=subject, body=body,
        locale=locale, html_body=html_body, appointment_id=appointment_id, dedupe_key=dedupe_key,
    )
    if awaited and message_id is not None:
        await session.execute(_DEFER_DELIVERY, {"message_id": message_id})
    return message_id


def _column_parameter(name: str, column: QueryableAttribute) -> BindParameter:
    # Named apart from the column, as INSERT requires; typed like it, for its conversions.
    return bindparam(name, type_=column.type)


# Built once: building it on each call cost more CPU than running it.
_INSERT_MESSAGE = (
    insert(OutboxMessage)
    .values(
        organization_id=_column_parameter("tenant", OutboxMessage.organization_id),
        kind=_column_parameter("message_kind", OutboxMessage.kind),
        recipient_user_id=_column_parameter("recipient", OutboxMessage.recipient_user_id),
        appointment_id=_column_parameter("appointment", OutboxMessage.appointment_id),
        lead_hours=_column_parameter("lead", OutboxMessage.lead_hours),
        dedupe_key=_column_parameter("dedupe", OutboxMessage.dedupe_key),
        subject=_column_parameter("message_subject", OutboxMessage.subject),
        body=_column_parameter("message_body", OutboxMessage.body),
        html_body=_column_parameter("message_html_body", OutboxMessage.html_body),
        locale=_column_parameter("message_locale", OutboxMessage.locale),
        next_attempt_at=func.coalesce(
            _column_parameter("due_at", OutboxMessage.next_attempt_at), func.now()),
    )
    .on_conflict_do_nothing()
    .returning(OutboxMessage.id)
)


async def insert_message(
    session: AsyncSession,
    *,
    kind: NotificationKind,
    recipient_user_id: int,
    subject: str,
    body: str,
    locale: str,
    html_body: str | None = None,
    appointment_id: int | None = None,
    dedupe_key: str | None = None,
    lead_hours: int | None = None,
    due_at: datetime | None = None,
) -> int | None:
    """One INSERT; a duplicate (same dedupe key, or same reminder) is skipped and gives None."""
    return await session.scalar(_INSERT_MESSAGE, {
        "tenant": current_organization_id(session), "message_kind": kind,
        "recipient": recipient_user_id, "appointment": appointment_id, "lead": lead_hours,
        "dedupe": dedupe_key, "message_subject": subject, "message_body": body,
        "message_html_body": html_body, "message_locale": locale,
        "due_at": due_at,
    })
