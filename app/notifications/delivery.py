"""Delivering the outbox: claim due messages, send them, record the outcome.

Claiming is one short transaction per organization: the due PENDING rows are
locked with FOR UPDATE SKIP LOCKED (so concurrent workers take different
messages), their attempt is counted and they are leased until
`now + LEASE`. Sending happens outside any transaction; each outcome is then
recorded in its own short transaction. A worker that dies between sending
and recording leaves the lease to expire, and the message is sent again: at
least once, never lost. A batch that would outlast its lease (a slow mail server)
stops at half of it and hands the rest back, so no message is sent after another
worker could have claimed it.

A failure schedules the next attempt with exponential backoff and keeps the
error; after `max_attempts` the message is FAILED for good. A failing message
only ever delays itself: each message is sent and recorded on its own.

Two roads lead here, and the claim makes them safe together: the periodic sweep
(`deliver_due`) and the job an awaited message defers for itself (`deliver_one`). A
message claimed by one is leased, so the other finds nothing to send.

A message that carries a link with a token (an invitation, a password reset) has a
placeholder in its body; `mint_token` makes the token in the claim's transaction, so
the token is born when it is sent and is never stored but as a hash.
"""

import logging
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.notifications.models import NotificationKind, NotificationStatus
from app.notifications.outbox import TOKEN_KINDS, TOKEN_PLACEHOLDER
from app.notifications.senders import OutgoingMessage, Sender
from app.organizations import repository as organizations
from app.tenancy import current_organization_id

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
FIRST_RETRY_DELAY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(hours=1)
DEFAULT_MAX_ATTEMPTS = 5
BATCH_SIZE = 50
# How long one run of the sweep goes on sending; it runs every minute.
RUN_BUDGET = timedelta(seconds=45)
MAX_ERROR_LENGTH = 2000


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    claimed: int = 0

    def add(self, other: "DeliveryReport") -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.claimed += other.claimed


# Makes the token a message of this kind links to, for its recipient, in the claim's
# transaction (app.people.accounts supplies it: this package sits below people).
TokenMinter = Callable[[AsyncSession, NotificationKind, int], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    id: int
    attempts: int
    to: str
    subject: str
    body: str
    html_body: str | None
    locale: str | None
    kind: NotificationKind
    recipient_user_id: int

    def with_token(self, token: str) -> "ClaimedMessage":
        html = None if self.html_body is None else self.html_body.replace(TOKEN_PLACEHOLDER, token)
        return replace(self, body=self.body.replace(TOKEN_PLACEHOLDER, token), html_body=html)


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
    mint_token: TokenMinter | None = None,
    budget: timedelta = RUN_BUDGET,
) -> DeliveryReport:
    """Sends the messages due at `now` of every organization (or of those asked for).

    A batch per organization in turn, round after round, while any has more and `budget`
    lasts: a busy organization gets no more than its turn, and a backlog drains as fast as
    the sender takes it (a fixed number of batches per run fell behind under load). What is
    left waits for the next run.
    """
    async with db.transaction(None, read_only=True) as session:
        existing = await organizations.get_all_ids(session)
    waiting = [organization_id for organization_id in existing
               if organization_ids is None or organization_id in organization_ids]
    report = DeliveryReport()
    stop_at = time.monotonic() + budget.total_seconds()
    while waiting and time.monotonic() < stop_at:
        more = []
        for organization_id in waiting:
            batch = await deliver_batch_of_organization(
                db, organization_id, sender, now=now, max_attempts=max_attempts,
                batch_size=batch_size, mint_token=mint_token)
            report.add(batch)
            if batch.claimed == batch_size:
                more.append(organization_id)
        waiting = more
    return report


async def deliver_batch_of_organization(
    db: Database,
    organization_id: int,
    sender: Sender,
    *,
    now: datetime,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    batch_size: int = BATCH_SIZE,
    mint_token: TokenMinter | None = None,
) -> DeliveryReport:
    """Sends one batch of an organization's due messages, under its tenant context."""
    report = DeliveryReport()
    async with db.transaction(organization_id) as session:
        claimed = await claim_due(session, now=now, limit=batch_size, mint_token=mint_token)
    report.claimed = len(claimed)
    await _send_all(db, organization_id, sender, claimed, report, now=now,
                    max_attempts=max_attempts)
    return report


