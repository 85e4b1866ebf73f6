"""GraphQL types and operations of appointments: booking, lifecycle, cancellation, reschedule."""

from datetime import datetime

import strawberry
from strawberry import Private

from app.api import ids
from app.api.context import Info
from app.api.errors import UserErrorType, run_mutation
from app.api.nodes import node_resolver
from app.api.types.common import IDEMPOTENCY_KEY, USER_ERRORS, Connection, Node
from app.api.types.credits import CreditBalanceType, CreditTransactionType
from app.api.types.people import ProfessionalType, StudentType, UserType
from app.api.types.scheduling import TimeSlotType
from app.appointments import service
from app.appointments.models import Appointment, AppointmentState
from app.appointments.service import AppointmentChange
from app.auth import Principal
from app.credits import service as credits
from app.pagination import count

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
        if not service.can_see_private_notes(principal, professional):
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
        decision = service.cancellation_preview(principal, self.model)
        return CancellationPreview(
            refund_credits=decision.refund_credits,
            refundable_until=self.model.refundable_until,
            allowed=decision.allowed,
            reason=decision.reason,
        )

    @strawberry.field(description="Ledger entries of this appointment, for those who see credits.")
    async def credit_transactions(self, info: Info) -> list[CreditTransactionType]:
        principal = await info.context.principal()
        if not credits.can_see_credits_of(principal, self.model.client_id):
            return []
        entries = await info.context.loaders.credit_transactions_of_appointment.load(
            self.model.id
        )
        return [CreditTransactionType.from_model(entry) for entry in entries]


async def slot_appointment(info: Info, slot_pk: int) -> AppointmentType | None:
    """`TimeSlot.appointment`: the live appointment, if the caller may see it."""
    appointment = await info.context.loaders.live_appointment_of_slot.load(slot_pk)
    if appointment is None:
        return None
    principal = await info.context.principal()
    async with info.context.reading() as session:
        visible = await service.can_see(session, principal, appointment)
    return AppointmentType.from_model(appointment) if visible else None


async def transaction_appointment(info: Info, appointment_pk: int) -> AppointmentType | None:
    """`CreditTransaction.appointment`: whoever sees the entry sees the client's appointment."""
    appointment = await info.context.loaders.appointment.load(appointment_pk)
    return None if appointment is None else AppointmentType.from_model(appointment)


@node_resolver("Appointment")
async def resolve_appointment(info: Info, pk: int) -> AppointmentType:
    principal = await info.context.principal()
    async with info.context.reading() as session:
        return AppointmentType.from_model(await service.get_appointment(session, principal, pk))


# ---- inputs and payloads ----------------------------------------------------------


@strawberry.input(description="Narrows `appointments`; every given condition must hold.")
class AppointmentFilter:
    professional_id: strawberry.ID | None = strawberry.field(
        default=None, description="With this professional."
    )
    client_id: strawberry.ID | None = strawberry.field(
        default=None, description="Booked by this client."
    )
    states: list[AppointmentStateType] | None = strawberry.field(
        default=None, description="In any of these states."
    )
    from_: datetime | None = strawberry.field(default=None, name="from",
                                              description="Starting at or after.")
    to: datetime | None = strawberry.field(default=None, description="Starting before.")


