"""A series across DST changes (docs/rules.md: recurring series, DST): each occurrence keeps
the first one's weekday and wall-clock time; a time the clocks skip gives no occurrence
(skipped with SLOT_UNAVAILABLE); a time that happens twice is its first (fold 0) instant.

Property tests of the pure functions `local_start` and `occurrence_date` in three zones,
Lord Howe with its 30-minute shift, judged by zoneinfo round trips and by a brute-force
search of the UTC instants whose local reading is the wall-clock time asked for; then one
series booked through the database per zone, across both of its changes.
"""

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.appointments import series
from app.appointments.models import Appointment, SeriesSkip
from app.credits import invariants
from app.jobs import work
from app.notifications.models import OutboxMessage
from app.people.models import Professional
from tests.jobs.support import give_credits, principal, slots_of, work_every_day

NEW_YORK, LONDON, LORD_HOWE = "America/New_York", "Europe/London", "Australia/Lord_Howe"
ZONES = [NEW_YORK, LONDON, LORD_HOWE]
FIRST_DAY, LAST_DAY = date(2026, 1, 1), date(2032, 12, 31)  # of a series' first occurrence
# A series of 104 every other week, from 2032, runs into 2036.
CHANGES_UNTIL = LAST_DAY + timedelta(weeks=2 * series.MAX_COUNT)
QUARTER = timedelta(minutes=15)
GRID = [time(quarter // 4, quarter % 4 * 15) for quarter in range(24 * 4)]
EXAMPLES = settings(max_examples=200, deadline=None)


# ---- the clock changes, found from zoneinfo itself ----------------------------------


def _offset(day: date, zone: ZoneInfo) -> timedelta:
    return datetime.combine(day, time(0), tzinfo=zone).utcoffset()


def _changes(name: str) -> list[tuple[date, timedelta]]:
    """The dates (2026 on) on which the clocks of `name` change, with the shift (positive:
    forward, a gap; negative: back, an overlap)."""
    zone, found, day = ZoneInfo(name), [], FIRST_DAY
    while day <= CHANGES_UNTIL:
        shift = _offset(day + timedelta(days=1), zone) - _offset(day, zone)
        if shift:
            found.append((day, shift))
        day += timedelta(days=1)
    return found


CHANGES = {name: _changes(name) for name in ZONES}


@cache
def affected_times(day: date, zone: ZoneInfo) -> list[time]:
    """The times of the 15-minute grid the clock skips (gap) or reads twice (overlap) on `day`."""
    return [at for at in GRID if len(instants_reading(day, at, zone)) != 1]


def instants_reading(day: date, at: time, zone: ZoneInfo) -> list[datetime]:
    """Brute force, independent of `fold`: every UTC instant (on the quarter-hour grid, which
    holds every offset of these zones) at which the clock in `zone` reads `at` on `day`."""
    wall = datetime.combine(day, at)
    as_if_utc = wall.replace(tzinfo=UTC)
    candidates = (as_if_utc + k * QUARTER for k in range(-14 * 4, 14 * 4 + 1))
    return sorted(u for u in candidates if u.astimezone(zone).replace(tzinfo=None) == wall)


def round_trips(day: date, at: time, zone: ZoneInfo, fold: int) -> bool:
    wall = datetime.combine(day, at, tzinfo=zone).replace(fold=fold)
    return wall.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall.replace(
        tzinfo=None)


# ---- strategies ---------------------------------------------------------------------

zones = st.sampled_from(ZONES)
grid_times = st.sampled_from(GRID)
intervals = st.sampled_from([1, 2])


@st.composite
def series_cases(draw):
    """(zone, first date, start time, interval, index): half of them aimed so that
    occurrence `index` falls on a clock change, at a time the clock skips or repeats."""
    name, interval = draw(zones), draw(intervals)
    if draw(st.booleans()):
        index = draw(st.integers(0, series.MAX_COUNT - 1))
        return name, draw(st.dates(FIRST_DAY, LAST_DAY)), draw(grid_times), interval, index
    period = timedelta(weeks=interval)
    day, _shift = draw(st.sampled_from([(day, shift) for day, shift in CHANGES[name]
                                        if day <= LAST_DAY + (series.MAX_COUNT - 1) * period]))
    at = draw(st.sampled_from(affected_times(day, ZoneInfo(name))))
    # The first date within 2026-2032, a whole number of periods before the change.
    earliest = -(-max(day - LAST_DAY, timedelta()) // period)
    index = draw(st.integers(earliest, min((day - FIRST_DAY) // period, series.MAX_COUNT - 1)))
    return name, day - index * period, at, interval, index


@st.composite
def whole_series(draw):
    """(zone, first date, start time, interval, count): most of them crossing clock changes
    at a time the clock skips or repeats on one of them."""
    name, interval = draw(zones), draw(intervals)
    count = draw(st.integers(1, series.MAX_COUNT))
    if draw(st.integers(0, 3)) == 0:
        return name, draw(st.dates(FIRST_DAY, LAST_DAY)), draw(grid_times), interval, count
    # A first date on the change's weekday, a whole number of periods (inside the series)
    # before it.
    day, _shift = draw(st.sampled_from(
        [(day, shift) for day, shift in CHANGES[name] if FIRST_DAY <= day <= LAST_DAY]))
    at = draw(st.sampled_from(affected_times(day, ZoneInfo(name))))
    period = timedelta(weeks=interval)
    back = draw(st.integers(0, min(count - 1, (day - FIRST_DAY) // period)))
    return name, day - back * period, at, interval, count


def a_series(first: date, interval: int, at: time = time(9), zone: str = NEW_YORK):
    """What the pure functions read of a series (first date, interval, time, zone)."""
    return SimpleNamespace(first_date=first, interval_weeks=interval, start_time=at,
                           time_zone=zone)


# ---- the pure functions -------------------------------------------------------------


def test_the_changes_are_the_ones_expected():
    """The test data: each zone changes twice a year, by an hour (Lord Howe: 30 minutes),
    and the grid times in the gaps and overlaps are the documented ones."""
    for name, shift in [(NEW_YORK, 60), (LONDON, 60), (LORD_HOWE, 30)]:
        assert [day.year for day, _ in CHANGES[name]] == [
            year for year in range(FIRST_DAY.year, CHANGES_UNTIL.year + 1) for _ in range(2)]
        assert {abs(change) for _, change in CHANGES[name]} == {timedelta(minutes=shift)}
    spring = {name: [d for d, shift in CHANGES[name] if shift > timedelta()] for name in ZONES}
    fall = {name: [d for d, shift in CHANGES[name] if shift < timedelta()] for name in ZONES}
    assert date(2026, 3, 8) in spring[NEW_YORK] and date(2026, 11, 1) in fall[NEW_YORK]
    gap = {name: affected_times(spring[name][0], ZoneInfo(name)) for name in ZONES}
    overlap = {name: affected_times(fall[name][0], ZoneInfo(name)) for name in ZONES}
    assert gap == {NEW_YORK: [time(2), time(2, 15), time(2, 30), time(2, 45)],
                   LONDON: [time(1), time(1, 15), time(1, 30), time(1, 45)],
                   LORD_HOWE: [time(2), time(2, 15)]}
    assert overlap == {NEW_YORK: [time(1), time(1, 15), time(1, 30), time(1, 45)],
                       LONDON: [time(1), time(1, 15), time(1, 30), time(1, 45)],
                       LORD_HOWE: [time(1, 30), time(1, 45)]}


@EXAMPLES
@given(series_cases())
def test_an_occurrence_is_its_wall_clock_time_its_first_instant_or_none(case):
    """Occurrence `index` falls on the first's weekday, interval x index weeks on; its start is
    the earliest instant the local clock reads the series' time that day, None if it never
    does; an existing one reads back as that date and time."""
    name, first, at, interval, index = case
    zone = ZoneInfo(name)

    day = series.occurrence_date(a_series(first, interval), index)
    starts_at = series.local_start(day, at, zone)

    assert day.weekday() == first.weekday()
    assert day - first == timedelta(weeks=interval * index)
    readings = instants_reading(day, at, zone)
    if not readings:
        assert starts_at is None
        assert not round_trips(day, at, zone, 0) and not round_trips(day, at, zone, 1)
        return
    assert starts_at == readings[0]  # the first of two when the clock falls back
    assert starts_at.utcoffset() == timedelta(0)
    local = starts_at.astimezone(zone)
    assert (local.date(), local.time(), local.fold) == (day, at, 0)
    assert starts_at == datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


@EXAMPLES
@given(whole_series())
def test_a_whole_series_keeps_its_weekday_and_time_and_skips_only_the_gaps(case):
    """Every occurrence of a series of `count`: an existing one on the first's weekday at
    the first's wall-clock time; a missing one only where zoneinfo's round trip fails for
    both folds, i.e. on a change date whose gap holds the time. Between two existing
    occurrences, UTC moves by the weeks between them less the change of offset."""
    name, first, at, interval, count = case
    zone = ZoneInfo(name)
    plan = a_series(first, interval, at, name)
    gap_days = {day for day, shift in CHANGES[name] if shift > timedelta()}
    previous = None
    for index in range(count):
        day = series.occurrence_date(plan, index)
        starts_at = series.local_start(day, at, zone)
        assert day.weekday() == first.weekday()
        if starts_at is None:
            assert day in gap_days
            assert not round_trips(day, at, zone, 0) and not round_trips(day, at, zone, 1)
            continue
        assert round_trips(day, at, zone, 0)
        local = starts_at.astimezone(zone)
        assert (local.date(), local.time(), local.weekday()) == (day, at, first.weekday())
        assert local.fold == 0  # read twice: the first time
        if previous is not None:
            (before_day, before), offset = previous, local.utcoffset()
            assert starts_at - before == (day - before_day) - (
                offset - before.astimezone(zone).utcoffset())
        previous = (day, starts_at)


@EXAMPLES
@given(zones, st.data())
def test_on_a_change_date_a_skipped_time_is_none_and_a_repeated_one_its_first_instant(
        name, data):
    zone = ZoneInfo(name)
    day, shift = data.draw(st.sampled_from(CHANGES[name]))
    at = data.draw(st.sampled_from(affected_times(day, zone)))

    starts_at = series.local_start(day, at, zone)

    if shift > timedelta():  # spring forward: the clock never reads `at`
        assert starts_at is None
        assert instants_reading(day, at, zone) == []
    else:  # fall back: it reads `at` twice, `shift` apart; the first is fold 0
        first, second = instants_reading(day, at, zone)
        assert second - first == -shift
        assert starts_at == first
        assert starts_at == datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
        assert datetime.combine(day, at, tzinfo=zone).replace(fold=1).astimezone(UTC) == second


# ---- through the database: one professional per zone --------------------------------


def change_in_2031(name: str, forward: bool) -> date:
    [day] = [day for day, shift in CHANGES[name]
             if day.year == 2031 and (shift > timedelta()) == forward]
    return day


async def zone_tenant(tenants, db, name: str):
    """An organization (and its professional) in zone `name`: 15-minute sessions, every
    day 00:00-04:00, so a slot starts at every quarter hour the clock reads."""
    org = await tenants.create(time_zone=name)
    async with db.transaction(org.id) as session:
        professional = await session.get(Professional, (org.id, org.professional_profile.id))
        professional.session_minutes = 15
    await work_every_day(db, org, org.professional_profile.id, time(0), time(4))
    return org


def the_slot_at(slots, day: date, at: time, zone: ZoneInfo):
    [slot] = [slot for slot in slots if slot.starts_at == series.local_start(day, at, zone)]
    return slot


@pytest.mark.parametrize(("name", "skipped_time", "repeated_time"), [
    (NEW_YORK, time(2, 30), time(1, 30)),
    (LONDON, time(1, 30), time(1, 30)),
    (LORD_HOWE, time(2, 15), time(1, 45)),
])
async def test_a_weekly_series_across_both_changes_of_a_zone(
        db, tenants, name, skipped_time, repeated_time):
    """Spring forward: a series at a time the clocks skip books the weeks around the change
    at that local time and skips the change's week with SLOT_UNAVAILABLE (bookSeries books
    the weeks before, the extension job the rest as the window reaches them). Fall back: a
    series at a time that happens twice books its first instant. Every occurrence keeps
    the local time, so the UTC time moves by the zone's shift."""
    zone = ZoneInfo(name)
    org = await zone_tenant(tenants, db, name)
    spring, fall = change_in_2031(name, True), change_in_2031(name, False)
    shift = _offset(spring + timedelta(days=1), zone) - _offset(spring, zone)
    first_now = datetime.combine(min(spring, fall) - timedelta(days=32), time(12), tzinfo=UTC)
    await give_credits(db, org, org.client, 10, now=first_now)

    # Spring forward, across the change via the job: weeks -2 and -1 now, 0 and +1 later.
    now = datetime.combine(spring - timedelta(days=32), time(12), tzinfo=UTC)
    await work.fill_booking_windows(db, now=now, organization_ids=[org.id])
    first = the_slot_at(await slots_of(db, org, org.professional_profile.id),
                        spring - timedelta(weeks=2), skipped_time, zone)
    async with db.transaction(org.id) as session:
        skipping = await series.book_series(session, principal(org.client), slot_id=first.id,
                                            interval_weeks=1, count=4, now=now)
    assert (len(skipping.appointments), skipping.skipped) == (2, [])
    later = now + timedelta(weeks=2)
    await work.fill_booking_windows(db, now=later, organization_ids=[org.id])
    assert await work.extend_series(db, now=later, organization_ids=[org.id]) == (1, 1)

    async with db.transaction(org.id, read_only=True) as session:
        booked = await session.scalars(select(Appointment).where(
            Appointment.series_id == skipping.series.id)
            .order_by(Appointment.starts_at))
        weeks = [appointment.starts_at for appointment in booked]
        [skip] = await session.scalars(select(SeriesSkip).where(
            SeriesSkip.series_id == skipping.series.id))
        told = list(await session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "SERIES_SKIPPED")))
        ended = await session.get(type(skipping.series), (org.id, skipping.series.id))
    local = [start.astimezone(zone) for start in weeks]
    assert [(day.date(), day.time()) for day in local] == [
        (spring + k * timedelta(weeks=1), skipped_time) for k in (-2, -1, 1)]
    assert weeks[2] - weeks[1] == timedelta(weeks=2) - shift  # the clocks went forward
    assert (skip.occurrence, skip.code) == (2, "SLOT_UNAVAILABLE")
    assert "does not exist" in skip.message
    # Its instant is the reading with the offset from before the change (fold 0).
    assert skip.starts_at == datetime.combine(spring, skipped_time, tzinfo=zone).astimezone(UTC)
    assert len(told) == 2 and all("the clocks go forward" in message.body for message in told)
    assert (ended.next_occurrence, ended.active) == (4, False)

    # Fall back, within bookSeries: weeks -2 to +1 at once, the change's week at fold 0.
    now = datetime.combine(fall - timedelta(days=15), time(12), tzinfo=UTC)
    await work.fill_booking_windows(db, now=now, organization_ids=[org.id])
    first = the_slot_at(await slots_of(db, org, org.professional_profile.id),
                        fall - timedelta(weeks=2), repeated_time, zone)
    async with db.transaction(org.id) as session:
        repeating = await series.book_series(session, principal(org.client), slot_id=first.id,
                                             interval_weeks=1, count=4, now=now)
    weeks = [appointment.starts_at for appointment in repeating.appointments]
    local = [start.astimezone(zone) for start in weeks]
    assert repeating.skipped == []
    assert [(day.date(), day.time()) for day in local] == [
        (fall + k * timedelta(weeks=1), repeated_time) for k in (-2, -1, 0, 1)]
    twice = datetime.combine(fall, repeated_time, tzinfo=zone)
    assert weeks[2] == twice.astimezone(UTC) < twice.replace(fold=1).astimezone(UTC)
    assert weeks[2] - weeks[1] == timedelta(weeks=1)  # fold 0: still the summer offset
    assert weeks[3] - weeks[2] == timedelta(weeks=1) + shift  # the clocks went back
    assert (repeating.series.next_occurrence, repeating.series.active) == (4, False)

    async with db.transaction(org.id, read_only=True) as session:
        report = await invariants.check(session)
    assert [str(violation) for violation in report.violations] == []
    assert repeating.balance.balance == 10 - 3 - 4
