"""Booking, the appointment lifecycle, cancellation with refunds, and rescheduling (docs/rules.md: appointments).

Each operation runs inside the caller's one transaction, so a slot, an
appointment and the credits it moved change together or not at all.
Concurrency is settled by the database:
- a slot is taken with a guarded `UPDATE ... WHERE status = 'AVAILABLE'`
  (its row lock makes racing bookings take turns; losers see BOOKED), and a
  partial unique index allows one live appointment per slot;
- credits move through the ledger's guarded balance update;
- every change of an existing appointment first locks its row, so a cancel
  and a reschedule of one appointment run one after the other.
Lock order: idempotency key, appointment, slots, then the client's balance.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app import idempotency, pagination, validation
from app.appointments import messages, repository
from app.appointments.models import Appointment, AppointmentState
from app.appointments.policy import (
    TRANSITIONS,
    Action,
    CancellationDecision,
    check_may,
    decide_cancellation,
    refundable_until,
)
from app.auth import Principal, Role
from app.clock import utc_now
from app.credits import ledger
from app.credits import repository as credits
from app.credits.ledger import Posting
from app.credits.models import CreditBalance, CreditTransaction
from app.db import flush_or_raise
from app.errors import (
    Forbidden,
    InsufficientCredits,
    InvalidStateTransition,
    NotFound,
    OutsideBookingWindow,
    SlotUnavailable,
    ValidationFailed,
)
from app.organizations import repository as organizations
from app.organizations.models import Organization
from app.people import repository as people
from app.people.models import Professional
from app.scheduling import events as slot_events
from app.scheduling import repository as scheduling
from app.scheduling.models import BlockReason, TimeSlot, TimeSlotStatus


@dataclass(frozen=True, slots=True)
class AppointmentChange:
    """An appointment after an operation, and the ledger entry it caused (if any)."""

    appointment: Appointment
    transaction: CreditTransaction | None
    balance: CreditBalance | None


# ---- reading ----------------------------------------------------------------------


async def get_appointment(
    session: AsyncSession,
    principal: Principal,
    appointment_id: int,
    *,
    field: list[str] | None = None,
) -> Appointment:
    """Gets an appointment the principal may see; anything else is NOT_FOUND."""
    appointment = await repository.get(session, appointment_id)
    if appointment is None or not await can_see(session, principal, appointment):
        raise NotFound("No such appointment.", field=field)
    return appointment


async def can_see(session: AsyncSession, principal: Principal, appointment: Appointment) -> bool:
    """STAFF and ADMIN see all; a client their own; a professional their own."""
    if principal.is_staff_or_admin:
        return True
    if principal.role is Role.CLIENT:
        return appointment.client_id == principal.user_id
    if principal.role is Role.PROFESSIONAL:
        professional = await people.find_professional_by_user(session, principal.user_id)
        return professional is not None and professional.id == appointment.professional_id
    return False


def can_see_private_notes(principal: Principal, professional: Professional) -> bool:
    """Private notes are for the appointment's professional and ADMIN only."""
    return principal.is_admin or professional.user_id == principal.user_id


def appointments_query(
    session: AsyncSession,
    principal: Principal,
    *,
    professional_id: int | None = None,
    client_id: int | None = None,
    states: list[AppointmentState] | None = None,
    starts_from: datetime | None = None,
    starts_before: datetime | None = None,
) -> Select:
    """The appointments the principal may see, filtered; paged by the caller."""
    if starts_from and starts_before and starts_before <= starts_from:
        raise ValidationFailed("`to` must come after `from`.", field=["filter", "to"])
    return repository.appointments_query(
        session, principal, professional_id=professional_id, client_id=client_id, states=states,
        starts_from=starts_from, starts_before=starts_before,
    )


async def list_appointments(
    session: AsyncSession,
    principal: Principal,
    *,
    first: int | None = None,
    after: str | None = None,
    **filters: Any,
) -> pagination.Page[Appointment]:
    """Gets one page of the visible appointments, earliest start first."""
    await _check_filter_targets(session, principal, filters.get("professional_id"),
                                filters.get("client_id"))
    request = pagination.page_request(first, after, repository.APPOINTMENT_SORT_KEY)
    statement = appointments_query(session, principal, **filters)
    return await pagination.fetch_page(session, statement, request,
                                       repository.APPOINTMENT_SORT_KEY)


