"""Unconfirmed bookings expire after preConfirmationTtlHours or at their start (docs/rules.md: appointments; docs/operations.md: background jobs)."""

from datetime import timedelta

from app.appointments.models import Appointment, AppointmentState
from app.credits.models import TransactionType
from app.jobs import work
from app.scheduling.models import TimeSlot, TimeSlotStatus
from tests.credits.support import balance_of, entries_of
from tests.jobs.support import DAY, HOUR, NOW, book, confirm, set_organization

MINUTE = timedelta(minutes=1)


async def appointment_and_slot(db, org, appointment: Appointment):
    async with db.transaction(org.id, read_only=True) as session:
        fresh = await session.get(Appointment, (org.id, appointment.id))
        slot = await session.get(TimeSlot, (org.id, appointment.time_slot_id))
        return fresh, slot


async def test_an_unconfirmed_booking_expires_with_a_full_refund_and_its_slot_frees(
    db, org, other_org
):
    # Given a 2-hour TTL here, the default 24 hours in the other organization
    await set_organization(db, org, pre_confirmation_ttl_hours=2)
    unconfirmed = await book(db, org, NOW + 3 * DAY)
    confirmed = await book(db, org, NOW + 4 * DAY, client=org.other_client)
    await confirm(db, org, confirmed)
    elsewhere = await book(db, other_org, NOW + 3 * DAY)
    only = [org.id, other_org.id]

    # When the job runs before the TTL is up, then after it, twice
    early = await work.expire_unconfirmed_bookings(db, now=NOW + 2 * HOUR - MINUTE,
                                                   organization_ids=only)
    due = await work.expire_unconfirmed_bookings(db, now=NOW + 2 * HOUR + MINUTE,
                                                 organization_ids=only)
    again = await work.expire_unconfirmed_bookings(db, now=NOW + 2 * HOUR + MINUTE,
                                                   organization_ids=only)

    # Then only the unconfirmed booking expires, once, by the system
    assert (early, due, again) == ([], [unconfirmed.id], [])
    appointment, slot = await appointment_and_slot(db, org, unconfirmed)
    assert appointment.state is AppointmentState.CANCELLED
    assert appointment.cancelled_by_id is None
    assert slot.status is TimeSlotStatus.AVAILABLE
    # with the whole cost back, refunded once
    entries = await entries_of(db, org.id, org.client.user.id)
    assert [(entry.type, entry.amount) for entry in entries] == [
        (TransactionType.PURCHASE, 1), (TransactionType.APPOINTMENT_DEBIT, -1),
        (TransactionType.CANCELLATION_REFUND, 1)]
    assert (await balance_of(db, org.id, org.client.user.id)).balance == 1
    # and the confirmed booking and the other organization's booking stand
    assert (await appointment_and_slot(db, org, confirmed))[0].state is AppointmentState.CONFIRMED
    other, other_slot = await appointment_and_slot(db, other_org, elsewhere)
    assert (other.state, other_slot.status) == (AppointmentState.PRE_CONFIRMED,
                                                TimeSlotStatus.BOOKED)


async def test_an_unconfirmed_booking_expires_at_its_start_time_within_its_ttl(db, org):
    # Given a booking made an hour before it starts (24-hour TTL)
    soon = await book(db, org, NOW + HOUR)

    assert await work.expire_unconfirmed_bookings(
        db, now=NOW + HOUR - MINUTE, organization_ids=[org.id]) == []
    assert await work.expire_unconfirmed_bookings(
        db, now=NOW + HOUR, organization_ids=[org.id]) == [soon.id]

    appointment, slot = await appointment_and_slot(db, org, soon)
    assert appointment.state is AppointmentState.CANCELLED
    assert (await balance_of(db, org.id, org.client.user.id)).balance == 1
    # docs/rules.md: appointments: back to AVAILABLE only if still in the future; this one has started.
    assert slot.status is TimeSlotStatus.BOOKED
