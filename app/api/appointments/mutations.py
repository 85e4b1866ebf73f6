"""Changing appointments: booking, confirming, cancelling, rescheduling, and marking them
executed or no-show."""

import strawberry

from app import global_ids as ids
from app.api.appointments.inputs import (
    AppointmentActionInput,
    AppointmentPayload,
    BookSeriesInput,
    BookSeriesPayload,
    BookTimeSlotInput,
    BookTimeSlotPayload,
    CancelAppointmentInput,
    CancelSeriesInput,
    CancelSeriesPayload,
    RescheduleAppointmentInput,
    optional_id,
)
from app.api.appointments.types import (
    AppointmentSeriesType,
    AppointmentType,
    SeriesOccurrenceSkipType,
)
from app.api.context import Info
from app.api.credits.types import CreditBalanceType, CreditTransactionType
from app.api.errors import run_mutation
from app.appointments import booking, cancellation, lifecycle, rescheduling, series
from app.appointments.booking_statement import parties_prefetch
from app.appointments.changes import AppointmentChange
from app.appointments.models import SeriesFrequency
from app.auth import Principal
from app.credits import service as credits
from app.errors import UserError


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


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Book an AVAILABLE slot: PRE_CONFIRMED, credits debited.")
    async def book_time_slot(self, info: Info, input: BookTimeSlotInput) -> BookTimeSlotPayload:
        def arguments() -> dict:
            return {"slot_id": ids.decode(input.time_slot_id, "TimeSlot", field="slot_id"),
                    "client_id": optional_id(input.client_id, "User", "client_id"),
                    "student_id": optional_id(input.student_id, "Student", "student_id")}

        try:
            given = arguments()
        except UserError:
            given = None  # the action decodes them again, in its transaction, and reports it

        async def action(session, principal):
            change = await booking.book_time_slot(
                session, principal, **(given or arguments()), notes=input.notes,
                idempotency_key=input.idempotency_key)
            return _payload(BookTimeSlotPayload, change, principal)

        # The booking's parties, read with the tenant setup (booking_statement.parties_prefetch).
        claims = info.context.claims
        prefetch = None if given is None or claims is None else parties_prefetch(
            given["slot_id"], claims.user_id if given["client_id"] is None
            else given["client_id"], given["student_id"])
        return await run_mutation(info, BookTimeSlotPayload, action, prefetch=prefetch,
                                  fields={"slot_id": ["input", "timeSlotId"]})

    @strawberry.mutation(description="Book a standing appointment: the occurrences inside the "
                                     "booking window now, the rest as the window reaches them.")
    async def book_series(self, info: Info, input: BookSeriesInput) -> BookSeriesPayload:
        async def action(session, principal):
            made = await series.book_series(
                session, principal,
                slot_id=ids.decode(input.time_slot_id, "TimeSlot", field="slot_id"),
                interval_weeks=SeriesFrequency(input.frequency).interval_weeks,
                until=input.until, count=input.count,
                client_id=optional_id(input.client_id, "User", "client_id"),
                student_id=optional_id(input.student_id, "Student", "student_id"),
                notes=input.notes,
                skip_unavailable=input.skip_unavailable is not False,
                idempotency_key=input.idempotency_key,
            )
            return BookSeriesPayload(
                series=AppointmentSeriesType.from_model(made.series),
                appointments=[AppointmentType.from_model(a) for a in made.appointments],
                skipped=[SeriesOccurrenceSkipType.from_model(skip) for skip in made.skipped],
                credit_balance=_balance(made.balance, made.series.client_id, principal),
            )

        return await run_mutation(info, BookSeriesPayload, action,
                                  fields={"slot_id": ["input", "timeSlotId"],
                                          "interval_weeks": ["input", "frequency"]})

    @strawberry.mutation(description="Cancel the chosen occurrence and every later one that has "
                                     "not started, each under the policy, and end the series.")
    async def cancel_series(self, info: Info, input: CancelSeriesInput) -> CancelSeriesPayload:
        async def action(session, principal):
            made = await series.cancel_series(
                session, principal, ids.decode(input.series_id, "AppointmentSeries",
                                               field="series_id"),
                from_appointment_id=optional_id(input.from_appointment_id, "Appointment",
                                                "from_appointment_id"),
                reason=input.reason, idempotency_key=input.idempotency_key,
            )
            return CancelSeriesPayload(
                series=AppointmentSeriesType.from_model(made.series),
                cancelled_appointments=[AppointmentType.from_model(a) for a in made.appointments],
                refunded_credits=made.refunded,
                credit_balance=_balance(made.balance, made.series.client_id, principal),
            )

        return await run_mutation(info, CancelSeriesPayload, action)

    @strawberry.mutation(description="PRE_CONFIRMED -> CONFIRMED, before the start time (an "
                                     "unconfirmed booking expires at its start).")
    async def confirm_appointment(
        self, info: Info, input: AppointmentActionInput
    ) -> AppointmentPayload:
        return await _act(info, input, lifecycle.confirm_appointment)

    @strawberry.mutation(description="Cancel, free the slot and refund by the policy.")
    async def cancel_appointment(
        self, info: Info, input: CancelAppointmentInput
    ) -> AppointmentPayload:
        async def action(session, principal):
            change = await cancellation.cancel_appointment(
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
            change = await rescheduling.reschedule_appointment(
                session, principal, _appointment_pk(input.appointment_id),
                new_slot_id=ids.decode(input.new_time_slot_id, "TimeSlot", field="new_slot_id"),
                idempotency_key=input.idempotency_key,
            )
            return _payload(AppointmentPayload, change, principal)

        return await run_mutation(info, AppointmentPayload, action,
                                  fields={"new_slot_id": ["input", "newTimeSlotId"]})

    @strawberry.mutation(description="CONFIRMED -> EXECUTED, after the start time.")
    async def execute_appointment(
        self, info: Info, input: AppointmentActionInput
    ) -> AppointmentPayload:
        return await _act(info, input, lifecycle.execute_appointment)

    @strawberry.mutation(description="CONFIRMED -> NO_SHOW, after the start time; credits are kept.")
    async def mark_no_show(self, info: Info, input: AppointmentActionInput) -> AppointmentPayload:
        return await _act(info, input, lifecycle.mark_no_show)


def _balance(balance, client_id: int, principal: Principal) -> CreditBalanceType | None:
    if balance is None or not credits.can_see_credits_of(principal, client_id):
        return None
    return CreditBalanceType.from_model(balance)


def _appointment_pk(global_id: str) -> int:
    return ids.decode(global_id, "Appointment", field="appointment_id")


async def _act(info: Info, input: AppointmentActionInput, transition) -> AppointmentPayload:
    async def action(session, principal):
        change = await transition(session, principal, _appointment_pk(input.appointment_id),
                                  notes=input.notes)
        return _payload(AppointmentPayload, change, principal)

    return await run_mutation(info, AppointmentPayload, action)
