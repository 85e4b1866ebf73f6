"""Slot generation: weekly wall-clock rules become UTC periods, exactly as docs/rules.md: slots says.

Pure functions: no database, no clock. The rules, in order:
- starts lie on the rule's wall-clock grid, start + k x (session + buffer);
- each start converts to UTC with its own date's offset; a start that does
  not exist (spring forward) is skipped, an ambiguous one (fall back) takes
  its first occurrence;
- a slot lasts exactly `session_minutes` of real time and ends no later than
  the rule's end, converted the same way;
- a slot that would overlap an earlier one is skipped.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from app.scheduling.models import Weekday


class WeeklyHours(Protocol):
    """What generation needs of a rule (an `AvailabilityRule` row is one)."""

    weekday: Weekday
    start_time: time
    end_time: time
    effective_from: date | None
    effective_until: date | None


@dataclass(frozen=True, slots=True)
class Hours:
    """A rule not (yet) stored: for tests, previews and rule edits."""

    weekday: Weekday
    start_time: time
    end_time: time
    effective_from: date | None = None
    effective_until: date | None = None


@dataclass(frozen=True, slots=True)
class SlotPeriod:
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC


def rule_slots(
    rule: WeeklyHours,
    *,
    zone: ZoneInfo,
    session_minutes: int,
    buffer_minutes: int,
    first_day: date,
    last_day: date,
) -> list[SlotPeriod]:
    """The slots `rule` yields on the local dates `first_day`..`last_day` (inclusive), in order."""
    if session_minutes <= 0 or buffer_minutes < 0:
        raise ValueError("session_minutes must be positive and buffer_minutes not negative")
    session = timedelta(minutes=session_minutes)
    step = session_minutes + buffer_minutes
    first_minute = _minute_of_day(rule.start_time)
    end_minute = _minute_of_day(rule.end_time)
    slots: list[SlotPeriod] = []
    for day in _rule_days(rule, first_day, last_day):
        ends_by = first_instant_at_or_after(day, rule.end_time, zone)
        for minute in range(first_minute, end_minute, step):
            wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
            if not _exists(wall):
                continue  # spring forward: this wall-clock time never happens
            starts_at = wall.astimezone(UTC)  # fold=0: the first occurrence when ambiguous
            ends_at = starts_at + session
            if ends_at > ends_by:
                continue
            if slots and starts_at < slots[-1].ends_at:
                continue  # the spring-forward jump pulled this start into the previous slot
            slots.append(SlotPeriod(starts_at, ends_at))
    return slots


def generate(
    rules: Iterable[WeeklyHours],
    *,
    zone: ZoneInfo,
    session_minutes: int,
    buffer_minutes: int,
    first_day: date,
    last_day: date,
) -> list[tuple[WeeklyHours, SlotPeriod]]:
    """The slots of all of one professional's rules, in time order, none overlapping another.

    Active rules never overlap in wall-clock time, but a clock change can still
    make two rules' slots overlap in real time; the earlier slot wins.
    """
    candidates = sorted(
        (
            (period, index, rule)
            for index, rule in enumerate(rules)
            for period in rule_slots(
                rule,
                zone=zone,
                session_minutes=session_minutes,
                buffer_minutes=buffer_minutes,
                first_day=first_day,
                last_day=last_day,
            )
        ),
        key=lambda candidate: (candidate[0].starts_at, candidate[1]),
    )
    kept: list[tuple[WeeklyHours, SlotPeriod]] = []
    for period, _index, rule in candidates:
        # Every slot lasts the same, so only the latest kept one can overlap.
        if kept and period.starts_at < kept[-1][1].ends_at:
            continue
        kept.append((rule, period))
    return kept


def first_instant_at_or_after(day: date, wall_time: time, zone: ZoneInfo) -> datetime:
    """The first UTC instant at which the local clock reads `wall_time` on `day`, or later.

    An ambiguous reading gives its first occurrence. A reading that never
    happens (inside a spring-forward gap) gives the moment of the jump: the
    first instant whose reading is past it.
    """
    wall = datetime.combine(day, wall_time, tzinfo=zone)
    if _exists(wall):
        return wall.astimezone(UTC)
    # Inside the gap the two folds straddle the jump: bisect (in whole seconds,
    # as offsets are) to the first instant whose reading is past `wall_time`.
    naive = wall.replace(tzinfo=None)
    low, high = sorted(
        int(wall.replace(fold=fold).astimezone(UTC).timestamp()) for fold in (0, 1)
    )
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) > naive:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def local_day_bounds(first_day: date, last_day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC half-open span of the local dates `first_day`..`last_day` (inclusive)."""
    return (
        first_instant_at_or_after(first_day, time(0), zone),
        first_instant_at_or_after(last_day + timedelta(days=1), time(0), zone),
    )


def _rule_days(rule: WeeklyHours, first_day: date, last_day: date) -> Iterator[date]:
    if rule.effective_from is not None:
        first_day = max(first_day, rule.effective_from)
    if rule.effective_until is not None:
        last_day = min(last_day, rule.effective_until)
    day = first_day + timedelta(days=(rule.weekday.iso - first_day.isoweekday()) % 7)
    while day <= last_day:
        yield day
        day += timedelta(days=7)


def _exists(wall: datetime) -> bool:
    """False for a wall-clock time skipped by a spring-forward jump."""
    round_trip = wall.astimezone(UTC).astimezone(wall.tzinfo)
    return round_trip.replace(tzinfo=None) == wall.replace(tzinfo=None)


def _minute_of_day(value: time) -> int:
    return value.hour * 60 + value.minute

