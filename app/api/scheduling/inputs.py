"""Inputs and payloads of the scheduling mutations: working hours, time off and time slots."""

from datetime import date, datetime

import strawberry

from app.api.common import USER_ERRORS, LocalTime
from app.api.errors import UserErrorType
from app.api.scheduling.types import AvailabilityRuleType, TimeOffType, TimeSlotType, WeekdayType


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
