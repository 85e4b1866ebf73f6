"""GraphQL types and operations of availability rules, time off, time slots and availability."""

import datetime as dt
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app.api import ids

if TYPE_CHECKING:
    from app.api.types.appointments import AppointmentType
from app.api.context import Info
from app.api.errors import UserErrorType, run_mutation
from app.api.inputs import given_changes
from app.api.nodes import node_resolver
from app.api.types.common import USER_ERRORS, LocalTime, Node
from app.api.types.people import ProfessionalType
from app.people import service as people_service
from app.people.models import Professional
from app.scheduling import availability as availability_service
from app.scheduling import service
from app.scheduling.models import AvailabilityRule, TimeOff, TimeSlot, TimeSlotStatus, Weekday

WeekdayType = strawberry.enum(Weekday, name="Weekday", description="A day of the week.")
TimeSlotStatusType = strawberry.enum(
    TimeSlotStatus, name="TimeSlotStatus",
    description="AVAILABLE: bookable; BOOKED: held by an appointment; BLOCKED: taken off offer "
    "(by hand or by time off).",
)


async def _professional(info: Info, professional_pk: int) -> ProfessionalType:
    return ProfessionalType.from_model(
        await info.context.loaders.professional.load(professional_pk)
    )


@strawberry.type(
    name="AvailabilityRule",
    description="Weekly recurring working hours, in the professional's local wall-clock time.",
)
class AvailabilityRuleType(Node):
    weekday: WeekdayType = strawberry.field(description="The day of the week it repeats on.")
    start_time: LocalTime = strawberry.field(description="Local start of the working hours.")
    end_time: LocalTime = strawberry.field(description="Exclusive; after startTime, same day.")
    effective_from: date | None = strawberry.field(
        description="First date it applies; null: always."
    )
    effective_until: date | None = strawberry.field(
        description="Last date it applies; null: no end."
    )
    active: bool = strawberry.field(description="Inactive rules create no slots.")
    professional_pk: Private[int]

    @classmethod
    def from_model(cls, rule: AvailabilityRule) -> "AvailabilityRuleType":
        return cls(
            id=ids.encode("AvailabilityRule", rule.id),
            weekday=rule.weekday,
            start_time=rule.start_time,
            end_time=rule.end_time,
            effective_from=rule.effective_from,
            effective_until=rule.effective_until,
            active=rule.active,
            professional_pk=rule.professional_id,
        )

    @strawberry.field(description="Whose working hours these are.")
    async def professional(self, info: Info) -> ProfessionalType:
        return await _professional(info, self.professional_pk)


@strawberry.type(
    name="TimeOff",
    description="A period when a professional is away; no slots are offered inside it.",
)
class TimeOffType(Node):
    starts_at: datetime = strawberry.field(description="Start of the absence.")
    ends_at: datetime = strawberry.field(description="End of the absence (exclusive).")
    model: Private[TimeOff]

    @classmethod
    def from_model(cls, time_off: TimeOff) -> "TimeOffType":
        return cls(
            id=ids.encode("TimeOff", time_off.id),
            starts_at=time_off.starts_at,
            ends_at=time_off.ends_at,
            model=time_off,
        )

    @strawberry.field(description="Who is away.")
    async def professional(self, info: Info) -> ProfessionalType:
        return await _professional(info, self.model.professional_id)

    @strawberry.field(description="Visible to the professional, STAFF and ADMIN only.")
    async def reason(self, info: Info) -> str | None:
        principal = await info.context.principal()
        if self.model.reason is None:
            return None
        professional = await info.context.loaders.professional.load(self.model.professional_id)
        if not people_service.can_see_private_profile(principal, professional):
            return None
        return self.model.reason