async def deliver_one(
    db: Database,
    organization_id: int,
    message_id: int,
    sender: Sender,
    *,
    now: datetime,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    mint_token: TokenMinter | None = None,
) -> DeliveryReport:
    """Sends one message now if it is still waiting: the job an awaited message deferred.

    Nothing happens if the sweep (or an earlier run of this job) has claimed or sent it.
    """
    report = DeliveryReport()
    async with db.transaction(organization_id) as session:
        claimed = await claim_due(session, now=now, limit=1, mint_token=mint_token,
                                  message_id=message_id)
    await _send_all(db, organization_id, sender, claimed, report, now=now,
                    max_attempts=max_attempts)
    return report


async def _send_all(
    db: Database,
    organization_id: int,
    sender: Sender,
    claimed: list[ClaimedMessage],
    report: DeliveryReport,
    *,
    now: datetime,
    max_attempts: int,
) -> None:
    # Past the lease another worker may claim what is left and send it too: stop at half of
    # it (a slow mail server, a long timeout) and hand the rest back, uncounted.
    send_until = time.monotonic() + LEASE.total_seconds() / 2
    for index, message in enumerate(claimed):
        if index > 0 and time.monotonic() > send_until:
            async with db.transaction(organization_id) as session:
                await session.execute(_RELEASE, {
                    "organization_id": organization_id, "now": now,
                    "ids": [left.id for left in claimed[index:]]})
            break
        status = await _send_one(db, organization_id, sender, message, now=now,
                                 max_attempts=max_attempts)
        if status is NotificationStatus.SENT:
            report.sent += 1
        elif status is NotificationStatus.FAILED:
            report.failed += 1
        else:
            report.retrying += 1


_RELEASE = text(
    """
    UPDATE notification_outbox
    SET attempts = attempts - 1, next_attempt_at = :now, updated_at = now()
    WHERE organization_id = :organization_id AND id = ANY(:ids) AND status = 'PENDING'
    """
)

_CLAIM = text(
    """
    WITH due AS (
        SELECT id FROM notification_outbox
        WHERE organization_id = :organization_id
          AND status = 'PENDING'
          AND (CAST(:message_id AS bigint) IS NULL OR id = :message_id)
          -- The sweep: due by the caller's clock. One message's own job: due by the
          -- database's clock too, which stamped it when it was written, so a worker whose
          -- clock lags the database's still sends it at once. A message leased by the
          -- other road is due minutes from now by either clock.
          AND next_attempt_at <= CASE WHEN CAST(:message_id AS bigint) IS NULL THEN :now
                                      ELSE greatest(:now, statement_timestamp()) END
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
    RETURNING message.id, message.attempts, users.email, message.subject, message.body,
              message.html_body, message.locale, message.kind, message.recipient_user_id
    """
)


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    mint_token: TokenMinter | None = None,
    message_id: int | None = None,
) -> list[ClaimedMessage]:
    """Locks, counts an attempt for, and leases the organization's due messages (or the one
    asked for), with the tokens their links need minted."""
    rows = await session.execute(_CLAIM, {
        "organization_id": current_organization_id(session),
        "now": now,
        "limit": limit,
        "lease_until": now + LEASE,
        "message_id": message_id,
    })
    claimed = []
    for row in rows.all():
        message = ClaimedMessage(*row[:7], kind=NotificationKind(row.kind),
                                 recipient_user_id=row.recipient_user_id)
        if message.kind in TOKEN_KINDS:
            if mint_token is None:
                raise RuntimeError(f"a {message.kind} message needs a token minter to be sent")
            message = message.with_token(
                await mint_token(session, message.kind, message.recipient_user_id))
        claimed.append(message)
    return claimed


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
            to=message.to, subject=message.subject, body=message.body, html=message.html_body,
            reference=f"notification-{organization_id}-{message.id}", language=message.locale,
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