@strawberry.input(description="The slot to book, and for whom.")
class BookTimeSlotInput:
    time_slot_id: strawberry.ID = strawberry.field(description="An AVAILABLE slot.")
    client_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Default: the caller. Only STAFF, ADMIN and the slot's PROFESSIONAL may "
        "book for someone else.",
    )
    student_id: strawberry.ID | None = strawberry.field(
        default=None, description="A student of the client, when booking for them."
    )
    notes: str | None = strawberry.field(default=None, description="For the professional.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="Everything a booking changed, for one round trip; or why not.")
class BookTimeSlotPayload:
    appointment: AppointmentType | None = strawberry.field(
        default=None, description="The new PRE_CONFIRMED appointment; null when refused."
    )
    credit_transaction: CreditTransactionType | None = strawberry.field(
        default=None,
        description="The debit that paid for it; null for a caller who may not see the client's "
        "credits (a PROFESSIONAL).",
    )
    credit_balance: CreditBalanceType | None = strawberry.field(
        default=None,
        description="The client's balance after the debit; null for a caller who may not see it.",
    )
    user_errors: list[UserErrorType] = strawberry.field(
        default_factory=list, description=USER_ERRORS
    )


@strawberry.input(description="The appointment to move to its next state.")
class AppointmentActionInput:
    appointment_id: strawberry.ID = strawberry.field(description="The appointment.")
    notes: str | None = strawberry.field(
        default=None, description="Saved as private notes when the professional or ADMIN acts."
    )


@strawberry.input(description="The appointment to cancel (see its cancellationPreview first).")
class CancelAppointmentInput:
    appointment_id: strawberry.ID = strawberry.field(description="A PRE_CONFIRMED or CONFIRMED "
                                                                 "appointment.")
    reason: str | None = strawberry.field(default=None, description="Why; kept on it.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="The appointment and the slot to move it to.")
class RescheduleAppointmentInput:
    appointment_id: strawberry.ID = strawberry.field(description="An open appointment.")
    new_time_slot_id: strawberry.ID = strawberry.field(
        description="An AVAILABLE slot of the same professional."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The appointment after the action, with any credit movement; "
                             "or why not.")
class AppointmentPayload:
    appointment: AppointmentType | None = strawberry.field(
        default=None, description="The appointment as saved; null when refused."
    )
    credit_transaction: CreditTransactionType | None = strawberry.field(
        default=None,
        description="Set when the action moved credits (e.g. a cancellation refund) and the "
        "caller may see the client's credits.",
    )
    credit_balance: CreditBalanceType | None = strawberry.field(
        default=None,
        description="The client's balance, when credits moved and the caller may see it.",
    )
    user_errors: list[UserErrorType] = strawberry.field(
        default_factory=list, description=USER_ERRORS
    )


def _payload(payload_type, change: AppointmentChange, principal: Principal):
    # A professional may book or cancel for a client without seeing the client's credits
    # (docs/rules.md: roles): the credit fields are then null, as `creditBalance` would refuse them.
    shows_credits = credits.can_see_credits_of(principal, change.appointment.client_id)
    return payload_type(
        appointment=AppointmentType.from_model(change.appointment),
        credit_transaction=None if change.transaction is None or not shows_credits
        else CreditTransactionType.from_model(change.transaction),
        credit_balance=None if change.balance is None or not shows_credits
        else CreditBalanceType.from_model(change.balance),
    )


def _optional_id(global_id: str | None, type_name: str, field: list[str]) -> int | None:
    return None if global_id is None else ids.decode(global_id, type_name, field=field)


# ---- operations -------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(description="Appointments the caller may see, earliest first (`first` <= 100).")
    async def appointments(
        self,
        info: Info,
        filter: AppointmentFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AppointmentType]:
        principal = await info.context.principal()
        filters = {}
        if filter is not None:
            filters = {
                "professional_id": _optional_id(filter.professional_id, "Professional",
                                                ["filter", "professionalId"]),
                "client_id": _optional_id(filter.client_id, "User", ["filter", "clientId"]),
                "states": filter.states,
                "starts_from": filter.from_,
                "starts_before": filter.to,
            }
        async with info.context.reading() as session:
            page = await service.list_appointments(session, principal, first=first, after=after,
                                                   **filters)

        async def total() -> int:
            async with info.context.reading() as session:
                return await count(session, service.appointments_query(session, principal,
                                                                       **filters))

        return Connection.from_page(page, AppointmentType.from_model, total)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Book an AVAILABLE slot: PRE_CONFIRMED, credits debited.")
    async def book_time_slot(self, info: Info, input: BookTimeSlotInput) -> BookTimeSlotPayload:
        async def action(session, principal):
            change = await service.book_time_slot(
                session, principal,
                slot_id=ids.decode(input.time_slot_id, "TimeSlot", field=["input", "timeSlotId"]),
                client_id=_optional_id(input.client_id, "User", ["input", "clientId"]),
                student_id=_optional_id(input.student_id, "Student", ["input", "studentId"]),
                notes=input.notes,
                idempotency_key=input.idempotency_key,
            )
            return _payload(BookTimeSlotPayload, change, principal)

        return await run_mutation(info, BookTimeSlotPayload, action)

    @strawberry.mutation(description="PRE_CONFIRMED -> CONFIRMED, before the start time (an "
                                     "unconfirmed booking expires at its start).")
    async def confirm_appointment(
        self, info: Info, input: AppointmentActionInput
    ) -> AppointmentPayload:
        return await _act(info, input, service.confirm_appointment)

    @strawberry.mutation(description="Cancel, free the slot and refund by the policy.")
    async def cancel_appointment(
        self, info: Info, input: CancelAppointmentInput
    ) -> AppointmentPayload:
        async def action(session, principal):
            change = await service.cancel_appointment(
                session, principal, _appointment_pk(input.appointment_id),
                reason=input.reason, idempotency_key=input.idempotency_key,
            )
            return _payload(AppointmentPayload, change, principal)

        return await run_mutation(info, AppointmentPayload, action)

    @strawberry.mutation(description="Move to another AVAILABLE slot of the same professional, "
                                     "before the start time.")
    async def reschedule_appointment(
        self, info: Info, input: RescheduleAppointmentInput
    ) -> AppointmentPayload:
        async def action(session, principal):
            change = await service.reschedule_appointment(
                session, principal, _appointment_pk(input.appointment_id),
                new_slot_id=ids.decode(input.new_time_slot_id, "TimeSlot",
                                       field=["input", "newTimeSlotId"]),
                idempotency_key=input.idempotency_key,
            )
            return _payload(AppointmentPayload, change, principal)

        return await run_mutation(info, AppointmentPayload, action)

    @strawberry.mutation(description="CONFIRMED -> EXECUTED, after the start time.")
    async def execute_appointment(
        self, info: Info, input: AppointmentActionInput
    ) -> AppointmentPayload:
        return await _act(info, input, service.execute_appointment)

    @strawberry.mutation(description="CONFIRMED -> NO_SHOW, after the start time; credits are kept.")
    async def mark_no_show(self, info: Info, input: AppointmentActionInput) -> AppointmentPayload:
        return await _act(info, input, service.mark_no_show)


def _appointment_pk(global_id: str) -> int:
    return ids.decode(global_id, "Appointment", field=["input", "appointmentId"])


async def _act(info: Info, input: AppointmentActionInput, transition) -> AppointmentPayload:
    async def action(session, principal):
        change = await transition(session, principal, _appointment_pk(input.appointment_id),
                                  notes=input.notes)
        return _payload(AppointmentPayload, change, principal)

    return await run_mutation(info, AppointmentPayload, action)
