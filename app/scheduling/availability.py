"""The bookable slots of professionals, grouped by local date (docs/rules.md: slots, `availability`).

A fixed number of statements whatever the number of professionals or slots: the
professionals, and one query for every slot (which reads the organization's notice and
window itself). The hot road (`get_availability_json`) needs one statement, which also
checks the professionals and answers with the JSON the client asked for.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Row, Select
from sqlalchemy.ext.asyncio import AsyncSession

from app import validation
from app.auth import Principal
from app.clock import utc_now
from app.errors import NotFound, ValidationFailed
from app.people import repository as people
from app.people.models import Professional
from app.scheduling import repository
from app.scheduling.generation import local_day_bounds
from app.scheduling.service import MAX_SLOT_RANGE_DAYS, check_date_range

MAX_PROFESSIONALS = 100


@dataclass(frozen=True, slots=True)
class AvailabilityDay:
    date: date  # local date in the availability's zone
    # Rows with a TimeSlot's id, professional_id, starts_at, ends_at and status.
    slots: list[Row] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ProfessionalAvailability:
    professional: Professional
    time_zone: str
    days: list[AvailabilityDay]


async def get_availability(
    session: AsyncSession,
    principal: Principal,
    professional_ids: Sequence[int],
    first_day: date,
    last_day: date,
    *,
    time_zone: str | None = None,
    now: datetime | None = None,
) -> list[ProfessionalAvailability]:
    """Bookable slots of each professional on the local dates first_day..last_day (inclusive).

    Bookable: AVAILABLE, outside any time off, starting no sooner than the
    minimum notice and no later than the booking window from `now`. Days are
    cut in `time_zone`, or in each professional's own zone; every date of the
    range is listed, with no slots if none are bookable. Inactive professionals
    offer nothing. Every role may ask.
    """
    wanted, zone = _checked(professional_ids, first_day, last_day, time_zone)
    found = {
        professional.id: professional
        for professional in await people.get_professionals(session, wanted)
    }
    if any(professional_id not in found for professional_id in wanted):
        # Another organization's professional looks exactly like a missing one.
        raise NotFound("No such professional.", field="professional_ids")
    professionals = [found[professional_id] for professional_id in wanted]

    zones = {p.id: zone or ZoneInfo(p.time_zone) for p in professionals}
    windows = [
        (p.id, *local_day_bounds(first_day, last_day, zones[p.id]))
        for p in professionals
        if p.active
    ]
    slots = await repository.get_bookable_slots(session, windows, now=utc_now(now))
    return _by_local_date(professionals, zones, slots, first_day, last_day)


async def get_availability_json(
    session: AsyncSession,
    principal: Principal,
    statement: Select,
    professional_ids: Sequence[int],
    first_day: date,
    last_day: date,
    *,
    time_zone: str | None = None,
    now: datetime | None = None,
) -> str:
    """What `get_availability` answers, as JSON: `statement` is the
    `repository.AvailabilityJson.statement()` of what the client selected, built once.

    The same checks refuse the same requests; a professional not found is NOT_FOUND here
    too, found by the statement itself.
    """
    wanted, zone = _checked(professional_ids, first_day, last_day, time_zone)
    answer = await repository.get_bookable_slots_json(
        session, statement, wanted, first_day, last_day, zone=None if zone is None else zone.key,
        now=utc_now(now))
    if answer is None:
        raise NotFound("No such professional.", field="professional_ids")
    return answer


def _checked(professional_ids: Sequence[int], first_day: date, last_day: date,
             time_zone: str | None) -> tuple[list[int], ZoneInfo | None]:
    """The professionals asked for (unique, in the order asked) and the zone, once the
    range, the zone and their number are checked."""
    check_date_range(first_day, last_day, MAX_SLOT_RANGE_DAYS, "last_day")
    zone = None if time_zone is None else validation.zone(time_zone, "time_zone")
    wanted = list(dict.fromkeys(professional_ids))
    if len(wanted) > MAX_PROFESSIONALS:
        raise ValidationFailed(
            f"Ask for at most {MAX_PROFESSIONALS} professionals at once.", field="professional_ids"
        )
    return wanted, zone


def _by_local_date(
    professionals: list[Professional],
    zones: dict[int, ZoneInfo],
    slots: list[Row],
    first_day: date,
    last_day: date,
) -> list[ProfessionalAvailability]:
    dates = [
        first_day + timedelta(days=offset) for offset in range((last_day - first_day).days + 1)
    ]
    days = {p.id: {day: AvailabilityDay(date=day) for day in dates} for p in professionals}
    for slot in slots:  # in time order
        local_date = slot.starts_at.astimezone(zones[slot.professional_id]).date()
        day = days[slot.professional_id].get(local_date)
        if day is not None:
            day.slots.append(slot)
    return [
        ProfessionalAvailability(
            professional=p, time_zone=zones[p.id].key, days=list(days[p.id].values())
        )
        for p in professionals
    ]