@strawberry.type(name="TimeSlot", description="A concrete period a professional can be booked for.")
class TimeSlotType(Node):
    starts_at: datetime = strawberry.field(description="When the session starts.")
    ends_at: datetime = strawberry.field(description="When the session ends (before any buffer).")
    status: TimeSlotStatusType = strawberry.field(description="Whether it can be booked now.")
    pk: Private[int]
    professional_pk: Private[int]

    @classmethod
    def from_model(cls, slot: TimeSlot) -> "TimeSlotType":
        return cls(
            id=ids.encode("TimeSlot", slot.id),
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            status=slot.status,
            pk=slot.id,
            professional_pk=slot.professional_id,
        )

    @strawberry.field(description="Whom the slot is with.")
    async def professional(self, info: Info) -> ProfessionalType:
        return await _professional(info, self.professional_pk)

    @strawberry.field(description="Visible to those who may see the appointment.")
    async def appointment(
        self, info: Info
    ) -> Annotated["AppointmentType", strawberry.lazy("app.api.types.appointments")] | None:
        from app.api.types.appointments import slot_appointment

        return await slot_appointment(info, self.pk)


@strawberry.type(
    name="AvailabilityDay", description="Bookable slots of one professional on one local date."
)
class AvailabilityDayType:
    # `dt.date`: the field's own name would shadow the type inside the class.
    date: dt.date = strawberry.field(description="Local date in the availability's time zone.")
    slots: list[TimeSlotType] = strawberry.field(
        description="The AVAILABLE slots starting that day, in order."
    )


@strawberry.type(name="ProfessionalAvailability",
                 description="One professional's bookable slots over the asked dates.")
class ProfessionalAvailabilityType:
    professional: ProfessionalType = strawberry.field(description="Whom the slots are with.")
    time_zone: str = strawberry.field(description="The IANA zone the days are cut in.")
    days: list[AvailabilityDayType] = strawberry.field(
        description="Every date of the asked range, in order; a day may have no slots."
    )

    @classmethod
    def from_result(
        cls, result: availability_service.ProfessionalAvailability
    ) -> "ProfessionalAvailabilityType":
        return cls(
            professional=ProfessionalType.from_model(result.professional),
            time_zone=result.time_zone,
            days=[
                AvailabilityDayType(
                    date=day.date, slots=[TimeSlotType.from_model(slot) for slot in day.slots]
                )
                for day in result.days
            ],
        )


# ---- fields of Professional (see ProfessionalType) --------------------------


async def availability_rules_of(
    info: Info, professional: Professional
) -> list[AvailabilityRuleType]:
    """All rules of the professional, active or not, by weekday and start time."""
    await info.context.principal()
    rules = await info.context.loaders.availability_rules_of_professional.load(professional.id)
    return [AvailabilityRuleType.from_model(rule) for rule in rules]


async def time_off_of(
    info: Info, professional: Professional, starts: datetime, ends: datetime
) -> list[TimeOffType]:
    """Time off of the professional overlapping [from, to)."""
    await info.context.principal()
    service.check_instant_range(starts, ends, service.MAX_TIME_OFF_RANGE_DAYS)
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


# ---- inputs and payloads ----------------------------------------------------


@strawberry.input(description="Weekly working hours, in the professional's own time zone.")
class CreateAvailabilityRuleInput:
    professional_id: strawberry.ID = strawberry.field(description="Whose hours.")
    weekday: WeekdayType = strawberry.field(description="The day of the week it repeats on.")
    start_time: LocalTime = strawberry.field(description="Local start.")
    end_time: LocalTime = strawberry.field(description="Local end; after startTime, same day.")
    effective_from: date | None = strawberry.field(
        default=None, description="First date it applies; default: always."
    )
    effective_until: date | None = strawberry.field(
        default=None, description="Last date it applies; default: no end."
    )


