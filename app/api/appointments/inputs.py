"""Inputs and payloads of appointments: the `appointments` filter, booking, and the mutations
that move an appointment along its lifecycle."""

from datetime import date, datetime

import strawberry

from app import global_ids as ids
from app.api.appointments.types import (
    AppointmentSeriesType,
    AppointmentStateType,
    AppointmentType,
    SeriesFrequencyType,
    SeriesOccurrenceSkipType,
)
from app.api.common import IDEMPOTENCY_KEY, USER_ERRORS
from app.api.credits.types import CreditBalanceType, CreditTransactionType
from app.api.errors import UserErrorType


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


def optional_id(global_id: str | None, type_name: str, field: str) -> int | None:
    """The primary key behind an ID the client may leave out (a filter's, a booking's)."""
    return None if global_id is None else ids.decode(global_id, type_name, field=field)


@strawberry.input(description="A standing appointment, from its first occurrence.")
class BookSeriesInput:
    time_slot_id: strawberry.ID = strawberry.field(
        description="The first occurrence; its local weekday and start time define the series.")
    frequency: SeriesFrequencyType = strawberry.field(description="Every week or every other.")
    until: date | None = strawberry.field(
        default=None, description="Last date an occurrence may fall on (at most two years on).")
    count: int | None = strawberry.field(
        default=None, description="Number of occurrences, 1 to 104 (not with `until`).")
    client_id: strawberry.ID | None = strawberry.field(
        default=None, description="Default: the caller; as for `bookTimeSlot`.")
    student_id: strawberry.ID | None = strawberry.field(
        default=None, description="A student of the client, when booking for them.")
    notes: str | None = strawberry.field(default=None, description="For the professional.")
    skip_unavailable: bool | None = strawberry.field(
        default=True,
        description="true: book every occurrence that can be booked and list the others in "
                    "`skipped`. false: all or nothing.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The series and the occurrences booked now; or why not.")
class BookSeriesPayload:
    series: AppointmentSeriesType | None = strawberry.field(
        default=None, description="The new series; null when refused.")
    appointments: list[AppointmentType] = strawberry.field(
        default_factory=list,
        description="The occurrences booked now: those inside the booking window.")
    skipped: list[SeriesOccurrenceSkipType] = strawberry.field(
        default_factory=list, description="Occurrences inside the window that could not be booked.")
    credit_balance: CreditBalanceType | None = strawberry.field(
        default=None,
        description="The client's balance after the debits; null for a caller who may not see it.")
    user_errors: list[UserErrorType] = strawberry.field(
        default_factory=list, description=USER_ERRORS)


@strawberry.input(description="Which occurrences of a series to cancel; the series ends.")
class CancelSeriesInput:
    series_id: strawberry.ID = strawberry.field(description="The series to end.")
    from_appointment_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Cancel this occurrence and every later one; default: every occurrence "
                    "that has not started.")
    reason: str | None = strawberry.field(default=None, description="Why, for the record.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The ended series and what cancelling it did; or why not.")
class CancelSeriesPayload:
    series: AppointmentSeriesType | None = strawberry.field(
        default=None, description="The series, now inactive; null when refused.")
    cancelled_appointments: list[AppointmentType] = strawberry.field(
        default_factory=list, description="The occurrences cancelled, each under the policy.")
    refunded_credits: int = strawberry.field(
        default=0, description="Credits returned in all, as the cancellation policy allows.")
    credit_balance: CreditBalanceType | None = strawberry.field(
        default=None,
        description="The client's balance afterwards; null for a caller who may not see it.")
    user_errors: list[UserErrorType] = strawberry.field(
        default_factory=list, description=USER_ERRORS)
