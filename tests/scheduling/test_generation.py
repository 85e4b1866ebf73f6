"""Slot generation as a pure function: docs/rules.md: slots; worked DST examples and properties."""

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from app.scheduling.generation import (
    Hours,
    SlotPeriod,
    first_instant_at_or_after,
    generate,
    local_day_bounds,
    rule_slots,
)
from app.scheduling.models import Weekday

NEW_YORK = ZoneInfo("America/New_York")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def slots_on(day: date, rule: Hours, zone: ZoneInfo, session: int, buffer: int = 0):
    periods = rule_slots(
        rule, zone=zone, session_minutes=session, buffer_minutes=buffer, first_day=day, last_day=day
    )
    return [(period.starts_at, period.ends_at) for period in periods]


# ---- worked examples on the DST days of 2026 --------------------------------


def test_fall_back_day_takes_the_first_occurrence_of_an_ambiguous_start():
    # docs/rules.md: slots: 00:00-03:00 on 2026-11-01 in New York, 60-minute sessions.
    rule = Hours(Weekday.SUNDAY, time(0), time(3))

    slots = slots_on(date(2026, 11, 1), rule, NEW_YORK, 60)

    assert slots == [
        (utc(2026, 11, 1, 4), utc(2026, 11, 1, 5)),  # 00:00 EDT
        (utc(2026, 11, 1, 5), utc(2026, 11, 1, 6)),  # 01:00 EDT, the first 01:00
        (utc(2026, 11, 1, 7), utc(2026, 11, 1, 8)),  # 02:00 EST
    ]


def test_spring_forward_day_skips_a_start_that_does_not_exist():
    # 2026-03-08 in New York: 02:00 EST jumps to 03:00 EDT.
    rule = Hours(Weekday.SUNDAY, time(0), time(4))

    slots = slots_on(date(2026, 3, 8), rule, NEW_YORK, 60)

    assert slots == [
        (utc(2026, 3, 8, 5), utc(2026, 3, 8, 6)),  # 00:00 EST
        (utc(2026, 3, 8, 6), utc(2026, 3, 8, 7)),  # 01:00 EST; 02:00 never happens
        (utc(2026, 3, 8, 7), utc(2026, 3, 8, 8)),  # 03:00 EDT
    ]


def test_spring_forward_skips_a_start_the_jump_pulls_into_the_previous_slot():
    # 90-minute grid from 00:00: 00:00, 01:30, 03:00 (wall clock). 01:30 EST lasts
    # until 08:00Z = 04:00 EDT, past 03:00 EDT (07:00Z), so 03:00 overlaps it.
    rule = Hours(Weekday.SUNDAY, time(0), time(6))

    slots = slots_on(date(2026, 3, 8), rule, NEW_YORK, 90)

    assert slots == [
        (utc(2026, 3, 8, 5), utc(2026, 3, 8, 6, 30)),  # 00:00 EST
        (utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 8)),  # 01:30 EST
        (utc(2026, 3, 8, 8, 30), utc(2026, 3, 8, 10)),  # 04:30 EDT
    ]


def test_spring_forward_start_in_the_gap_is_skipped_not_moved():
    # 45-minute grid: 00:00, 00:45, 01:30, 02:15 (never happens), 03:00, 03:45.
    rule = Hours(Weekday.SUNDAY, time(0), time(4))

    slots = slots_on(date(2026, 3, 8), rule, NEW_YORK, 45)

    assert slots == [
        (utc(2026, 3, 8, 5), utc(2026, 3, 8, 5, 45)),  # 00:00 EST
        (utc(2026, 3, 8, 5, 45), utc(2026, 3, 8, 6, 30)),  # 00:45 EST
        (utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 15)),  # 01:30 EST
        # 02:15 skipped; 03:00 EDT (07:00Z) overlaps 01:30 EST's slot; 03:45 EDT
        # would end at 04:30 EDT, after the rule's end.
    ]


def test_a_slot_lasts_session_minutes_of_real_time_across_the_fall_back():
    # 01:30 EDT + 60 real minutes ends at 01:30 EST (06:30Z), not at 02:30 EST.
    rule = Hours(Weekday.SUNDAY, time(1, 30), time(3, 30))

    slots = slots_on(date(2026, 11, 1), rule, NEW_YORK, 60)

    assert slots == [
        (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30)),  # 01:30 EDT
        (utc(2026, 11, 1, 7, 30), utc(2026, 11, 1, 8, 30)),  # 02:30 EST
    ]


def test_a_slot_must_end_by_the_rule_end_converted_on_its_own_date():
    # Rule end 02:30 does not exist on 2026-03-08; the jump (07:00Z) is the limit.
    rule = Hours(Weekday.SUNDAY, time(1), time(2, 30))

    assert slots_on(date(2026, 3, 8), rule, NEW_YORK, 60) == [
        (utc(2026, 3, 8, 6), utc(2026, 3, 8, 7)),
    ]
    assert slots_on(date(2026, 3, 8), rule, NEW_YORK, 61) == []