@strawberry.input(description="Changes to a rule; omitted fields stay as they are.")
class UpdateAvailabilityRuleInput:
    id: strawberry.ID = strawberry.field(description="The rule to change.")
    weekday: WeekdayType | None = strawberry.field(
        default=strawberry.UNSET, description="The day of the week it repeats on."
    )
    start_time: LocalTime | None = strawberry.field(
        default=strawberry.UNSET, description="Local start."
    )
    end_time: LocalTime | None = strawberry.field(
        default=strawberry.UNSET, description="Local end; after startTime, same day."
    )
    effective_from: date | None = strawberry.field(
        default=strawberry.UNSET, description="null: applies from any date."
    )
    effective_until: date | None = strawberry.field(
        default=strawberry.UNSET, description="null: applies with no end."
    )
    active: bool | None = strawberry.field(
        default=strawberry.UNSET, description="false: creates no more slots."
    )


@strawberry.type(description="The rule as saved, or why not.")
class AvailabilityRulePayload:
    availability_rule: AvailabilityRuleType | None = strawberry.field(
        default=None, description="The rule as saved; null when refused."
    )
    user_errors: list[UserErrorType] = strawberry.field(
        default_factory=list, description=USER_ERRORS
    )


@strawberry.type(description="What was deleted, or why not.")
class DeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(
        default=None, description="The ID of what was deleted; null when refused."
    )
    user_errors: list[UserErrorType] = strawberry.field(
        default_factory=list, description=USER_ERRORS
    )


@strawberry.input(description="A period a professional is away.")
class CreateTimeOffInput:
    professional_id: strawberry.ID = strawberry.field(description="Who is away.")
    starts_at: datetime = strawberry.field(description="Start of the absence.")
    ends_at: datetime = strawberry.field(description="End of the absence (exclusive).")
    reason: str | None = strawberry.field(
        default=None, description="Shown to the professional, STAFF and ADMIN only."
    )


@strawberry.type(description="The time off as saved, or why not.")
class TimeOffPayload:
    time_off: TimeOffType | None = strawberry.field(
        default=None, description="The time off as saved; null when refused."
    )
    booked_time_slots: list[TimeSlotType] = strawberry.field(
        default_factory=list,
        description="Booked slots inside the time off: they stay booked and need attention.",
    )
    user_errors: list[UserErrorType] = strawberry.field(
        default_factory=list, description=USER_ERRORS
    )


@strawberry.input(description="Whose slots to create, on which local dates.")
class GenerateTimeSlotsInput:
    professional_id: strawberry.ID = strawberry.field(description="Whose rules to apply.")
    from_: date = strawberry.field(name="from", description="First local date, inclusive.")
    to: date = strawberry.field(description="Last local date, inclusive (at most 366 days).")


@strawberry.type(description="How many slots were created, or why none.")
class GenerateTimeSlotsPayload:
    created_count: int = strawberry.field(
        default=0, description="New slots; 0 when they all existed already."
    )
    user_errors: list[UserErrorType] = strawberry.field(
        default_factory=list, description=USER_ERRORS
    )


