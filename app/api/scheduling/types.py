"""Object types of availability rules, time off, time slots and availability.

Scheduling builds on people (rules, time off, slots and availability show their professional),
and appointments on scheduling: TimeSlot.appointment names its type lazily and is resolved by
app/api/appointments/queries.py, through `appointment_of_slot` (see app/api/supplied.py).
"""

import datetime as dt
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app import global_ids as ids
from app.api.common import LocalTime, Node
from app.api.context import Info
from app.api.people.types import ProfessionalType
from app.api.supplied import SuppliedResolver
from app.people import service as people_service
from app.scheduling import availability as availability_service
from app.scheduling.models import AvailabilityRule, TimeOff, TimeSlot, TimeSlotStatus, Weekday

if TYPE_CHECKING:
    from app.api.appointments.types import AppointmentType

# Supplied by app/api/appointments/queries.py.
appointment_of_slot: SuppliedResolver[[Info, int], "AppointmentType | None"] = (
    SuppliedResolver("TimeSlot.appointment")
)


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
    ) -> Annotated["AppointmentType", strawberry.lazy("app.api.appointments.types")] | None:
        return await appointment_of_slot(info, self.pk)


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
