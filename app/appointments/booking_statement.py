"""A booking in two statements: what it checks, read with the tenant setup, and what it
writes, in one data-modifying statement.

`parties_prefetch` reads the slot, its professional and their user, the client, the
student and the organization: what `app.appointments.booking` checks and what the
booking's message says. The API hands it to the transaction, whose tenant setup reads it
in the same round trip (`app.db.Prefetch`).

`write_booking` then makes the booking in one statement: the balance, the slot, the
appointment, the APPOINTMENT_DEBIT entry, the lots it draws from and its draws, the
client's message in the outbox, and the slot's change event. The rules it applies are
the ones of the step-by-step road, which it must write the same rows as
(tests/appointments/test_booking_statement.py runs both):
- the slot guard of `app.appointments.slots.take_slot`: AVAILABLE -> BOOKED, or nothing;
- the balance guard of `app.credits.repository.change_balance`: never below zero;
- the draw order of `app.credits.ledger._take`: earliest expiry first, never-expiring
  lots last, then the oldest lot;
- the outbox row of `app.notifications.outbox.enqueue`, deduplicated by its key;
- the event of `app.scheduling.events.announce`.

It takes the common case only. Whatever it cannot do alone, it leaves undone and says so
(`Outcome`), and the caller goes the step-by-step way:
- credits past their date that no job has expired yet: expiring them is the ledger's;
- the client's ledger changed between this statement's snapshot and its lock on the
  balance (see `_WRITE`): then it puts the slot it took back as it was, one statement more.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.events import BOOKED
from app.appointments.models import Appointment
from app.auth import Role
from app.credits.models import CreditBalance, CreditTransaction
from app.db import SETUP_TENANT, Prefetch, read_prefetched
from app.notifications.models import NotificationKind
from app.organizations.models import Organization
from app.people.models import Professional, Student, User
from app.scheduling.events import CHANNEL
from app.scheduling.models import TimeSlot, TimeSlotStatus
from app.webhooks.events import ALL_EVENTS

# Column names apart from the actor's (id, role, active, ...): see `Prefetch`.
_PARTIES = f"""
    SELECT slot.id AS slot_id, slot.professional_id AS slot_professional_id,
           slot.starts_at AS slot_starts_at, slot.ends_at AS slot_ends_at,
           slot.status AS slot_status,
           professional.user_id AS professional_user_id,
           professional.active AS professional_active,
           professional.credit_cost AS professional_credit_cost,
           provider.first_name AS provider_first_name, provider.last_name AS provider_last_name,
           client.id AS client_id, client.role AS client_role, client.active AS client_active,
           client.locale AS client_locale,
           student.id AS student_id, student.guardian_id AS student_guardian_id,
           student.active AS student_active,
           organization.id AS organization_id, organization.name AS organization_name,
           organization.time_zone AS organization_time_zone,
           organization.locale AS organization_locale,
           organization.booking_window_days AS organization_booking_window_days,
           organization.minimum_notice_minutes AS organization_minimum_notice_minutes,
           organization.cancellation_policy_hours AS organization_cancellation_policy_hours,
           EXISTS (SELECT FROM webhook_endpoints AS endpoint
                   WHERE endpoint.organization_id = slot.organization_id AND endpoint.active
                     AND endpoint.events && ARRAY['{BOOKED}', '{ALL_EVENTS}'])
             AS booked_webhooks_wanted
    FROM time_slots AS slot
    JOIN professionals AS professional
      ON professional.organization_id = slot.organization_id
     AND professional.id = slot.professional_id
    JOIN users AS provider
      ON provider.organization_id = slot.organization_id AND provider.id = professional.user_id
    JOIN organizations AS organization ON organization.id = slot.organization_id
    LEFT JOIN users AS client
      ON client.organization_id = slot.organization_id AND client.id = :parties_client
    LEFT JOIN students AS student
      ON student.organization_id = slot.organization_id AND student.id = :parties_student
    WHERE slot.organization_id = {SETUP_TENANT} AND slot.id = :parties_slot
