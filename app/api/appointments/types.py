"""Object types of appointments and of what cancelling one would do.

Appointments builds on people, scheduling and credits, and imports their types; it also resolves
their fields that show an appointment (see app/api/appointments/queries.py).
"""

from datetime import date, datetime
from typing import Optional

import strawberry
from strawberry import Private

from app import global_ids as ids
from app.api.common import Connection, LocalTime, Node
from app.api.context import Info
from app.api.credits.types import CreditTransactionType
from app.api.errors import UserErrorCodeType
from app.api.people.types import ProfessionalType, StudentType, UserType
from app.api.scheduling.types import TimeSlotType, WeekdayType
from app.appointments import reading
from app.appointments import series as series_service
from app.appointments.models import (
    Appointment,
    AppointmentSeries,
    AppointmentState,
    SeriesFrequency,
    SeriesSkip,
)
from app.credits import service as credits
from app.errors import UserErrorCode
from app.pagination import count
from app.scheduling.models import Weekday

AppointmentStateType = strawberry.enum(
    AppointmentState,
    name="AppointmentState",
    description="PRE_CONFIRMED -> CONFIRMED -> EXECUTED | NO_SHOW; open ones may be CANCELLED.",
)


@strawberry.type(description="What cancelling now would do, as cancelling itself decides it.")
class CancellationPreview:
    refund_credits: int = strawberry.field(description="Credits that cancelling now would return.")
    refundable_until: datetime = strawberry.field(
        description="A client cancelling until then gets a full refund."
    )
    allowed: bool = strawberry.field(description="Whether the caller may cancel it now.")
    reason: str | None = strawberry.field(
        description="Why cancelling is refused, or why it returns nothing."
    )


@strawberry.type(name="Appointment", description="A client's booking of one time slot.")
class AppointmentType(Node):
    starts_at: datetime = strawberry.field(description="When the session starts.")
    ends_at: datetime = strawberry.field(description="When the session ends.")
    state: AppointmentStateType = strawberry.field(description="Where it is in its lifecycle.")
    credit_cost: int = strawberry.field(description="Credits it cost, as priced at booking.")
    refundable_until: datetime = strawberry.field(
        description="A client cancelling until then gets a full refund (policy at booking)."
    )
    notes: str | None = strawberry.field(description="The client's notes, given when booking.")
    booked_at: datetime = strawberry.field(description="When it was booked.")
    confirmed_at: datetime | None = strawberry.field(description="When it was CONFIRMED.")
    executed_at: datetime | None = strawberry.field(
        description="When it was marked EXECUTED (the session took place)."
    )
    cancelled_at: datetime | None = strawberry.field(description="When it was CANCELLED.")
    cancellation_reason: str | None = strawberry.field(description="Why, as given on cancelling.")
    model: Private[Appointment]

    @classmethod
    def from_model(cls, appointment: Appointment) -> "AppointmentType":
        return cls(
            id=ids.encode("Appointment", appointment.id),
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
            state=appointment.state,
            credit_cost=appointment.credit_cost,
            refundable_until=appointment.refundable_until,
            notes=appointment.notes,
            booked_at=appointment.booked_at,
            confirmed_at=appointment.confirmed_at,
            executed_at=appointment.executed_at,
            cancelled_at=appointment.cancelled_at,
            cancellation_reason=appointment.cancellation_reason,
            model=appointment,
        )

    @strawberry.field(description="Whom the session is with.")
    async def professional(self, info: Info) -> ProfessionalType:
        loaded = await info.context.loaders.professional.load(self.model.professional_id)
        return ProfessionalType.from_model(loaded)

    @strawberry.field(description="Who booked and pays: the CLIENT.")
    async def client(self, info: Info) -> UserType:
        return UserType.from_model(await info.context.loaders.user.load(self.model.client_id))

    @strawberry.field(description="Whom the client booked for, if not themself.")
    async def student(self, info: Info) -> StudentType | None:
        if self.model.student_id is None:
            return None
        return StudentType.from_model(await info.context.loaders.student.load(self.model.student_id))

    @strawberry.field(description="The slot the appointment holds (or held, once cancelled).")
    async def time_slot(self, info: Info) -> TimeSlotType | None:
        slot = await info.context.loaders.time_slot.load(self.model.time_slot_id)
        return None if slot is None else TimeSlotType.from_model(slot)

    @strawberry.field(description="Visible to the professional and ADMIN only.")
    async def private_notes(self, info: Info) -> str | None:
        principal = await info.context.principal()
        professional = await info.context.loaders.professional.load(self.model.professional_id)
        if not reading.can_see_private_notes(principal, professional):
            return None
        return self.model.private_notes

    @strawberry.field(description="Who cancelled it; null unless CANCELLED by a person.")
    async def cancelled_by(self, info: Info) -> UserType | None:
        if self.model.cancelled_by_id is None:
            return None
        return UserType.from_model(await info.context.loaders.user.load(self.model.cancelled_by_id))

    @strawberry.field(description="What the caller cancelling now would get back.")
    async def cancellation_preview(self, info: Info) -> CancellationPreview:
        principal = await info.context.principal()
        decision = reading.cancellation_preview(principal, self.model)
        return CancellationPreview(
            refund_credits=decision.refund_credits,
            refundable_until=self.model.refundable_until,
            allowed=decision.allowed,
            reason=decision.reason,
        )

    @strawberry.field(description="The standing appointment this is an occurrence of, if any.")
    async def series(self, info: Info) -> Optional["AppointmentSeriesType"]:
        if self.model.series_id is None:
            return None
        return AppointmentSeriesType.from_model(
            await info.context.loaders.series.load(self.model.series_id))

    @strawberry.field(description="Ledger entries of this appointment, for those who see credits.")
    async def credit_transactions(self, info: Info) -> list[CreditTransactionType]:
        principal = await info.context.principal()
        if not credits.can_see_credits_of(principal, self.model.client_id):
            return []
        entries = await info.context.loaders.credit_transactions_of_appointment.load(
            self.model.id
        )
        return [CreditTransactionType.from_model(entry) for entry in entries]


