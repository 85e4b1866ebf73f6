"""Reading schedules: the `availability` and `timeSlots` queries, rules, time off and slots by
global ID (`node`), and Professional.availabilityRules and timeOff, which people's types leave
to this domain."""

from datetime import date, datetime
from typing import Annotated

import strawberry

from app import global_ids as ids
from app.api.context import Info
from app.api.nodes import node_resolver
from app.api.people.types import availability_rules_of_professional, time_off_of_professional
from app.api.scheduling.types import (
    AvailabilityRuleType,
    ProfessionalAvailabilityType,
    TimeOffType,
    TimeSlotStatusType,
    TimeSlotType,
)
from app.people.models import Professional
from app.scheduling import availability as availability_service
from app.scheduling import service

# ---- fields of Professional (see app/api/people/types.py) -------------------


@availability_rules_of_professional.supply
async def availability_rules_of(
    info: Info, professional: Professional
) -> list[AvailabilityRuleType]:
    """All rules of the professional, active or not, by weekday and start time."""
    await info.context.principal()
    rules = await info.context.loaders.availability_rules_of_professional.load(professional.id)
    return [AvailabilityRuleType.from_model(rule) for rule in rules]


@time_off_of_professional.supply
async def time_off_of(
    info: Info, professional: Professional, starts: datetime, ends: datetime
) -> list[TimeOffType]:
    """Time off of the professional overlapping [from, to)."""
    await info.context.principal()
    found = await info.context.loaders.time_off_of_professional.load(
        (professional.id, starts, ends)
    )
    return [TimeOffType.from_model(time_off) for time_off in found]


# ---- node resolvers ---------------------------------------------------------


@node_resolver("AvailabilityRule")
async def resolve_availability_rule(info: Info, pk: int) -> AvailabilityRuleType:
    principal = await info.context.principal()
    async with info.context.reading() as session:
        return AvailabilityRuleType.from_model(await service.get_rule(session, principal, pk))


@node_resolver("TimeOff")
async def resolve_time_off(info: Info, pk: int) -> TimeOffType:
    principal = await info.context.principal()
    async with info.context.reading() as session:
        return TimeOffType.from_model(await service.get_time_off(session, principal, pk))


@node_resolver("TimeSlot")
async def resolve_time_slot(info: Info, pk: int) -> TimeSlotType:
    principal = await info.context.principal()
    async with info.context.reading() as session:
        return TimeSlotType.from_model(await service.get_slot(session, principal, pk))


# ---- operations -------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(
        description="Bookable slots, grouped by local date. Applies the booking window, the "
        "minimum notice, time off and buffers. `timeZone` (IANA) chooses how days are cut; "
        "default: each professional's own zone. `from`..`to` are inclusive, 62 days at most."
    )
    async def availability(
        self,
        info: Info,
        professional_ids: list[strawberry.ID],
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
        time_zone: str | None = None,
    ) -> list[ProfessionalAvailabilityType]:
        principal = await info.context.principal()
        pks = [
            ids.decode(global_id, "Professional", field="professional_ids")
            for global_id in professional_ids
        ]
        async with info.context.reading() as session:
            results = await availability_service.get_availability(
                session, principal, pks, from_, to, time_zone=time_zone
            )
        # TimeSlot.professional then needs no query.
        info.context.loaders.professional.prime_many(
            {result.professional.id: result.professional for result in results}
        )
        return [ProfessionalAvailabilityType.from_result(result) for result in results]

    @strawberry.field(
        description="All slots of one professional overlapping [from, to), any status unless "
        "filtered (for calendars); 62 days at most."
    )
    async def time_slots(
        self,
        info: Info,
        professional_id: strawberry.ID,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        status: TimeSlotStatusType | None = None,
    ) -> list[TimeSlotType]:
        principal = await info.context.principal()
        pk = ids.decode(professional_id, "Professional", field="professional_id")
        async with info.context.reading() as session:
            slots = await service.list_time_slots(session, principal, pk, from_, to, status)
        return [TimeSlotType.from_model(slot) for slot in slots]
