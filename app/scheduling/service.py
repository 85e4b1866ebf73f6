"""Availability rules, time off, slot generation and blocking: who may do what (docs/rules.md: roles, slots).

Every write to one professional's schedule first takes that professional's
schedule lock (`repository.lock_schedule`), so generation, time off and
blocking never interleave. `now` is a parameter so tests can fix the clock.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app import validation
from app.auth import Principal, Role
from app.clock import utc_now
from app.db import flush_or_raise
from app.errors import Conflict, Forbidden, NotFound, OverlappingAvailability, ValidationFailed
from app.people import repository as people
from app.people.models import Professional
from app.scheduling import events, generation, repository
from app.scheduling.models import (
    AvailabilityRule,
    BlockReason,
    TimeOff,
    TimeSlot,
    TimeSlotStatus,
    Weekday,
)

# Generation may cover the longest booking window (365 days) in one call.
MAX_GENERATION_DAYS = 366
# Reads of slots are for calendars: two months at most per request.
MAX_SLOT_RANGE_DAYS = 62
MAX_TIME_OFF_RANGE_DAYS = 366

# ---- permissions ------------------------------------------------------------


def can_manage_schedule(principal: Principal, professional: Professional) -> bool:
    """ADMIN and STAFF manage anyone's schedule; a professional only their own."""
    return principal.is_staff_or_admin or (
        principal.role is Role.PROFESSIONAL and professional.user_id == principal.user_id
    )


async def get_managed_professional(
    session: AsyncSession, principal: Principal, professional_id: int, field: str
) -> Professional:
    """The professional whose schedule the principal is about to change.

    A CLIENT is refused before any lookup; an ID from another organization is
    NOT_FOUND (never FORBIDDEN, so nothing leaks), naming `field`: the caller's
    argument that led to the professional.
    """
    if not (principal.is_staff_or_admin or principal.role is Role.PROFESSIONAL):
        raise Forbidden("Only STAFF, ADMIN or the professional may change a schedule.")
    professional = await people.get_professional(session, professional_id)
    if professional is None:
        raise NotFound("No such professional.", field=field)
    if not can_manage_schedule(principal, professional):
        raise Forbidden("A professional may change only their own schedule.")
    return professional


async def get_professional(
    session: AsyncSession, professional_id: int, field: str | None = None
) -> Professional:
    """Any professional of the organization (every role may see professionals)."""
    professional = await people.get_professional(session, professional_id)
    if professional is None:
        raise NotFound("No such professional.", field=field)
    return professional


# ---- availability rules -----------------------------------------------------


async def get_rule(session: AsyncSession, principal: Principal, rule_id: int, *,
                   field: str | None = None) -> AvailabilityRule:
    """Gets an availability rule; working hours are visible to every role."""
    rule = await repository.get_rule(session, rule_id)
    if rule is None:
        raise NotFound("No such availability rule.", field=field)
    return rule


async def create_rule(
    session: AsyncSession,
    principal: Principal,
    professional_id: int,
    *,
    weekday: Weekday,
    start_time: time,
    end_time: time,
    effective_from: date | None = None,
    effective_until: date | None = None,
) -> AvailabilityRule:
    """Adds weekly working hours; refused if they overlap another active rule."""
    await get_managed_professional(session, principal, professional_id, "professional_id")
    rule = AvailabilityRule(
        professional_id=professional_id,
        weekday=weekday,
        start_time=start_time,
        end_time=end_time,
        effective_from=effective_from,
        effective_until=effective_until,
        active=True,
    )
    _check_rule(rule)
    session.add(rule)
    await _flush_rule(session)
    await events.defer_slot_refresh(session, professional_id=professional_id)
    return rule