SeriesFrequencyType = strawberry.enum(
    SeriesFrequency, name="SeriesFrequency",
    description="How often a series repeats: every week, or every other week.")


@strawberry.type(name="AppointmentSeries", description=(
    "A standing appointment: the same local weekday and time with the same professional every "
    "week (or every other week), in the professional's time zone."))
class AppointmentSeriesType(Node):
    frequency: SeriesFrequencyType = strawberry.field(description="Every week or every other.")
    weekday: WeekdayType = strawberry.field(description="The local weekday of every occurrence.")
    start_time: LocalTime = strawberry.field(description="The local start of every occurrence.")
    time_zone: str = strawberry.field(description="The professional's zone the times are in.")
    until: date | None = strawberry.field(
        description="Last date an occurrence may fall on; null with a null `count`: open-ended.")
    count: int | None = strawberry.field(
        description="Number of occurrences asked for; null: bounded by `until` or open-ended.")
    active: bool = strawberry.field(
        description="True while occurrences remain to be booked; false once cancelled, or once "
                    "every occurrence has been booked or skipped.")
    created_at: datetime = strawberry.field(description="When it was booked.")
    cancelled_at: datetime | None = strawberry.field(description="When it was cancelled.")
    model: Private[AppointmentSeries]

    @classmethod
    def from_model(cls, series: AppointmentSeries) -> "AppointmentSeriesType":
        return cls(
            id=ids.encode("AppointmentSeries", series.id),
            frequency=SeriesFrequency.of(series.interval_weeks),
            weekday=Weekday.of(series.first_date),
            start_time=series.start_time,
            time_zone=series.time_zone,
            until=series.until,
            count=series.count,
            active=series.active,
            created_at=series.created_at,
            cancelled_at=series.cancelled_at,
            model=series,
        )

    @strawberry.field(description="Who the series is booked for and pays: the CLIENT.")
    async def client(self, info: Info) -> UserType:
        return UserType.from_model(await info.context.loaders.user.load(self.model.client_id))

    @strawberry.field(description="Whom the client booked for, if not themself.")
    async def student(self, info: Info) -> StudentType | None:
        if self.model.student_id is None:
            return None
        return StudentType.from_model(await info.context.loaders.student.load(self.model.student_id))

    @strawberry.field(description="Whom the sessions are with.")
    async def professional(self, info: Info) -> ProfessionalType:
        loaded = await info.context.loaders.professional.load(self.model.professional_id)
        return ProfessionalType.from_model(loaded)

    @strawberry.field(description="Its occurrences booked so far, earliest first (`first` <= 100).")
    async def appointments(self, info: Info, first: int | None = 50,
                           after: str | None = None) -> Connection[AppointmentType]:
        principal = await info.context.principal()
        async with info.context.reading() as session:
            page = await series_service.list_occurrences(session, principal, self.model.id,
                                                         first=first, after=after)

        async def total() -> int:
            async with info.context.reading() as session:
                return await count(session, series_service.occurrences_query(
                    session, principal, self.model.id))

        return Connection.from_page(page, AppointmentType.from_model, total)


@strawberry.type(name="SeriesOccurrenceSkip",
                 description="An occurrence of a series that could not be booked, and why.")
class SeriesOccurrenceSkipType:
    starts_at: datetime = strawberry.field(description="When it would have started.")
    code: UserErrorCodeType = strawberry.field(
        description="SLOT_UNAVAILABLE, INSUFFICIENT_CREDITS or OUTSIDE_BOOKING_WINDOW.")
    message: str = strawberry.field(description="Why, for a person.")

    @classmethod
    def from_model(cls, skip: SeriesSkip) -> "SeriesOccurrenceSkipType":
        return cls(starts_at=skip.starts_at, code=UserErrorCode(skip.code), message=skip.message)