def test_buffer_spaces_the_grid():
    rule = Hours(Weekday.MONDAY, time(9), time(12))

    slots = slots_on(date(2026, 12, 7), rule, NEW_YORK, 50, buffer=10)

    assert slots == [
        (utc(2026, 12, 7, 14), utc(2026, 12, 7, 14, 50)),
        (utc(2026, 12, 7, 15), utc(2026, 12, 7, 15, 50)),
        (utc(2026, 12, 7, 16), utc(2026, 12, 7, 16, 50)),
    ]


def test_each_date_uses_its_own_offset():
    rule = Hours(Weekday.MONDAY, time(9), time(10))
    periods = rule_slots(
        rule,
        zone=NEW_YORK,
        session_minutes=60,
        buffer_minutes=0,
        first_day=date(2026, 3, 2),
        last_day=date(2026, 3, 9),
    )

    assert [period.starts_at for period in periods] == [utc(2026, 3, 2, 14), utc(2026, 3, 9, 13)]


def test_effective_dates_limit_the_days_inclusively():
    rule = Hours(
        Weekday.MONDAY,
        time(9),
        time(10),
        effective_from=date(2026, 12, 7),
        effective_until=date(2026, 12, 14),
    )
    periods = rule_slots(
        rule,
        zone=NEW_YORK,
        session_minutes=60,
        buffer_minutes=0,
        first_day=date(2026, 11, 30),
        last_day=date(2026, 12, 31),
    )

    assert [period.starts_at for period in periods] == [utc(2026, 12, 7, 14), utc(2026, 12, 14, 14)]


def test_lord_howe_half_hour_shift_skips_the_missing_half_hour():
    # 2026-10-04 02:00 LHST (+10:30) jumps to 02:30 LHDT (+11).
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    rule = Hours(Weekday.SUNDAY, time(1), time(4))

    slots = slots_on(date(2026, 10, 4), rule, lord_howe, 30)

    assert slots == [
        (utc(2026, 10, 3, 14, 30), utc(2026, 10, 3, 15)),  # 01:00 +10:30
        (utc(2026, 10, 3, 15), utc(2026, 10, 3, 15, 30)),  # 01:30 +10:30; 02:00 skipped
        (utc(2026, 10, 3, 15, 30), utc(2026, 10, 3, 16)),  # 02:30 +11
        (utc(2026, 10, 3, 16), utc(2026, 10, 3, 16, 30)),  # 03:00 +11
        (utc(2026, 10, 3, 16, 30), utc(2026, 10, 3, 17)),  # 03:30 +11
    ]


def test_first_instant_of_a_missing_wall_time_is_the_jump():
    assert first_instant_at_or_after(date(2026, 3, 8), time(2, 30), NEW_YORK) == utc(2026, 3, 8, 7)
    assert first_instant_at_or_after(date(2026, 11, 1), time(1, 30), NEW_YORK) == utc(
        2026, 11, 1, 5, 30
    )


def test_local_day_bounds_cover_a_23_and_a_25_hour_day():
    assert local_day_bounds(date(2026, 3, 8), date(2026, 3, 8), NEW_YORK) == (
        utc(2026, 3, 8, 5),
        utc(2026, 3, 9, 4),
    )
    assert local_day_bounds(date(2026, 11, 1), date(2026, 11, 1), NEW_YORK) == (
        utc(2026, 11, 1, 4),
        utc(2026, 11, 2, 5),
    )


def test_slots_of_two_rules_never_overlap_the_earlier_wins():
    # Wall-clock-adjacent rules on the fall-back day: 00:00-01:30 and 01:30-03:00.
    rules = [
        Hours(Weekday.SUNDAY, time(0), time(1, 30)),
        Hours(Weekday.SUNDAY, time(1, 30), time(3)),
    ]

    generated = generate(
        rules,
        zone=NEW_YORK,
        session_minutes=45,
        buffer_minutes=0,
        first_day=date(2026, 11, 1),
        last_day=date(2026, 11, 1),
    )

    periods = [period for _, period in generated]
    assert all(a.ends_at <= b.starts_at for a, b in pairwise(periods))
    assert generated[0][0] is rules[0]


# ---- properties -------------------------------------------------------------

ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Argentina/Buenos_Aires",
]


def _transition_days() -> list[date]:
    """Days (2024-2028) on which some zone's offset changes: where bugs live."""
    days = set()
    for name in ZONES:
        zone = ZoneInfo(name)
        day = date(2024, 1, 1)
        while day < date(2029, 1, 1):
            noon = datetime.combine(day, time(12), tzinfo=zone)
            if noon.utcoffset() != (noon + timedelta(days=1)).utcoffset():
                days.update({day, day + timedelta(days=1)})
            day += timedelta(days=1)
    return sorted(days)