async def update_rule(
    session: AsyncSession,
    principal: Principal,
    rule_id: int,
    changes: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> AvailabilityRule:
    """Changes a rule and removes its future AVAILABLE slots that no longer fit.

    `changes` holds only the attributes given; null effective dates mean
    "open-ended". New hours get slots at the next generation.
    """
    rule = await get_rule(session, principal, rule_id, field="rule_id")
    professional = await get_managed_professional(session, principal, rule.professional_id,
                                                  "rule_id")
    # The schedule lock comes before any row lock in every writer: no deadlocks.
    await repository.lock_schedule(session, professional.id)
    for attribute, value in changes.items():
        if value is None and attribute not in ("effective_from", "effective_until"):
            raise ValidationFailed("Cannot be null.", field=attribute)
        setattr(rule, attribute, value)
    _check_rule(rule)
    await _flush_rule(session)
    await _remove_unfit_slots(session, rule, professional, utc_now(now))
    await events.defer_slot_refresh(session, professional_id=professional.id)
    return rule


async def delete_rule(
    session: AsyncSession, principal: Principal, rule_id: int, *, now: datetime | None = None
) -> int:
    """Deletes a rule and its future AVAILABLE slots; booked and past slots stay."""
    rule = await get_rule(session, principal, rule_id, field="rule_id")
    professional = await get_managed_professional(session, principal, rule.professional_id,
                                                  "rule_id")
    await repository.lock_schedule(session, professional.id)
    await _remove_unfit_slots(session, rule, professional, utc_now(now), keep_fitting=False)
    await session.delete(rule)
    await session.flush()
    await events.defer_slot_refresh(session, professional_id=professional.id)
    return rule_id


def _check_rule(rule: AvailabilityRule) -> None:
    if rule.end_time <= rule.start_time:
        raise ValidationFailed(
            "The end time must come after the start time (rules cannot cross midnight).",
            field="end_time",
        )
    if (rule.effective_from is not None and rule.effective_until is not None
            and rule.effective_until < rule.effective_from):
        raise ValidationFailed("effectiveUntil must not be before effectiveFrom.",
                               field="effective_until")


async def _flush_rule(session: AsyncSession) -> None:
    await flush_or_raise(session, {"availability_rules_no_overlap": OverlappingAvailability(
        "These hours overlap another active rule of this professional on the same weekday "
        "and dates.", field="start_time")})


async def _remove_unfit_slots(
    session: AsyncSession,
    rule: AvailabilityRule,
    professional: Professional,
    now: datetime,
    *,
    keep_fitting: bool = True,
) -> None:
    """Deletes the rule's future AVAILABLE slots that its current hours would not generate."""
    slots = await repository.get_future_available_slots_of_rule(session, rule.id, now)
    if not slots:
        return
    fitting: set[tuple[datetime, datetime]] = set()
    if keep_fitting and rule.active:
        zone = ZoneInfo(professional.time_zone)
        local_days = [slot.starts_at.astimezone(zone).date() for slot in slots]
        fitting = {
            (period.starts_at, period.ends_at)
            for period in generation.rule_slots(
                rule,
                zone=zone,
                session_minutes=professional.session_minutes,
                buffer_minutes=professional.buffer_minutes,
                first_day=min(local_days),
                last_day=max(local_days),
            )
        }
    unfit = [slot.id for slot in slots if (slot.starts_at, slot.ends_at) not in fitting]
    await events.announce(session, await repository.delete_available_slots(session, unfit))


# ---- time off ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreatedTimeOff:
    time_off: TimeOff
    blocked_count: int
    # Booked slots inside the time off stay booked; staff must deal with them.
    booked_slots: list[TimeSlot]


async def get_time_off(session: AsyncSession, principal: Principal, time_off_id: int, *,
                       field: str | None = None) -> TimeOff:
    """Gets a time off; every role may see when a professional is away."""
    time_off = await repository.get_time_off(session, time_off_id)
    if time_off is None:
        raise NotFound("No such time off.", field=field)
    return time_off


async def create_time_off(
    session: AsyncSession,
    principal: Principal,
    professional_id: int,
    *,
    starts_at: datetime,
    ends_at: datetime,
    reason: str | None = None,
) -> CreatedTimeOff:
    """Records time off and BLOCKs the AVAILABLE slots that overlap it."""
    professional = await get_managed_professional(session, principal, professional_id,
                                                  "professional_id")
    if ends_at <= starts_at:
        raise ValidationFailed("The end must come after the start.", field="ends_at")
    time_off = TimeOff(
        professional_id=professional.id,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=validation.optional_text(reason, "reason", max_length=500),
    )
    await repository.lock_schedule(session, professional.id)
    session.add(time_off)
    await session.flush()
    blocked = await events.announce(session, await repository.block_slots_for_time_off(
        session, professional.id, starts_at, ends_at))
    booked = await repository.get_slots_of_professional(
        session, professional.id, starts_at, ends_at, TimeSlotStatus.BOOKED
    )
    return CreatedTimeOff(time_off=time_off, blocked_count=blocked, booked_slots=booked)


async def delete_time_off(session: AsyncSession, principal: Principal, time_off_id: int) -> int:
    """Deletes a time off; the slots it blocked become AVAILABLE again.

    Only slots BLOCKED because of time off, and not covered by another time
    off, are freed; slots blocked by hand stay blocked.
    """
    time_off = await get_time_off(session, principal, time_off_id, field="time_off_id")
    professional = await get_managed_professional(session, principal, time_off.professional_id,
                                                  "time_off_id")
    await repository.lock_schedule(session, professional.id)
    await session.delete(time_off)
    await session.flush()
    await events.announce(session, await repository.unblock_slots_of_time_off(
        session, professional.id, time_off.starts_at, time_off.ends_at))
    # Generation skipped the time off's hours: the refresh fills them in.
    await events.defer_slot_refresh(session, professional_id=professional.id)
    return time_off_id


async def list_time_off(
    session: AsyncSession, professional_ids: Sequence[int], starts: datetime, ends: datetime,
) -> list[TimeOff]:
    """Time off of these professionals overlapping [starts, ends), for every role (who may
    read a reason is the GraphQL type's business); the range is capped."""
    check_instant_range(starts, ends, MAX_TIME_OFF_RANGE_DAYS)
    return await repository.get_time_off_of_professionals(session, professional_ids,
                                                          starts, ends)


# ---- time slots -------------------------------------------------------------


async def generate_time_slots(
    session: AsyncSession,
    principal: Principal,
    professional_id: int,
    first_day: date,
    last_day: date,
    *,
    now: datetime | None = None,
) -> int:
    """Turns a professional's active rules into slots on local dates first_day..last_day.

    Idempotent: returns how many slots were created (0 when run again).
    """
    professional = await get_managed_professional(session, principal, professional_id,
                                                  "professional_id")
    check_date_range(first_day, last_day, MAX_GENERATION_DAYS, "last_day")
    return await fill_time_slots(session, professional, first_day, last_day, now=now)


async def fill_time_slots(
    session: AsyncSession,
    professional: Professional,
    first_day: date,
    last_day: date,
    *,
    now: datetime | None = None,
) -> int:
    """`generate_time_slots` without the permission check: for jobs, seeds and tests.

    Slots starting before `now` are not created. Existing slots (booked or
    not) and time off win over new ones; nothing existing is changed.
    """
    # Locked before reading the rules, so a rule deleted meanwhile is never used.
    await repository.lock_schedule(session, professional.id)
    rules = await repository.get_active_rules(session, professional.id)
    candidates = [
        (rule.id, period)
        for rule, period in generation.generate(
            rules,
            zone=ZoneInfo(professional.time_zone),
            session_minutes=professional.session_minutes,
            buffer_minutes=professional.buffer_minutes,
            first_day=first_day,
            last_day=last_day,
        )
        if period.starts_at >= utc_now(now)
    ]
    return await events.announce(
        session, await repository.insert_available_slots(session, professional.id, candidates))


async def get_slot(session: AsyncSession, principal: Principal, slot_id: int) -> TimeSlot:
    """Gets a time slot; slots (not who booked them) are visible to every role."""
    slot = await repository.get_slot(session, slot_id)
    if slot is None:
        raise NotFound("No such time slot.")
    return slot


async def list_time_slots(
    session: AsyncSession,
    principal: Principal,
    professional_id: int,
    starts: datetime,
    ends: datetime,
    status: TimeSlotStatus | None = None,
) -> list[TimeSlot]:
    """Slots of one professional overlapping [starts, ends), any status unless filtered."""
    check_instant_range(starts, ends, MAX_SLOT_RANGE_DAYS)
    await get_professional(session, professional_id, "professional_id")
    return await repository.get_slots_of_professional(session, professional_id, starts, ends,
                                                      status)


async def block_time_slot(session: AsyncSession, principal: Principal, slot_id: int) -> TimeSlot:
    """Takes an AVAILABLE slot off offer; blocking a blocked slot keeps it blocked."""
    slot = await _managed_slot(session, principal, slot_id)
    # A block by hand outlives any time off that also covers the slot.
    blocked = await events.announce_slot(session, await repository.set_slot_status(
        session, slot.id, status=TimeSlotStatus.BLOCKED, block_reason=BlockReason.MANUAL,
        when_status_in=[TimeSlotStatus.AVAILABLE, TimeSlotStatus.BLOCKED],
    ))
    if blocked is None:
        raise Conflict("A booked slot cannot be blocked; cancel its appointment first.",
                       field="slot_id")
    return blocked


async def unblock_time_slot(
    session: AsyncSession, principal: Principal, slot_id: int
) -> TimeSlot:
    """Puts a BLOCKED slot back on offer, unless a time off still covers it."""
    slot = await _managed_slot(session, principal, slot_id)
    if await repository.overlaps_time_off(session, slot):
        raise Conflict("The slot lies inside a time off; delete the time off instead.",
                       field="slot_id")
    unblocked = await events.announce_slot(session, await repository.set_slot_status(
        session, slot.id, status=TimeSlotStatus.AVAILABLE, block_reason=None,
        when_status_in=[TimeSlotStatus.BLOCKED, TimeSlotStatus.AVAILABLE],
    ))
    if unblocked is None:
        raise Conflict("A booked slot cannot be unblocked.", field="slot_id")
    return unblocked


async def _managed_slot(session: AsyncSession, principal: Principal, slot_id: int) -> TimeSlot:
    if not (principal.is_staff_or_admin or principal.role is Role.PROFESSIONAL):
        raise Forbidden("Only STAFF, ADMIN or the professional may block or unblock slots.")
    slot = await repository.get_slot(session, slot_id)
    if slot is None:
        raise NotFound("No such time slot.", field="slot_id")
    await get_managed_professional(session, principal, slot.professional_id, "slot_id")
    await repository.lock_schedule(session, slot.professional_id)
    return slot


# ---- shared checks ----------------------------------------------------------


def check_date_range(first_day: date, last_day: date, max_days: int, field: str) -> None:
    """An inclusive range of dates, `max_days` long at most; a refusal names `field`, the
    caller's argument that holds `last_day`."""
    if last_day < first_day:
        raise ValidationFailed("`to` must not be before `from`.", field=field)
    if (last_day - first_day).days + 1 > max_days:
        raise ValidationFailed(f"The range may span at most {max_days} days.", field=field)


def check_instant_range(starts: datetime, ends: datetime, max_days: int) -> None:
    """A half-open range of instants, `max_days` long at most."""
    if ends <= starts:
        raise ValidationFailed("`to` must come after `from`.", field="ends")
    if ends - starts > timedelta(days=max_days):
        raise ValidationFailed(f"The range may span at most {max_days} days.", field="ends")

