"""Changing schedules: working hours, time off, and generating, blocking and unblocking slots."""

import strawberry

from app import global_ids as ids
from app.api.context import Info
from app.api.errors import run_mutation
from app.api.inputs import given_changes
from app.api.scheduling.inputs import (
    AvailabilityRulePayload,
    CreateAvailabilityRuleInput,
    CreateTimeOffInput,
    DeletePayload,
    GenerateTimeSlotsInput,
    GenerateTimeSlotsPayload,
    TimeOffPayload,
    TimeSlotPayload,
    UpdateAvailabilityRuleInput,
)
from app.api.scheduling.types import AvailabilityRuleType, TimeOffType, TimeSlotType
from app.scheduling import service


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
                input.professional_id, "Professional", field="professional_id"
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
            rule_id = ids.decode(input.id, "AvailabilityRule", field="rule_id")
            rule = await service.update_rule(session, principal, rule_id, given_changes(input))
            return AvailabilityRulePayload(availability_rule=AvailabilityRuleType.from_model(rule))

        return await run_mutation(info, AvailabilityRulePayload, action,
                                  fields={"rule_id": ["input", "id"]})

    @strawberry.mutation(description="Delete a rule and its future AVAILABLE slots.")
    async def delete_availability_rule(self, info: Info, id: strawberry.ID) -> DeletePayload:
        async def action(session, principal):
            rule_id = ids.decode(id, "AvailabilityRule", field="rule_id")
            await service.delete_rule(session, principal, rule_id)
            return DeletePayload(deleted_id=id)

        return await run_mutation(info, DeletePayload, action, fields={"rule_id": ["id"]})

    @strawberry.mutation(description="Record time off; AVAILABLE slots inside it become BLOCKED.")
    async def create_time_off(self, info: Info, input: CreateTimeOffInput) -> TimeOffPayload:
        async def action(session, principal):
            professional_id = ids.decode(
                input.professional_id, "Professional", field="professional_id"
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
            time_off_id = ids.decode(id, "TimeOff", field="time_off_id")
            await service.delete_time_off(session, principal, time_off_id)
            return DeletePayload(deleted_id=id)

        return await run_mutation(info, DeletePayload, action, fields={"time_off_id": ["id"]})

    @strawberry.mutation(
        description="Create the slots of a professional's rules on local dates from..to "
        "(inclusive). Idempotent: running it again creates nothing."
    )
    async def generate_time_slots(
        self, info: Info, input: GenerateTimeSlotsInput
    ) -> GenerateTimeSlotsPayload:
        async def action(session, principal):
            professional_id = ids.decode(
                input.professional_id, "Professional", field="professional_id"
            )
            created = await service.generate_time_slots(
                session, principal, professional_id, input.from_, input.to
            )
            return GenerateTimeSlotsPayload(created_count=created)

        return await run_mutation(info, GenerateTimeSlotsPayload, action,
                                  fields={"last_day": ["input", "to"]})

    @strawberry.mutation(description="Take an AVAILABLE slot off offer.")
    async def block_time_slot(self, info: Info, id: strawberry.ID) -> TimeSlotPayload:
        async def action(session, principal):
            slot_id = ids.decode(id, "TimeSlot", field="slot_id")
            slot = await service.block_time_slot(session, principal, slot_id)
            return TimeSlotPayload(time_slot=TimeSlotType.from_model(slot))

        return await run_mutation(info, TimeSlotPayload, action, fields={"slot_id": ["id"]})

    @strawberry.mutation(description="Offer a BLOCKED slot again (not while a time off covers it).")
    async def unblock_time_slot(self, info: Info, id: strawberry.ID) -> TimeSlotPayload:
        async def action(session, principal):
            slot_id = ids.decode(id, "TimeSlot", field="slot_id")
            slot = await service.unblock_time_slot(session, principal, slot_id)
            return TimeSlotPayload(time_slot=TimeSlotType.from_model(slot))

        return await run_mutation(info, TimeSlotPayload, action, fields={"slot_id": ["id"]})