TRANSITION_DAYS = _transition_days()

minutes_of_day = st.integers(min_value=0, max_value=24 * 60 - 1)
# Hours near a clock change (00:00-04:00) are drawn often on purpose.
early_minutes = st.integers(min_value=0, max_value=4 * 60)


@st.composite
def scenarios(draw):
    """A zone, a rule, session and buffer lengths, and a range of up to 41 local dates."""
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    start = draw(st.one_of(early_minutes, minutes_of_day).filter(lambda m: m < 24 * 60 - 1))
    end = draw(st.integers(min_value=start + 1, max_value=24 * 60 - 1))
    transition_day = draw(st.sampled_from(TRANSITION_DAYS))
    near_transition = transition_day - timedelta(days=draw(st.integers(0, 6)))
    any_day = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)))
    first_day = draw(st.sampled_from([near_transition, any_day]))
    last_day = first_day + timedelta(days=draw(st.integers(min_value=0, max_value=40)))
    # Often the weekday of the clock change itself.
    transition_weekday = Weekday.of(transition_day)
    rule = Hours(
        weekday=draw(st.sampled_from([transition_weekday, *Weekday])),
        start_time=time(start // 60, start % 60),
        end_time=time(end // 60, end % 60),
        effective_from=draw(st.none() | st.integers(0, 20).map(lambda n: first_day + timedelta(n))),
        effective_until=draw(st.none() | st.integers(0, 20).map(lambda n: last_day - timedelta(n))),
    )
    session = draw(st.integers(min_value=5, max_value=180))
    buffer = draw(st.integers(min_value=0, max_value=60))
    return zone, rule, session, buffer, first_day, last_day


def _generate(zone, rule, session, buffer, first_day, last_day) -> list[SlotPeriod]:
    return rule_slots(
        rule,
        zone=zone,
        session_minutes=session,
        buffer_minutes=buffer,
        first_day=first_day,
        last_day=last_day,
    )


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_every_slot_lasts_exactly_session_minutes_of_real_time(scenario):
    session = scenario[2]
    for period in _generate(*scenario):
        assert period.ends_at - period.starts_at == timedelta(minutes=session)
        assert period.starts_at.utcoffset() == timedelta(0)


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_no_two_slots_overlap(scenario):
    periods = _generate(*scenario)
    assert all(earlier.ends_at <= later.starts_at for earlier, later in pairwise(periods))


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_every_slot_lies_inside_its_rules_local_hours_on_its_local_date(scenario):
    zone, rule, session, buffer, first_day, last_day = scenario
    step = session + buffer
    rule_start = rule.start_time.hour * 60 + rule.start_time.minute
    for period in _generate(*scenario):
        local_start = period.starts_at.astimezone(zone)
        day = local_start.date()
        assert first_day <= day <= last_day
        assert day.isoweekday() == rule.weekday.iso
        assert rule.effective_from is None or day >= rule.effective_from
        assert rule.effective_until is None or day <= rule.effective_until
        # On the wall-clock grid, at or after the rule's start.
        start_minute = local_start.hour * 60 + local_start.minute
        assert start_minute >= rule_start and (start_minute - rule_start) % step == 0
        # Still that day and before the rule's end one second before the slot ends.
        last_second = (period.ends_at - timedelta(seconds=1)).astimezone(zone)
        assert last_second.date() == day and last_second.time() < rule.end_time
        assert period.ends_at <= first_instant_at_or_after(day, rule.end_time, zone)


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_on_days_without_a_clock_change_every_grid_start_that_fits_is_generated(scenario):
    zone, rule, session, buffer, first_day, last_day = scenario
    rule_start = rule.start_time.hour * 60 + rule.start_time.minute
    rule_end = rule.end_time.hour * 60 + rule.end_time.minute
    fitting = max(0, (rule_end - rule_start - session) // (session + buffer) + 1)
    by_day: dict[date, int] = {}
    for period in _generate(*scenario):
        day = period.starts_at.astimezone(zone).date()
        by_day[day] = by_day.get(day, 0) + 1
    day = first_day
    while day <= last_day:
        midnight = datetime.combine(day, time(0), tzinfo=zone)
        steady = (
            midnight.utcoffset() == datetime.combine(day, time(23, 59), tzinfo=zone).utcoffset()
        )
        applies = (
            day.isoweekday() == rule.weekday.iso
            and (rule.effective_from is None or day >= rule.effective_from)
            and (rule.effective_until is None or day <= rule.effective_until)
        )
        if steady:
            assert by_day.get(day, 0) == (fitting if applies else 0)
        day += timedelta(days=1)


@settings(max_examples=50, deadline=None)
@given(scenarios())
def test_generation_is_deterministic(scenario):
    assert _generate(*scenario) == _generate(*scenario)
