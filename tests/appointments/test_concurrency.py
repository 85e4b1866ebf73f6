"""Races over real, separate connections and committed transactions (docs/rules.md: appointments)."""

import asyncio
import time

from sqlalchemy import func, select

from app.appointments import booking, cancellation, rescheduling
from app.appointments.models import Appointment, AppointmentState
from app.auth import Role
from app.credits.models import CreditTransaction, TransactionType
from app.errors import UserError
from app.people import service as people
from app.scheduling.models import TimeSlot, TimeSlotStatus
from tests.appointments.support import add_slot, add_slots, give_credits, in_days
from tests.credits.support import balance_of
from tests.support import Member


async def outcome(db, org, work) -> str:
    """'ok' or the code of the refusal, each attempt in its own transaction."""
    try:
        async with db.transaction(org.id) as session:
            await work(session)
        return "ok"
    except UserError as error:
        return error.code.value


async def new_clients(db, org, tenants, count: int, credits: int) -> list[Member]:
    async with db.transaction(org.id) as session:
        users = [await people.register_user(
            session, email=f"racer{n}@{org.slug}.example", first_name="Racer", last_name=str(n),
            phone="+1 555 7777", role=Role.CLIENT, password=None) for n in range(count)]
    members = [Member(user=user, token=tenants.token_for(user)) for user in users]
    for member in members:
        await give_credits(db, org, member, credits)
    return members


async def test_a_hundred_clients_racing_for_one_slot_make_one_appointment(db, org, tenants):
    racers = await new_clients(db, org, tenants, 100, credits=1)
    slot = await add_slot(db, org, in_days(3))

    started = time.perf_counter()
    outcomes = await asyncio.gather(*[
        outcome(db, org, lambda session, racer=racer: booking.book_time_slot(
            session, racer.principal, slot_id=slot.id))
        for racer in racers])
    elapsed = time.perf_counter() - started
    print(f"\n100 racing bookings of one slot: {elapsed:.3f} s, {100 / elapsed:.0f} attempts/s")

    assert sorted(outcomes) == ["SLOT_UNAVAILABLE"] * 99 + ["ok"]
    async with db.transaction(org.id, read_only=True) as session:
        appointments = await session.scalar(select(func.count()).select_from(Appointment))
        debits = await session.scalar(select(func.count()).select_from(CreditTransaction).where(
            CreditTransaction.type == TransactionType.APPOINTMENT_DEBIT))
    assert (appointments, debits) == (1, 1)


async def test_a_client_cannot_spend_credits_they_do_not_have(db, org):
    await give_credits(db, org, org.client, 3)
    slots = await add_slots(db, org, [in_days(3, hour=8 + n) for n in range(10)])

    started = time.perf_counter()
    outcomes = await asyncio.gather(*[
        outcome(db, org, lambda session, slot=slot: booking.book_time_slot(
            session, org.client.principal, slot_id=slot.id))
        for slot in slots])
    elapsed = time.perf_counter() - started
    print(f"\n10 bookings racing one balance: {elapsed:.3f} s, {10 / elapsed:.0f} attempts/s")

    assert sorted(outcomes) == ["INSUFFICIENT_CREDITS"] * 7 + ["ok"] * 3
    assert (await balance_of(db, org.id, org.client.user.id)).balance == 0
    async with db.transaction(org.id, read_only=True) as session:
        booked = await session.scalar(select(func.count()).select_from(Appointment))
    assert booked == 3


async def test_cancel_and_reschedule_at_once_leave_one_consistent_state(db, org):
    for attempt in range(5):
        await give_credits(db, org, org.client, 1)
        old, new = await add_slots(db, org, [in_days(4 + attempt), in_days(4 + attempt, hour=17)])
        async with db.transaction(org.id) as session:
            booked = await booking.book_time_slot(session, org.client.principal, slot_id=old.id)
        pk = booked.appointment.id

        await asyncio.gather(
            outcome(db, org, lambda session, pk=pk: cancellation.cancel_appointment(
                session, org.staff.principal, pk)),
            outcome(db, org, lambda session, pk=pk, new=new: rescheduling.reschedule_appointment(
                session, org.staff.principal, pk, new_slot_id=new.id)),
        )

        async with db.transaction(org.id, read_only=True) as session:
            appointment = await session.get(Appointment, (org.id, pk))
            refunds = await session.scalar(
                select(func.count()).select_from(CreditTransaction).where(
                    CreditTransaction.appointment_id == pk,
                    CreditTransaction.type == TransactionType.CANCELLATION_REFUND))
            booked_slots = await session.scalar(
                select(func.count()).select_from(TimeSlot).where(
                    TimeSlot.id.in_([old.id, new.id]), TimeSlot.status == TimeSlotStatus.BOOKED))
        # Whichever ran first, the cancel ran on the slot the appointment then held.
        assert appointment.state is AppointmentState.CANCELLED
        assert booked_slots == 0
        assert refunds == 1