"""


@dataclass(frozen=True, slots=True)
class BookingParties:
    """Who and what a booking involves, as unsaved model objects: the checks and the
    message read them as they read the stored ones."""

    slot: TimeSlot
    professional: Professional
    provider: User
    client: User | None
    student: Student | None
    organization: Organization
    # Whether an endpoint subscribes to appointment.booked: only then is the event written,
    # so an organization without webhooks books in one statement still.
    booked_webhooks_wanted: bool


def parties_prefetch(slot_id: int, client_id: int, student_id: int | None) -> Prefetch:
    return Prefetch(_PARTIES, (("parties_slot", slot_id), ("parties_client", client_id),
                               ("parties_student", student_id)))


async def read_parties(session: AsyncSession, slot_id: int, client_id: int,
                       student_id: int | None) -> BookingParties | None:
    """The booking's parties; None if there is no such slot."""
    row = await read_prefetched(session, parties_prefetch(slot_id, client_id, student_id))
    return None if row is None else _parties(row)


def _parties(row: Row) -> BookingParties:
    organization_id = row.organization_id
    return BookingParties(
        slot=TimeSlot(id=row.slot_id, organization_id=organization_id,
                      professional_id=row.slot_professional_id, starts_at=row.slot_starts_at,
                      ends_at=row.slot_ends_at, status=TimeSlotStatus(row.slot_status)),
        professional=Professional(id=row.slot_professional_id, organization_id=organization_id,
                                  user_id=row.professional_user_id,
                                  active=row.professional_active,
                                  credit_cost=row.professional_credit_cost),
        provider=User(id=row.professional_user_id, organization_id=organization_id,
                      first_name=row.provider_first_name, last_name=row.provider_last_name),
        client=None if row.client_id is None else User(
            id=row.client_id, organization_id=organization_id, role=Role(row.client_role),
            active=row.client_active, locale=row.client_locale),
        student=None if row.student_id is None else Student(
            id=row.student_id, organization_id=organization_id,
            guardian_id=row.student_guardian_id, active=row.student_active),
        organization=Organization(
            id=organization_id, name=row.organization_name,
            time_zone=row.organization_time_zone, locale=row.organization_locale,
            booking_window_days=row.organization_booking_window_days,
            minimum_notice_minutes=row.organization_minimum_notice_minutes,
            cancellation_policy_hours=row.organization_cancellation_policy_hours),
        booked_webhooks_wanted=row.booked_webhooks_wanted,
    )


class Outcome(Enum):
    BOOKED = "booked"
    SLOT_TAKEN = "slot taken"  # not AVAILABLE: nothing written
    CREDITS_SHORT = "credits short"  # the balance is below the cost: nothing written
    STEP_BY_STEP = "step by step"  # nothing written (or undone): book the step-by-step way


@dataclass(frozen=True, slots=True)
class Written:
    outcome: Outcome
    balance: CreditBalance | None = None


