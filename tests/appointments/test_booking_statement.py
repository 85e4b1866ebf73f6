"""The booking in one statement (app/appointments/booking_statement.py) against the
step-by-step booking (`booking.book_slot`): the same rows, and the step-by-step way
whenever the statement cannot be sure."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text, update

from app.appointments import booking, messages, repository
from app.appointments.models import Appointment
from app.credits import ledger
from app.credits.models import CreditLotDraw, TransactionType
from app.notifications.models import OutboxMessage
from app.organizations import repository as organizations
from app.people.languages import language_of
from app.people.models import Professional, User
from tests.appointments.support import add_slots, in_days
from tests.credits.support import (
    balance_of,
    counters,
    entries_of,
    lots_of,
    principal_of,
    violations,
)

NOW = datetime.now(UTC).replace(microsecond=0)


async def set_cost(db, org, credits: int) -> None:
    async with db.transaction(org.id) as session:
        await session.execute(update(Professional).values(credit_cost=credits))


async def grant(db, org, member, credits: int, *, expires_in_days: float | None,
                now: datetime = NOW) -> None:
    async with db.transaction(org.id) as session:
        await ledger.purchase(
            session, user_id=member.user.id, credits=credits, amount_paid_cents=credits * 100,
            currency="USD", now=now,
            expires_at=None if expires_in_days is None else NOW + timedelta(days=expires_in_days))


async def book_in_one_statement(db, org, member, slot, **options):
    async with db.transaction(org.id) as session:
        return await booking.book_time_slot(session, principal_of(member), slot_id=slot.id,
                                            now=NOW, **options)


async def book_step_by_step(db, org, member, slot, **options):
    async with db.transaction(org.id) as session:
        slot_row, professional, *_ = await repository.load_booking_parties(
            session, slot.id, member.user.id)
        return await booking.book_slot(
            session, principal_of(member), await organizations.get_current(session),
            professional, slot_row, client_id=member.user.id, now=NOW,
            student_id=options.get("student_id"), notes=options.get("notes"))


async def what_was_written(db, org, member, change) -> dict:
    """Everything a booking wrote, with ids and instants made relative, so two bookings
    of two clients (of twin lots) and two slots compare equal."""
    appointment_id = change.appointment.id
    lots = await lots_of(db, org.id, member.user.id)
    lot_index = {lot.id: index for index, lot in enumerate(lots)}
    async with db.transaction(org.id, read_only=True) as session:
        appointment = await session.get(Appointment, (org.id, appointment_id))
        draws = list(await session.scalars(
            select(CreditLotDraw).where(CreditLotDraw.transaction_id == change.transaction.id)))
        [message] = list(await session.scalars(
            select(OutboxMessage).where(OutboxMessage.appointment_id == appointment_id)))
        provider = await session.get(Professional, (org.id, appointment.professional_id))
        expected_subject, expected_body = messages.booked_message(
            await language_of(session, member.user.id),
            await organizations.get_current(session), await session.get(
                type(org.professional.user), (org.id, provider.user_id)),
            appointment.starts_at)[1:3]
        slot_status = (await session.execute(
            text("SELECT status FROM time_slots WHERE id = :id"),
            {"id": appointment.time_slot_id})).scalar_one()
    [entry] = [entry for entry in await entries_of(db, org.id, member.user.id)
               if entry.id == change.transaction.id]
    return {
        "appointment": {
            "state": appointment.state, "credit_cost": appointment.credit_cost,
            "refund_hours_before": appointment.starts_at - appointment.refundable_until,
            "notes": appointment.notes, "booked_at": appointment.booked_at,
            "student_id": appointment.student_id, "series_id": appointment.series_id,
            "ends_after": appointment.ends_at - appointment.starts_at,
        },
        "slot": slot_status,
        "entry": {
            "type": entry.type, "status": entry.status, "amount": entry.amount,
            "balance_after": entry.balance_after, "description": entry.description,
            "created_by_is_client": entry.created_by_id == member.user.id,
            "appointment": entry.appointment_id == appointment_id,
            "processed_at": entry.processed_at, "metadata": entry.metadata_,
        },
        "draws": sorted((lot_index[draw.lot_id], draw.amount) for draw in draws),
        "lots": [(lot.remaining, lot.expired_at) for lot in lots],
        "balance": counters(await balance_of(db, org.id, member.user.id)),
        "message": {
            "kind": message.kind, "recipient": message.recipient_user_id == member.user.id,
            "dedupe_key": message.dedupe_key == f"booked:{appointment_id}",
            "text": (message.subject, message.body) == (expected_subject, expected_body),
            "locale": message.locale,
            "status": message.status,
        },
        "payload": {
            "appointment_state": change.appointment.state,
            "entry_amount": change.transaction.amount,
            "entry_balance_after": change.transaction.balance_after,
            "balance": change.balance.balance,
        },
    }


async def test_one_statement_writes_what_the_step_by_step_booking_writes(db, org):
    """Twin clients with twin lots (two dated, one not), a booking of two credits each:
    the same appointment, slot, entry, draws (earliest expiry first), lots, counters and
    message (in the clients' own language), one booked each way."""
    await set_cost(db, org, 2)
    async with db.transaction(org.id) as session:
        await session.execute(update(User).where(
            User.id.in_([org.client.user.id, org.other_client.user.id])).values(locale="es-AR"))
    for member in (org.client, org.other_client):
        await grant(db, org, member, 1, expires_in_days=20)
        await grant(db, org, member, 1, expires_in_days=10)
        await grant(db, org, member, 3, expires_in_days=None)
    first, second = await add_slots(db, org, [in_days(2), in_days(3)])

    one = await book_in_one_statement(db, org, org.client, first, notes="Bring the forms")
    steps = await book_step_by_step(db, org, org.other_client, second, notes="Bring the forms")

    written = await what_was_written(db, org, org.client, one)
    assert written == await what_was_written(db, org, org.other_client, steps)
    assert written["draws"] == [(0, 1), (1, 1)]
    assert written["lots"] == [(0, None), (0, None), (3, None)]
    assert written["message"] == {"kind": "BOOKING", "recipient": True, "dedupe_key": True,
                                  "text": True, "locale": "es-AR", "status": "PENDING"}
    assert await violations(db, org.id) == []


async def test_credits_past_their_date_are_expired_before_the_booking_draws(db, org):
    """A lot past its date that no job has expired yet: the statement leaves it to the
    ledger, which expires it and books from the lot still good."""
    await grant(db, org, org.client, 2, expires_in_days=-1, now=NOW - timedelta(days=5))
    await grant(db, org, org.client, 1, expires_in_days=None)
    [slot] = await add_slots(db, org, [in_days(2)])

    change = await book_in_one_statement(db, org, org.client, slot)

    assert change.balance.balance == 0
    types = [entry.type for entry in await entries_of(db, org.id, org.client.user.id)]
    assert types[-2:] == [TransactionType.APPOINTMENT_DEBIT, TransactionType.EXPIRATION]
    assert [lot.remaining for lot in await lots_of(db, org.id, org.client.user.id)] == [0, 0]
    assert await violations(db, org.id) == []


async def test_only_credits_past_their_date_are_not_enough(db, org):
    await grant(db, org, org.client, 2, expires_in_days=-1, now=NOW - timedelta(days=5))
    [slot] = await add_slots(db, org, [in_days(2)])

    try:
        await book_in_one_statement(db, org, org.client, slot)
    except ledger.InsufficientCredits as refusal:
        assert "unexpired" in refusal.message
    else:
        raise AssertionError("booked with expired credits")
    assert counters(await balance_of(db, org.id, org.client.user.id))["balance"] == 2


async def waiting_for_a_lock(db) -> None:
    """Returns once some session of this database waits for a row lock."""
    async with db.engine.connect() as connection:
        for _ in range(500):
            waiting = (await connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"))).scalar_one()
            if waiting:
                return
            await asyncio.sleep(0.01)
    raise AssertionError("the booking never waited for the balance")


async def test_a_ledger_change_after_the_statements_snapshot_sends_it_step_by_step(db, org):
    """A purchase commits while the booking's statement waits for the client's balance:
    the statement's snapshot does not have the new lot, so it must not draw itself. The
    booking then draws from the new lot, which expires first, as the ledger's order says."""
    await grant(db, org, org.client, 2, expires_in_days=None)
    [slot] = await add_slots(db, org, [in_days(2)])

    async with db.transaction(org.id) as purchase:
        await ledger.purchase(purchase, user_id=org.client.user.id, credits=1,
                              amount_paid_cents=100, currency="USD", now=NOW,
                              expires_at=NOW + timedelta(days=5))
        booked = asyncio.create_task(book_in_one_statement(db, org, org.client, slot))
        await waiting_for_a_lock(db)
    change = await booked

    assert change.balance.balance == 2
    never, dated = await lots_of(db, org.id, org.client.user.id)
    assert (never.remaining, dated.remaining) == (2, 0)
    assert await violations(db, org.id) == []


async def test_a_slot_taken_between_the_check_and_the_write_leaves_nothing_written(db, org):
    """Two bookings of one slot at once by twin clients: one appointment, one debit; the
    other gets SLOT_UNAVAILABLE with its balance as it was."""
    for member in (org.client, org.other_client):
        await grant(db, org, member, 1, expires_in_days=None)
    [slot] = await add_slots(db, org, [in_days(2)])

    outcomes = await asyncio.gather(
        *[book_in_one_statement(db, org, member, slot)
          for member in (org.client, org.other_client)], return_exceptions=True)

    codes = sorted("ok" if not isinstance(outcome, Exception) else outcome.code.value
                   for outcome in outcomes)
    assert codes == ["SLOT_UNAVAILABLE", "ok"]
    balances = sorted([counters(await balance_of(db, org.id, member.user.id))["balance"]
                       for member in (org.client, org.other_client)])
    assert balances == [0, 1]
    assert await violations(db, org.id) == []
