"""Delivering the outbox: claim due messages, send them, record the outcome.

Claiming is one short transaction per organization: the due PENDING rows are
locked with FOR UPDATE SKIP LOCKED (so concurrent workers take different
messages), their attempt is counted and they are leased until
`now + LEASE`. Sending happens outside any transaction; each outcome is then
recorded in its own short transaction. A worker that dies between sending
and recording leaves the lease to expire, and the message is sent again: at
least once, never lost.

A failure schedules the next attempt with exponential backoff and keeps the
error; after `max_attempts` the message is FAILED for good. A failing message
only ever delays itself: each message is sent and recorded on its own.
"""

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.notifications.models import NotificationStatus
from app.notifications.senders import OutgoingMessage, Sender
from app.organizations import repository as organizations
from app.tenancy import current_organization_id

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
FIRST_RETRY_DELAY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(hours=1)
DEFAULT_MAX_ATTEMPTS = 5
BATCH_SIZE = 50
# One run sends at most this many batches per organization; the next run goes on.
MAX_BATCHES = 20
MAX_ERROR_LENGTH = 2000


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def add(self, other: "DeliveryReport") -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    id: int
    attempts: int
    to: str
    subject: str
    body: str


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, ... minutes after the n-th failed attempt, an hour at most."""
    return min(FIRST_RETRY_DELAY * 2 ** (attempts - 1), MAX_RETRY_DELAY)


async def deliver_due(
    db: Database,
    sender: Sender,
    *,
    now: datetime,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    batch_size: int = BATCH_SIZE,
    organization_ids: Collection[int] | None = None,
) -> DeliveryReport:
    """Sends the messages due at `now` of every organization (or of those asked for)."""
    async with db.transaction(None, read_only=True) as session:
        existing = await organizations.get_all_ids(session)
    report = DeliveryReport()
    for organization_id in existing:
        if organization_ids is not None and organization_id not in organization_ids:
            continue
        report.add(await deliver_due_of_organization(
            db, organization_id, sender, now=now, max_attempts=max_attempts,
            batch_size=batch_size,
        ))
    return report


async def deliver_due_of_organization(
    db: Database,
    organization_id: int,
    sender: Sender,
    *,
    now: datetime,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    batch_size: int = BATCH_SIZE,
) -> DeliveryReport:
    """Sends one organization's due messages, batch by batch, each under its tenant context."""
    report = DeliveryReport()
    for _ in range(MAX_BATCHES):
        async with db.transaction(organization_id) as session:
            claimed = await claim_due(session, now=now, limit=batch_size)
        for message in claimed:
            status = await _send_one(db, organization_id, sender, message, now=now,
                                     max_attempts=max_attempts)
            if status is NotificationStatus.SENT:
                report.sent += 1
            elif status is NotificationStatus.FAILED:
                report.failed += 1
            else:
                report.retrying += 1
        if len(claimed) < batch_size:
            break
    return report


_CLAIM = text(
    """
    WITH due AS (
        SELECT id FROM notification_outbox
        WHERE organization_id = :organization_id
          AND status = 'PENDING'
          AND next_attempt_at <= :now
        ORDER BY next_attempt_at, id
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE notification_outbox AS message
    SET attempts = message.attempts + 1, next_attempt_at = :lease_until, updated_at = now()
    FROM due, users
    WHERE message.organization_id = :organization_id
      AND message.id = due.id
      AND users.organization_id = message.organization_id
      AND users.id = message.recipient_user_id
    RETURNING message.id, message.attempts, users.email, message.subject, message.body
    """
)


async def claim_due(session: AsyncSession, *, now: datetime, limit: int) -> list[ClaimedMessage]:
    """Locks, counts an attempt for, and leases the organization's due messages."""
    rows = await session.execute(_CLAIM, {
        "organization_id": current_organization_id(session),
        "now": now,
        "limit": limit,
        "lease_until": now + LEASE,
    })
    return [ClaimedMessage(*row) for row in rows]


async def _send_one(
    db: Database,
    organization_id: int,
    sender: Sender,
    message: ClaimedMessage,
    *,
    now: datetime,
    max_attempts: int,
) -> NotificationStatus:
    try:
        await sender.send(OutgoingMessage(
            to=message.to, subject=message.subject, body=message.body,
            reference=f"notification-{organization_id}-{message.id}",
        ))
    except Exception as error:  # noqa: BLE001 - any failure of the sender is recorded, retried
        status = (NotificationStatus.FAILED if message.attempts >= max_attempts
                  else NotificationStatus.PENDING)
        logger.warning("notification %s of organization %s: attempt %s failed (%s)",
                       message.id, organization_id, message.attempts, error)
        values = {
            "status": status.value,
            "next_attempt_at": now + retry_delay(message.attempts),
            "last_error": f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH],
            "sent_at": None,
        }
    else:
        status = NotificationStatus.SENT
        values = {"status": status.value, "next_attempt_at": now, "last_error": None,
                  "sent_at": now}
    async with db.transaction(organization_id) as session:
        await session.execute(_RECORD, {**values, "organization_id": organization_id,
                                        "id": message.id})
    return status


_RECORD = text(
    """
    UPDATE notification_outbox
    SET status = :status, next_attempt_at = :next_attempt_at,
        last_error = coalesce(:last_error, last_error),
        sent_at = :sent_at, updated_at = now()
    WHERE organization_id = :organization_id AND id = :id
    """
)