# The statement. Its data-modifying parts run in the order their inputs ask for, which is
# the step-by-step road's lock order (slot, then balance), so the two never deadlock: the
# slot, then the balance (only once the slot was taken), then the appointment and what needs
# its id.
#
# All of it reads one snapshot, taken when the statement starts. The balance update waits
# for any other writer of the client's balance and then sees the latest row; every change of
# a client's lots changes (and so locks) their balance in the same transaction. So if the
# balance row is the very version of the snapshot (same xmin), the snapshot's lots are the
# current ones and stay so while this transaction holds the lock. If it is not, the
# balance is not taken, and `write_booking` puts the slot back as it was and the caller goes
# step by step. The slot guard is re-checked the same way: a slot taken meanwhile makes the
# slot update change nothing, so nothing else is written.
_WRITE = text(f"""
WITH ledger AS (
    SELECT balance.balance, balance.xmin AS version,
           EXISTS (SELECT FROM credit_lots AS lot
                   WHERE lot.organization_id = :tenant AND lot.user_id = :client
                     AND lot.remaining > 0 AND lot.expires_at <= :now) AS has_lots_due
    FROM credit_balances AS balance
    WHERE balance.organization_id = :tenant AND balance.user_id = :client
), draws AS (
    SELECT lot_id, LEAST(remaining, :cost - drawn_before) AS amount
    FROM (
        SELECT lot.id AS lot_id, lot.remaining,
               COALESCE(SUM(lot.remaining) OVER (
                   ORDER BY lot.expires_at ASC NULLS LAST, lot.id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS drawn_before
        FROM credit_lots AS lot
        WHERE lot.organization_id = :tenant AND lot.user_id = :client AND lot.remaining > 0
    ) AS open_lots
    WHERE drawn_before < :cost
), ready AS (  -- what the snapshot says the ledger can do alone
    SELECT FROM ledger
    WHERE ledger.balance >= :cost AND NOT ledger.has_lots_due
      AND (SELECT COALESCE(SUM(amount), 0) FROM draws) = :cost
), slot_free AS (
    SELECT slot.updated_at FROM time_slots AS slot
    WHERE slot.organization_id = :tenant AND slot.id = :slot AND slot.status = 'AVAILABLE'
), slot_taken AS (
    UPDATE time_slots AS slot
    SET status = 'BOOKED', block_reason = NULL, updated_at = now()
    WHERE slot.organization_id = :tenant AND slot.id = :slot AND slot.status = 'AVAILABLE'
      AND EXISTS (SELECT FROM ready)
    RETURNING slot.organization_id, slot.id, slot.professional_id, slot.starts_at, slot.ends_at
), balance_taken AS (
    UPDATE credit_balances AS balance
    SET balance = balance.balance - :cost, lifetime_used = balance.lifetime_used + :cost,
        updated_at = now()
    FROM ledger
    WHERE balance.organization_id = :tenant AND balance.user_id = :client
      AND balance.balance >= :cost
      AND balance.xmin = ledger.version
      AND EXISTS (SELECT FROM slot_taken)
    RETURNING balance.*
), appointment AS (
    INSERT INTO appointments (organization_id, professional_id, client_id, student_id,
                              time_slot_id, starts_at, ends_at, state, credit_cost,
                              refundable_until, notes, booked_at, series_id)
    SELECT slot_taken.organization_id, slot_taken.professional_id, :client,
           CAST(:student AS bigint), slot_taken.id, slot_taken.starts_at, slot_taken.ends_at,
           CAST(:state AS text), :cost, CAST(:refundable_until AS timestamptz),
           CAST(:notes AS text), :now, NULL
    FROM slot_taken, balance_taken
    RETURNING id, created_at, updated_at
), debit AS (
    INSERT INTO credit_transactions (organization_id, user_id, type, status, amount,
                                     balance_after, appointment_id, created_by_id,
                                     description, metadata, processed_at)
    SELECT :tenant, :client, CAST(:debit_type AS text), CAST(:debit_status AS text), -:cost,
           balance_taken.balance, appointment.id, CAST(:created_by AS bigint),
           CAST(:description AS text), '{{}}'::jsonb, :now
    FROM appointment, balance_taken
    RETURNING id, created_at
), lots_drawn AS (
    UPDATE credit_lots AS lot
    SET remaining = lot.remaining - draws.amount, updated_at = now()
    FROM draws, debit
    WHERE lot.organization_id = :tenant AND lot.id = draws.lot_id
    RETURNING lot.id
), draws_recorded AS (
    INSERT INTO credit_lot_draws (organization_id, transaction_id, lot_id, amount)
    SELECT :tenant, debit.id, draws.lot_id, draws.amount
    FROM debit, draws
    RETURNING lot_id
), message AS (
    INSERT INTO notification_outbox (organization_id, kind, recipient_user_id, appointment_id,
                                     dedupe_key, subject, body, locale, next_attempt_at)
    SELECT :tenant, CAST(:message_kind AS text), :client, appointment.id,
           CAST(:dedupe_prefix AS text) || appointment.id, CAST(:subject AS text),
           CAST(:body AS text), CAST(:message_locale AS text), now()
    FROM appointment
    ON CONFLICT DO NOTHING
    RETURNING id
)
SELECT (SELECT updated_at FROM slot_free) AS slot_was_free_since,
       EXISTS (SELECT FROM ready) AS ledger_ready,
       EXISTS (SELECT FROM slot_taken) AS slot_taken,
       (SELECT balance FROM ledger) AS balance_seen,
       appointment.id AS appointment_id, appointment.created_at AS appointment_created_at,
       appointment.updated_at AS appointment_updated_at,
       debit.id AS debit_id, debit.created_at AS debit_created_at,
       balance_taken.*,
       (SELECT count(*) FROM lots_drawn) AS lots_drawn,
       (SELECT count(*) FROM draws_recorded) AS draws_recorded,
       (SELECT count(*) FROM message) AS messages,
       (SELECT pg_notify('{CHANNEL}', slot_taken.organization_id || ':'
                                       || slot_taken.professional_id || ':' || slot_taken.id)
        FROM slot_taken, appointment) AS announced
FROM (SELECT) AS one
LEFT JOIN balance_taken ON true
LEFT JOIN appointment ON true
LEFT JOIN debit ON true
""")
# The slot as it was before `_WRITE` took it, when the balance could not be taken after all.
# This transaction holds the slot's row lock: nobody else changed it meanwhile.
_PUT_SLOT_BACK = text("""
UPDATE time_slots SET status = 'AVAILABLE', block_reason = NULL, updated_at = :was_updated_at
WHERE organization_id = :tenant AND id = :slot AND status = 'BOOKED'
""")