@strawberry.type(description="The slot as saved, or why not.")
class TimeSlotPayload:
    time_slot: TimeSlotType | None = strawberry.field(
        default=None, description="The slot as saved; null when refused."
    )
    user_errors: list[UserErrorType] = strawberry.field(
        default_factory=list, description=USER_ERRORS
    )


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
            ids.decode(global_id, "Professional", field=["professionalIds"])
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
        pk = ids.decode(professional_id, "Professional", field=["professionalId"])
        async with info.context.reading() as session:
            slots = await service.list_time_slots(session, principal, pk, from_, to, status)
        return [TimeSlotType.from_model(slot) for slot in slots]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Add weekly working hours (STAFF, ADMIN, or the professional)."
    )
    async def create_availability_rule(
        self, info: Info, input: CreateAvailabilityRuleInput
    ) -> AvailabilityRulePayload:
        async def action(session, principal):
            professional_id = ids.decode(
                input.professional_id, "Professional", field=["input", "professionalId"]
            )
            rule = await service.create_rule(
                session,
                principal,
                professional_id,
                weekday=input.weekday,
                start_time=input.start_time,
                end_time=input.end_time,
                effective_from=input.effective_from,
                effective_until=input.effective_until,
            )
            return AvailabilityRulePayload(availability_rule=AvailabilityRuleType.from_model(rule))

        return await run_mutation(info, AvailabilityRulePayload, action)

    @strawberry.mutation(
        description="Change working hours; future AVAILABLE slots that no longer fit are removed."
    )
    async def update_availability_rule(
        self, info: Info, input: UpdateAvailabilityRuleInput
    ) -> AvailabilityRulePayload:
        async def action(session, principal):
            rule_id = ids.decode(input.id, "AvailabilityRule", field=["input", "id"])
            rule = await service.update_rule(session, principal, rule_id, given_changes(input))
            return AvailabilityRulePayload(availability_rule=AvailabilityRuleType.from_model(rule))

        return await run_mutation(info, AvailabilityRulePayload, action)

    @strawberry.mutation(description="Delete a rule and its future AVAILABLE slots.")
    async def delete_availability_rule(self, info: Info, id: strawberry.ID) -> DeletePayload:
        async def action(session, principal):
            rule_id = ids.decode(id, "AvailabilityRule", field=["id"])
            await service.delete_rule(session, principal, rule_id)
            return DeletePayload(deleted_id=id)

        return await run_mutation(info, DeletePayload, action)

    @strawberry.mutation(description="Record time off; AVAILABLE slots inside it become BLOCKED.")
    async def create_time_off(self, info: Info, input: CreateTimeOffInput) -> TimeOffPayload:
        async def action(session, principal):
            professional_id = ids.decode(
                input.professional_id, "Professional", field=["input", "professionalId"]
            )
            created = await service.create_time_off(
                session,
                principal,
                professional_id,
                starts_at=input.starts_at,
                ends_at=input.ends_at,
                reason=input.reason,
            )
            return TimeOffPayload(
                time_off=TimeOffType.from_model(created.time_off),
                booked_time_slots=[TimeSlotType.from_model(slot) for slot in created.booked_slots],
            )

        return await run_mutation(info, TimeOffPayload, action)

    @strawberry.mutation(
        description="Delete time off; the slots it blocked become AVAILABLE again."
    )
    async def delete_time_off(self, info: Info, id: strawberry.ID) -> DeletePayload:
        async def action(session, principal):
            time_off_id = ids.decode(id, "TimeOff", field=["id"])
            await service.delete_time_off(session, principal, time_off_id)
            return DeletePayload(deleted_id=id)

        return await run_mutation(info, DeletePayload, action)

    @strawberry.mutation(
        description="Create the slots of a professional's rules on local dates from..to "
        "(inclusive). Idempotent: running it again creates nothing."
    )
    async def generate_time_slots(
        self, info: Info, input: GenerateTimeSlotsInput
    ) -> GenerateTimeSlotsPayload:
        async def action(session, principal):
            professional_id = ids.decode(
                input.professional_id, "Professional", field=["input", "professionalId"]
            )
            created = await service.generate_time_slots(
                session, principal, professional_id, input.from_, input.to
            )
            return GenerateTimeSlotsPayload(created_count=created)

        return await run_mutation(info, GenerateTimeSlotsPayload, action)

    @strawberry.mutation(description="Take an AVAILABLE slot off offer.")
    async def block_time_slot(self, info: Info, id: strawberry.ID) -> TimeSlotPayload:
        async def action(session, principal):
            slot_id = ids.decode(id, "TimeSlot", field=["id"])
            slot = await service.block_time_slot(session, principal, slot_id)
            return TimeSlotPayload(time_slot=TimeSlotType.from_model(slot))

        return await run_mutation(info, TimeSlotPayload, action)

    @strawberry.mutation(description="Offer a BLOCKED slot again (not while a time off covers it).")
    async def unblock_time_slot(self, info: Info, id: strawberry.ID) -> TimeSlotPayload:
        async def action(session, principal):
            slot_id = ids.decode(id, "TimeSlot", field=["id"])
            slot = await service.unblock_time_slot(session, principal, slot_id)
            return TimeSlotPayload(time_slot=TimeSlotType.from_model(slot))

        return await run_mutation(info, TimeSlotPayload, action)
