"""bookSeries through the services: occurrences inside the window booked at once, each with
its own debit; skips listed or all-or-nothing; the extension job as the window moves."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.appointments import series
from app.appointments.models import AppointmentState
from app.errors import SlotUnavailable, ValidationFailed
from app.jobs import work
from app.scheduling import service as schedules
from tests.jobs.support import (
    DAY,
    NOW,
    give_credits,
    outbox,
    principal,
    slots_of,
    work_every_day,
)

WEEK = timedelta(weeks=1)
NEW_YORK = ZoneInfo("America/New_York")


async def ready(db, org, *, credits: int = 20, now: datetime = NOW):
    """The org's professional works 9-10 every day (New York); slots through the window;
    the client's credits."""
    await work_every_day(db, org, org.professional_profile.id, time(9), time(10))
    await work.fill_booking_windows(db, now=now, organization_ids=[org.id])
    await give_credits(db, org, org.client, credits, now=now)
    return await slots_of(db, org, org.professional_profile.id)


def occurrence(slot, weeks: int):
    """The start of the occurrence `weeks` after `slot`'s: the same New York wall-clock time."""
    local = slot.starts_at.astimezone(NEW_YORK)
    return datetime.combine(local.date() + weeks * WEEK, local.time(),
                            tzinfo=NEW_YORK).astimezone(UTC)


async def book(db, org, slot, **options):
    async with db.transaction(org.id) as session:
        return await series.book_series(session, principal(org.client), slot_id=slot.id,
                                        interval_weeks=options.pop("interval_weeks", 1),
                                        now=NOW, **options)


async def test_a_weekly_series_books_every_occurrence_inside_the_window(db, org):
    slots = await ready(db, org)

    made = await book(db, org, slots[1], count=10)

    starts = [appointment.starts_at for appointment in made.appointments]
    local = [start.astimezone(NEW_YORK) for start in starts]
    first = slots[1].starts_at.astimezone(NEW_YORK)
    # 09:00 every Tuesday, across the change to summer time on 9 March 2031
    assert [(day.date(), day.time()) for day in local] == [
        (first.date() + k * WEEK, time(9)) for k in range(len(starts))]
    assert starts[1] - starts[0] == WEEK - timedelta(hours=1)
    assert all(start <= NOW + 30 * DAY for start in starts)
    assert len(starts) == 5  # 30 days ahead: weeks 0 to 4
    assert made.skipped == []
    assert made.balance.balance == 20 - 5
    assert (made.series.next_occurrence, made.series.active) == (5, True)
    assert {a.state for a in made.appointments} == {AppointmentState.PRE_CONFIRMED}


async def test_the_job_books_the_rest_as_the_window_moves_and_ends_the_series(db, org):
    slots = await ready(db, org)
    made = await book(db, org, slots[1], count=7)

    later = NOW + 3 * WEEK
    await work.fill_booking_windows(db, now=later, organization_ids=[org.id])
    booked, skipped = await work.extend_series(db, now=later, organization_ids=[org.id])
    again = await work.extend_series(db, now=later, organization_ids=[org.id])

    assert (booked, skipped) == (2, 0)
    assert again == (0, 0)
    async with db.transaction(org.id, read_only=True) as session:
        ended = await session.get(type(made.series), (org.id, made.series.id))
    assert (ended.next_occurrence, ended.active) == (7, False)


async def test_a_blocked_week_is_skipped_and_listed_or_refuses_all(db, org):
    slots = await ready(db, org)
    blocked = occurrence(slots[1], 2)
    async with db.transaction(org.id) as session:
        await schedules.create_time_off(session, principal(org.staff), org.professional_profile.id,
                                        starts_at=blocked, ends_at=blocked + timedelta(hours=1))

    with pytest.raises(SlotUnavailable) as refused:
        await book(db, org, slots[1], count=4, skip_unavailable=False)
    made = await book(db, org, slots[1], count=4)  # nothing was booked by the refusal

    assert [skip.starts_at for skip in made.skipped] == [blocked]
    assert made.skipped[0].code == "SLOT_UNAVAILABLE"
    assert len(made.appointments) == 3
    assert "cannot be booked" in refused.value.message


async def test_too_few_credits_skip_the_later_occurrences(db, org):
    slots = await ready(db, org, credits=2)

    made = await book(db, org, slots[1])  # open-ended

    assert len(made.appointments) == 2
    assert {skip.code for skip in made.skipped} == {"INSUFFICIENT_CREDITS"}
    assert made.series.count is None and made.series.until is None


@pytest.mark.parametrize(("options", "field"), [
    ({"count": 0}, "count"), ({"count": 105}, "count"),
    ({"count": 3, "until": date(2031, 6, 1)}, "count"),
    ({"until": date(2031, 3, 1)}, "until"), ({"until": date(2033, 6, 1)}, "until"),
    ({"interval_weeks": 3}, "interval_weeks"),
])
async def test_bad_bounds_are_refused_and_nothing_is_booked(db, org, options, field):
    slots = await ready(db, org)

    with pytest.raises(ValidationFailed) as refused:
        await book(db, org, slots[1], **options)

    assert refused.value.field == field
    assert len(await outbox(db, org)) == 0


async def test_the_job_tells_client_and_professional_once_of_a_skipped_week(db, org):
    slots = await ready(db, org)
    await book(db, org, slots[1], count=8)
    blocked = occurrence(slots[1], 5)
    later = NOW + 2 * WEEK
    await work.fill_booking_windows(db, now=later, organization_ids=[org.id])
    async with db.transaction(org.id) as session:
        await schedules.create_time_off(session, principal(org.staff), org.professional_profile.id,
                                        starts_at=blocked, ends_at=blocked + timedelta(hours=1))

    first = await work.extend_series(db, now=later, organization_ids=[org.id])
    second = await work.extend_series(db, now=later + DAY, organization_ids=[org.id])

    assert first == (1, 1)
    assert second == (0, 0)
    told = await outbox(db, org, kind="SERIES_SKIPPED")
    assert sorted(message.recipient_user_id for message in told) == sorted(
        [org.client.user.id, org.professional.user.id])
    assert all("could not be booked" in message.body for message in told)




async def test_the_job_stops_for_a_deactivated_student_and_skips_an_inactive_professional(
        db, org):
    slots = await ready(db, org)
    for_student = await book(db, org, slots[1], count=8, student_id=org.student.id)
    own = await book(db, org, slots[2], count=8)
    async with db.transaction(org.id) as session:
        student = await session.get(type(org.student), (org.id, org.student.id))
        student.active = False
        professional = await session.get(type(org.professional_profile),
                                         (org.id, org.professional_profile.id))
        professional.active = False

    later = NOW + 2 * WEEK
    booked, skipped = await work.extend_series(db, now=later, organization_ids=[org.id])

    async with db.transaction(org.id, read_only=True) as session:
        ended = await session.get(type(for_student.series), (org.id, for_student.series.id))
        going = await session.get(type(own.series), (org.id, own.series.id))
    assert (booked, skipped) == (0, 2)  # own: weeks 5 and 6, not taking bookings
    assert ended.active is False and ended.cancelled_at is None
    assert going.active is True


def test_until_may_be_two_calendar_years_after_a_leap_day():
    assert series._years_after(date(2028, 2, 29), 2) == date(2030, 2, 28)
    assert series._years_after(date(2031, 3, 4), 2) == date(2033, 3, 4)