async def write_booking(
    session: AsyncSession, appointment: Appointment, debit: CreditTransaction, *,
    now: datetime, message: tuple[NotificationKind, str, str, str, str],
) -> Written:
    """Writes `appointment` (unsaved, PRE_CONFIRMED) with its slot, the `debit` entry (unsaved)
    with its draws, and the `message` (kind, subject, body, language tag, and the dedupe key
    without the appointment's id, which it ends with). Sets their ids and timestamps when BOOKED."""
    kind, subject, body, locale, dedupe_prefix = message
    debit.organization_id = appointment.organization_id
    row = (await session.execute(_WRITE, {
        "tenant": appointment.organization_id, "slot": appointment.time_slot_id,
        "client": appointment.client_id, "student": appointment.student_id,
        "state": appointment.state.value,
        "cost": appointment.credit_cost, "refundable_until": appointment.refundable_until,
        "notes": appointment.notes, "now": now, "debit_type": debit.type.value,
        "debit_status": debit.status.value, "created_by": debit.created_by_id,
        "description": debit.description, "message_kind": kind.value, "subject": subject,
        "body": body, "message_locale": locale, "dedupe_prefix": dedupe_prefix,
    })).one()
    if row.appointment_id is not None:
        appointment.id, appointment.created_at = row.appointment_id, row.appointment_created_at
        appointment.updated_at = row.appointment_updated_at
        debit.id, debit.created_at = row.debit_id, row.debit_created_at
        debit.appointment_id, debit.balance_after = row.appointment_id, row.balance
        return Written(Outcome.BOOKED, CreditBalance(
            organization_id=row.organization_id, user_id=row.user_id, balance=row.balance,
            lifetime_purchased=row.lifetime_purchased, lifetime_used=row.lifetime_used,
            lifetime_refunded=row.lifetime_refunded, lifetime_expired=row.lifetime_expired,
            created_at=row.created_at, updated_at=row.updated_at))
    if row.slot_taken:  # but not the balance: it changed under the snapshot (see _WRITE)
        await session.execute(_PUT_SLOT_BACK, {
            "tenant": appointment.organization_id, "slot": appointment.time_slot_id,
            "was_updated_at": row.slot_was_free_since})
        return Written(Outcome.STEP_BY_STEP)
    if row.slot_was_free_since is None:
        return Written(Outcome.SLOT_TAKEN)
    if row.balance_seen is None or row.balance_seen < appointment.credit_cost:
        return Written(Outcome.CREDITS_SHORT)
    if row.ledger_ready:  # and yet the slot was not taken: someone took it meanwhile
        return Written(Outcome.SLOT_TAKEN)
    return Written(Outcome.STEP_BY_STEP)
