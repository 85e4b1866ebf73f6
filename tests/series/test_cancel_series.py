"""cancelSeries: the chosen occurrence and every later one that has not started, each under
the cancellation policy; the series ends. One occurrence cancelled or moved alone leaves
the series be. And the idempotency key of bookSeries covers the whole series."""

from datetime import timedelta

import pytest

from app.appointments import cancellation, rescheduling, series
from app.appointments.models import AppointmentState
from app.errors import InvalidStateTransition, NotFound, ValidationFailed
from tests.jobs.support import NOW, principal, set_organization
from tests.series.test_booking_series import book, ready


async def cancel(db, org, member, series_id, *, now=NOW, **options):
    async with db.transaction(org.id) as session:
        return await series.cancel_series(session, principal(member), series_id, now=now,
                                          **options)


async def states_of(db, org, series_id) -> list[AppointmentState]:
    async with db.transaction(org.id, read_only=True) as session:
        page = await series.list_occurrences(session, principal(org.admin), series_id,
                                             first=100)
    return [appointment.state for appointment in page.items]


async def test_a_client_cancelling_late_gets_back_only_what_the_policy_allows(db, org):
    await set_organization(db, org, cancellation_policy_hours=24 * 9)  # nine days' notice
    slots = await ready(db, org)
    made = await book(db, org, slots[1], count=5)  # weeks 0-4, from tomorrow on

    cancelled = await cancel(db, org, org.client, made.series.id)

    # tomorrow's and next week's occurrences are inside the nine days: no refund for them
    assert len(cancelled.appointments) == 5
    assert cancelled.refunded == 3
    assert cancelled.balance.balance == 20 - 5 + 3
    assert (cancelled.series.active, cancelled.series.cancelled_at) == (False, NOW)
    assert await states_of(db, org, made.series.id) == [AppointmentState.CANCELLED] * 5


async def test_cancelling_from_an_occurrence_keeps_the_earlier_ones(db, org):
    slots = await ready(db, org)
    made = await book(db, org, slots[1], count=5)
    third = made.appointments[2]

    cancelled = await cancel(db, org, org.staff, made.series.id, from_appointment_id=third.id)

    assert [a.id for a in cancelled.appointments] == [a.id for a in made.appointments[2:]]
    assert await states_of(db, org, made.series.id) == (
        [AppointmentState.PRE_CONFIRMED] * 2 + [AppointmentState.CANCELLED] * 3)
    assert cancelled.refunded == 3  # STAFF cancel with a full refund


async def test_a_started_occurrence_is_left_alone(db, org):
    slots = await ready(db, org)
    made = await book(db, org, slots[1], count=3)

    later = made.appointments[0].starts_at + timedelta(minutes=30)
    cancelled = await cancel(db, org, org.staff, made.series.id, now=later)

    assert len(cancelled.appointments) == 2
    assert (await states_of(db, org, made.series.id))[0] is AppointmentState.PRE_CONFIRMED


async def test_a_cancelled_series_cannot_be_cancelled_again_and_others_are_not_found(
        db, org, other_org):
    slots = await ready(db, org)
    made = await book(db, org, slots[1], count=2)
    await cancel(db, org, org.client, made.series.id)

    with pytest.raises(InvalidStateTransition):
        await cancel(db, org, org.client, made.series.id)
    with pytest.raises(NotFound):
        await cancel(db, org, org.other_client, made.series.id)
    with pytest.raises(NotFound):
        await cancel(db, other_org, other_org.admin, made.series.id)


async def test_one_occurrence_cancelled_or_moved_alone_leaves_the_series(db, org):
    slots = await ready(db, org)
    made = await book(db, org, slots[1], count=8)  # weeks 5-7 are still to book: active
    first, second = made.appointments[:2]

    async with db.transaction(org.id) as session:
        await cancellation.cancel_appointment(session, principal(org.client), first.id,
                                              now=NOW)
    async with db.transaction(org.id) as session:
        moved = await rescheduling.reschedule_appointment(
            session, principal(org.client), second.id, new_slot_id=slots[9].id, now=NOW)

    assert moved.appointment.series_id == made.series.id
    assert moved.appointment.starts_at == slots[9].starts_at
    async with db.transaction(org.id, read_only=True) as session:
        still = await series.get_series(session, principal(org.client), made.series.id)
    assert still.active and still.cancelled_at is None
    assert (await states_of(db, org, made.series.id)).count(AppointmentState.PRE_CONFIRMED) == 4


async def test_the_idempotency_key_covers_the_whole_series(db, org):
    slots = await ready(db, org)

    first = await book(db, org, slots[1], count=3, idempotency_key="weekly-1")
    again = await book(db, org, slots[1], count=3, idempotency_key="weekly-1")

    assert again.series.id == first.series.id
    assert [a.id for a in again.appointments] == [a.id for a in first.appointments]
    assert again.balance.balance == first.balance.balance == 17
    async with db.transaction(org.id, read_only=True) as session:
        page = await series.list_series(session, principal(org.client))
    assert len(page.items) == 1


async def test_an_inactive_student_and_a_taken_first_slot_refuse_the_series(db, org):
    slots = await ready(db, org)
    async with db.transaction(org.id) as session:
        student = await session.get(type(org.student), (org.id, org.student.id))
        student.active = False
    await book(db, org, slots[3], count=1)

    with pytest.raises(ValidationFailed) as inactive:
        await book(db, org, slots[1], count=2, student_id=org.student.id)
    with pytest.raises(Exception) as taken:
        await book(db, org, slots[3], count=2)

    assert inactive.value.field == "student_id"
    assert taken.value.code == "SLOT_UNAVAILABLE"