async def _check_filter_targets(
    session: AsyncSession, principal: Principal, professional_id: int | None,
    client_id: int | None,
) -> None:
    # A filter naming someone the caller cannot see (another organization's, above all)
    # is NOT_FOUND, as that ID is everywhere else, rather than an empty list.
    if professional_id is not None and await people.get_professional(
            session, professional_id) is None:
        raise NotFound("No such professional.", field=["filter", "professionalId"])
    if client_id is not None and await people.get_visible_user(
            session, principal, client_id) is None:
        raise NotFound("No such client.", field=["filter", "clientId"])


def cancellation_preview(
    principal: Principal, appointment: Appointment, now: datetime | None = None
) -> CancellationDecision:
    """What cancelling now would return, decided by the code that cancels."""
    return decide_cancellation(appointment, principal.role, utc_now(now))


# ---- booking ----------------------------------------------------------------------


async def book_time_slot(
    session: AsyncSession,
    principal: Principal,
    *,
    slot_id: int,
    client_id: int | None = None,
    student_id: int | None = None,
    notes: str | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> AppointmentChange:
    """Books an AVAILABLE slot for a client: slot BOOKED, appointment PRE_CONFIRMED, credits debited.

    A client books for themselves and their own students; STAFF and ADMIN for
    any client; a professional for any client, on their own slots.
    """
    now = utc_now(now)
    client_id = principal.user_id if client_id is None else client_id

    async def perform() -> AppointmentChange:
        parties = await repository.load_booking_parties(session, slot_id, client_id)
        if parties is None:
            raise NotFound("No such time slot.", field=["input", "timeSlotId"])
        slot, professional, *_ = parties  # `parties` keeps the rest in the session
        await _check_may_book(session, principal, professional, client_id)
        organization = await organizations.get_current(session)
        _check_booking_window(principal, organization, slot.starts_at, now,
                              field=["input", "timeSlotId"])
        if student_id is not None:
            await _check_student(session, student_id, client_id)
        await _take_slot(session, slot.id, field=["input", "timeSlotId"])
        appointment = Appointment(
            professional_id=professional.id,
            client_id=client_id,
            student_id=student_id,
            time_slot_id=slot.id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            state=AppointmentState.PRE_CONFIRMED,
            credit_cost=professional.credit_cost,
            refundable_until=refundable_until(slot.starts_at,
                                              organization.cancellation_policy_hours),
            notes=validation.optional_text(notes, ["input", "notes"]),
            booked_at=now,
        )
        session.add(appointment)
        await _flush_appointment(session)
        posting = await ledger.debit(
            session, user_id=client_id, amount=appointment.credit_cost, now=now,
            appointment_id=appointment.id, created_by_id=principal.user_id,
            description="Booking",
        )
        await messages.tell_client(session, appointment, messages.Event.BOOKED)
        return AppointmentChange(appointment, posting.transaction, posting.balance)

    request = {"slot_id": slot_id, "client_id": client_id, "student_id": student_id,
               "notes": notes}
    return await idempotency.run_once(
        session, caller_id=principal.user_id, key=idempotency_key, operation="bookTimeSlot",
        request=request, perform=perform, made=AppointmentChange)


async def _check_may_book(
    session: AsyncSession, principal: Principal, professional: Professional, client_id: int
) -> None:
    if principal.role is Role.CLIENT and client_id != principal.user_id:
        raise Forbidden("Clients book for themselves (and their own students) only.")
    if principal.role is Role.PROFESSIONAL and professional.user_id != principal.user_id:
        raise Forbidden("A professional books clients into their own slots only.")
    client = await people.get_user(session, client_id)
    if client is None:
        raise NotFound("No such client.", field=["input", "clientId"])
    if client.role is not Role.CLIENT or not client.active:
        raise ValidationFailed("Appointments are booked for active CLIENT users.",
                               field=["input", "clientId"])
    if not professional.active:
        raise SlotUnavailable("This professional is not taking bookings.",
                              field=["input", "timeSlotId"])


def _check_booking_window(
    principal: Principal, organization: Organization, starts_at: datetime, now: datetime,
    *, field: list[str],
) -> None:
    """Inside the booking window and the minimum notice; STAFF and ADMIN may skip the notice."""
    if starts_at <= now:
        raise OutsideBookingWindow("This slot has already started.", field=field)
    if starts_at > now + timedelta(days=organization.booking_window_days):
        raise OutsideBookingWindow(
            f"Slots can be booked at most {organization.booking_window_days} days ahead.",
            field=field,
        )
    notice = timedelta(minutes=organization.minimum_notice_minutes)
    if not principal.is_staff_or_admin and starts_at < now + notice:
        raise OutsideBookingWindow(
            f"Bookings need {organization.minimum_notice_minutes} minutes' notice.", field=field
        )


async def _check_student(session: AsyncSession, student_id: int, client_id: int) -> None:
    student = await people.get_student(session, student_id)
    if student is None or student.guardian_id != client_id:
        raise NotFound("No such student of this client.", field=["input", "studentId"])


async def _take_slot(session: AsyncSession, slot_id: int, *, field: list[str]) -> TimeSlot:
    taken = await slot_events.announce_slot(session, await scheduling.set_slot_status(
        session, slot_id, status=TimeSlotStatus.BOOKED, block_reason=None,
        when_status_in=[TimeSlotStatus.AVAILABLE],
    ))
    if taken is None:
        raise SlotUnavailable("This slot is no longer available.", field=field)
    return taken


async def _flush_appointment(session: AsyncSession) -> None:
    # Backstop of the guarded slot update: one live appointment per slot.
    await flush_or_raise(session, {"appointments_live_slot_key": SlotUnavailable(
        "This slot is no longer available.", field=["input", "timeSlotId"])})


# ---- lifecycle --------------------------------------------------------------------


async def confirm_appointment(
    session: AsyncSession, principal: Principal, appointment_id: int, *,
    notes: str | None = None, now: datetime | None = None,
) -> AppointmentChange:
    """PRE_CONFIRMED -> CONFIRMED."""
    now = utc_now(now)
    appointment = await _transition(session, principal, appointment_id, Action.CONFIRM, now)
    appointment.confirmed_at = now
    await _apply_notes(session, principal, appointment, notes)
    await messages.tell_client(session, appointment, messages.Event.CONFIRMED)
    return AppointmentChange(appointment, None, None)


async def execute_appointment(
    session: AsyncSession, principal: Principal, appointment_id: int, *,
    notes: str | None = None, now: datetime | None = None,
) -> AppointmentChange:
    """CONFIRMED -> EXECUTED, once the start time has passed; the credits stay spent."""
    now = utc_now(now)
    appointment = await _transition(session, principal, appointment_id, Action.EXECUTE, now)
    appointment.executed_at = now
    await _apply_notes(session, principal, appointment, notes)
    return AppointmentChange(appointment, None, None)


async def mark_no_show(
    session: AsyncSession, principal: Principal, appointment_id: int, *,
    notes: str | None = None, now: datetime | None = None,
) -> AppointmentChange:
    """CONFIRMED -> NO_SHOW, once the start time has passed; the credits stay spent."""
    now = utc_now(now)
    appointment = await _transition(session, principal, appointment_id, Action.MARK_NO_SHOW, now)
    await _apply_notes(session, principal, appointment, notes)
    return AppointmentChange(appointment, None, None)


async def _transition(
    session: AsyncSession, principal: Principal, appointment_id: int, action: Action,
    now: datetime,
) -> Appointment:
    appointment = await _lock_visible(session, principal, appointment_id)
    check_may(principal, action)
    allowed_from, target = TRANSITIONS[action]
    if appointment.state not in allowed_from:
        raise InvalidStateTransition(
            f"Cannot {action.value} a {appointment.state.value} appointment.",
            field=["input", "appointmentId"],
        )
    if action in (Action.EXECUTE, Action.MARK_NO_SHOW) and now < appointment.starts_at:
        raise InvalidStateTransition(
            f"Cannot {action.value} an appointment before its start time.",
            field=["input", "appointmentId"],
        )
    if action is Action.CONFIRM and now >= appointment.starts_at:
        # docs/rules.md: appointments: unconfirmed at its start, a booking expires (the job cancels it with
        # a full refund), whether or not the job has run yet.
        raise InvalidStateTransition(
            "This booking was not confirmed before its start time; it expires instead.",
            field=["input", "appointmentId"],
        )
    appointment.state = target
    return appointment


async def _apply_notes(
    session: AsyncSession, principal: Principal, appointment: Appointment, notes: str | None
) -> None:
    """An action's notes: private notes when the professional or ADMIN acts, else shared notes."""
    text = validation.optional_text(notes, ["input", "notes"])
    if text is not None:
        professional = await people.get_professional(session, appointment.professional_id)
        if can_see_private_notes(principal, professional):
            appointment.private_notes = text
        else:
            appointment.notes = text
    await session.flush()


async def _lock_visible(
    session: AsyncSession, principal: Principal, appointment_id: int
) -> Appointment:
    appointment = await repository.lock(session, appointment_id)
    if appointment is None or not await can_see(session, principal, appointment):
        raise NotFound("No such appointment.", field=["input", "appointmentId"])
    return appointment


# ---- cancelling -------------------------------------------------------------------


async def cancel_appointment(
    session: AsyncSession,
    principal: Principal,
    appointment_id: int,
    *,
    reason: str | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> AppointmentChange:
    """Cancels an open appointment, frees its slot and refunds by the policy of docs/rules.md: appointments."""
    now = utc_now(now)

    async def perform() -> AppointmentChange:
        appointment = await _lock_visible(session, principal, appointment_id)
        check_may(principal, Action.CANCEL)
        posting = await _cancel(
            session, appointment, decide_cancellation(appointment, principal.role, now), now,
            cancelled_by_id=principal.user_id,
            reason=validation.optional_text(reason, ["input", "reason"], max_length=500),
            event=messages.Event.CANCELLED,
        )
        return _change(appointment, posting)

    request = {"appointment_id": appointment_id, "reason": reason}
    return await idempotency.run_once(
        session, caller_id=principal.user_id, key=idempotency_key, operation="cancelAppointment",
        request=request, perform=perform, made=AppointmentChange)


async def expire_unconfirmed_bookings(session: AsyncSession, *, now: datetime) -> list[int]:
    """Cancels, with a full refund, PRE_CONFIRMED bookings past their TTL or their start.

    For the background job; running it twice does no harm, as expired
    appointments are no longer PRE_CONFIRMED. Returns the ids it cancelled.
    """
    organization = await organizations.get_current(session)
    expired = []
    for appointment_id in await repository.unconfirmed_due(
        session, booked_before=now - timedelta(hours=organization.pre_confirmation_ttl_hours),
        starting_before=now,
    ):
        appointment = await repository.lock(session, appointment_id)
        if appointment is None or appointment.state is not AppointmentState.PRE_CONFIRMED:
            continue  # confirmed or cancelled meanwhile
        await _cancel(session, appointment, decide_cancellation(appointment, None, now), now,
                      cancelled_by_id=None, reason="Expired: not confirmed in time.",
                      event=messages.Event.EXPIRED)
        expired.append(appointment.id)
    return expired


async def _cancel(
    session: AsyncSession,
    appointment: Appointment,
    decision: CancellationDecision,
    now: datetime,
    *,
    cancelled_by_id: int | None,
    reason: str | None,
    event: messages.Event,
) -> Posting | None:
    if not decision.allowed:
        raise InvalidStateTransition(decision.reason or "This appointment cannot be cancelled.",
                                     field=["input", "appointmentId"])
    appointment.state = AppointmentState.CANCELLED
    appointment.cancelled_at = now
    appointment.cancelled_by_id = cancelled_by_id
    appointment.cancellation_reason = reason
    await session.flush()  # the slot's live appointment is gone before the slot is freed
    await _free_slot(session, appointment.time_slot_id, now)
    posting = None
    if decision.refund_credits:
        posting = await _refund(session, appointment, now, refunded_by_id=cancelled_by_id,
                                description="Cancellation refund")
    await messages.tell_client(session, appointment, event,
                               refunded=posting.transaction.amount if posting else 0)
    return posting


async def _refund(
    session: AsyncSession, appointment: Appointment, now: datetime, *,
    refunded_by_id: int | None, description: str,
) -> Posting | None:
    debit = await credits.open_debit_of_appointment(session, appointment.id)
    if debit is None:
        return None  # nothing was taken (a zero-cost session)
    return await ledger.refund_debit(session, debit_id=debit.id, now=now,
                                     created_by_id=refunded_by_id, description=description)


async def _free_slot(session: AsyncSession, slot_id: int, now: datetime) -> None:
    """Back on offer if it has not started yet (docs/rules.md: appointments), unless a time off covers it:
    then it is blocked, as time off does. A slot that has started stays as it was."""
    slot = await scheduling.get_slot(session, slot_id)
    if slot.starts_at <= now:
        return
    covered = await scheduling.overlaps_time_off(session, slot)
    await slot_events.announce_slot(session, await scheduling.set_slot_status(
        session, slot_id,
        status=TimeSlotStatus.BLOCKED if covered else TimeSlotStatus.AVAILABLE,
        block_reason=BlockReason.TIME_OFF if covered else None,
        when_status_in=[TimeSlotStatus.BOOKED],
    ))


# ---- rescheduling -----------------------------------------------------------------


async def reschedule_appointment(
    session: AsyncSession,
    principal: Principal,
    appointment_id: int,
    *,
    new_slot_id: int,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> AppointmentChange:
    """Moves an open appointment to another AVAILABLE slot of its professional, atomically.

    The state carries over. If the professional's price changed since the
    booking, the old debit is refunded and the new price debited. A client may
    reschedule only until `refundableUntil`.
    """
    now = utc_now(now)

    async def perform() -> AppointmentChange:
        appointment = await _lock_visible(session, principal, appointment_id)
        check_may(principal, Action.RESCHEDULE)
        allowed_from, _ = TRANSITIONS[Action.RESCHEDULE]
        if appointment.state not in allowed_from:
            raise InvalidStateTransition(
                f"Cannot reschedule a {appointment.state.value} appointment.",
                field=["input", "appointmentId"],
            )
        if now >= appointment.starts_at:
            raise InvalidStateTransition(
                "An appointment that has started cannot be moved.",
                field=["input", "appointmentId"],
            )
        if principal.role is Role.CLIENT and now > appointment.refundable_until:
            raise InvalidStateTransition(
                "Clients may reschedule only until refundableUntil.",
                field=["input", "appointmentId"],
            )
        field = ["input", "newTimeSlotId"]
        new_slot = await scheduling.get_slot(session, new_slot_id)
        if new_slot is None:
            raise NotFound("No such time slot.", field=field)
        if new_slot.professional_id != appointment.professional_id:
            raise ValidationFailed("Reschedule to a slot of the same professional.", field=field)
        if new_slot.id == appointment.time_slot_id:
            raise ValidationFailed("The appointment is already in this slot.", field=field)
        organization = await organizations.get_current(session)
        _check_booking_window(principal, organization, new_slot.starts_at, now, field=field)
        await _take_slot(session, new_slot.id, field=field)
        old_slot_id = appointment.time_slot_id
        # The contract: refundableUntil is a snapshot of the policy at booking. The move
        # keeps that policy (the notice it gave), not the organization's current one.
        policy_notice = appointment.starts_at - appointment.refundable_until
        appointment.time_slot_id = new_slot.id
        appointment.starts_at = new_slot.starts_at
        appointment.ends_at = new_slot.ends_at
        appointment.refundable_until = new_slot.starts_at - policy_notice
        await session.flush()
        await _free_slot(session, old_slot_id, now)
        posting = await _settle_price_change(session, principal, appointment, now)
        await messages.tell_client(session, appointment, messages.Event.RESCHEDULED)
        return _change(appointment, posting)

    request = {"appointment_id": appointment_id, "new_slot_id": new_slot_id}
    return await idempotency.run_once(
        session, caller_id=principal.user_id, key=idempotency_key, operation="rescheduleAppointment",
        request=request, perform=perform, made=AppointmentChange)


async def _settle_price_change(
    session: AsyncSession, principal: Principal, appointment: Appointment, now: datetime
) -> Posting | None:
    professional = await people.get_professional(session, appointment.professional_id)
    if professional.credit_cost == appointment.credit_cost:
        return None
    # Refund the whole old debit and take the new price, so the appointment
    # always has exactly one open debit for a later cancellation to reverse. In one
    # transaction, the client pays (or gets back) just the difference.
    old_cost = appointment.credit_cost
    await _refund(session, appointment, now, refunded_by_id=principal.user_id,
                  description="Reschedule: price changed")
    appointment.credit_cost = professional.credit_cost
    try:
        return await ledger.debit(
            session, user_id=appointment.client_id, amount=professional.credit_cost, now=now,
            appointment_id=appointment.id, created_by_id=principal.user_id,
            description="Reschedule: new price",
        )
    except InsufficientCredits as error:
        raise InsufficientCredits(
            f"Not enough credits: the price is now {professional.credit_cost} credits, "
            f"{professional.credit_cost - old_cost} more than the {old_cost} paid.",
            field=["input", "newTimeSlotId"],
        ) from error


# ---- shared -----------------------------------------------------------------------


def _change(appointment: Appointment, posting: Posting | None) -> AppointmentChange:
    if posting is None:
        return AppointmentChange(appointment, None, None)
    return AppointmentChange(appointment, posting.transaction, posting.balance)

