"""Booking a time slot: the checks a booking passes, then slot, appointment and debit at once.

The booking window is checked here for rescheduling too (`check_booking_window`),
as a move to another slot is held to the same window as a booking.
"""

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app import idempotency, validation
from app.appointments import booking_statement, events, messages
from app.appointments.booking_statement import Outcome
from app.appointments.changes import AppointmentChange
from app.appointments.models import Appointment, AppointmentState
from app.appointments.policy import refundable_until
from app.appointments.slots import slot_taken, take_slot
from app.auth import Principal, Role
from app.clock import utc_now
from app.credits import ledger
from app.db import flush_or_raise
from app.errors import (
    Forbidden,
    NotFound,
    OutsideBookingWindow,
    SlotUnavailable,
    ValidationFailed,
)
from app.i18n.languages import for_recipient
from app.organizations.models import Organization
from app.people.models import Professional, Student, User
from app.scheduling.models import TimeSlot


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

    Two statements of its own: the parties (which the API has the tenant setup read, see
    `booking_statement.parties_prefetch`), then every write at once. What that statement
    leaves to the ledger, it books step by step (`book_slot`).
    """
    now = utc_now(now)
    client_id = principal.user_id if client_id is None else client_id

    async def perform() -> AppointmentChange:
        parties = await booking_statement.read_parties(session, slot_id, client_id, student_id)
        if parties is None:
            raise NotFound("No such time slot.", field="slot_id")
        check_may_book(principal, parties.professional, client_id, parties.client)
        if student_id is not None:
            check_student(parties.student, client_id)
        organization, professional, slot = parties.organization, parties.professional, parties.slot
        check_booking_window(principal, organization, slot.starts_at, now, field="slot_id")
        appointment = _new_appointment(organization, professional, slot, client_id=client_id,
                                       student_id=student_id, notes=notes, now=now)
        debit = ledger.debit_entry(
            user_id=client_id, amount=appointment.credit_cost, now=now,
            created_by_id=principal.user_id, description="Booking")
        written = await booking_statement.write_booking(
            session, appointment, debit, now=now,
            message=messages.booked_message(
                for_recipient(parties.client.locale, organization.locale), organization,
                parties.provider, slot.starts_at))
        match written.outcome:
            case Outcome.BOOKED:
                if parties.booked_webhooks_wanted:
                    await events.appointment_changed(session, events.BOOKED, appointment, at=now)
                return AppointmentChange(appointment, debit, written.balance)
            case Outcome.SLOT_TAKEN:
                raise slot_taken(field="slot_id")
            case Outcome.CREDITS_SHORT:
                raise ledger.credits_short(appointment.credit_cost, field=None)
        # Nothing written: the ledger has work the statement leaves to it (see its module).
        # The parties already read serve the step-by-step road too: its slot update is
        # guarded, so a slot that changed since is refused there as here.
        return await book_slot(session, principal, organization, professional, slot,
                               client_id=client_id, student_id=student_id, notes=notes, now=now)

    request = {"slot_id": slot_id, "client_id": client_id, "student_id": student_id,
               "notes": notes}
    return await idempotency.run_once(
        session, caller_id=principal.user_id, key=idempotency_key, operation="bookTimeSlot",
        request=request, perform=perform, made=AppointmentChange)


async def book_slot(
    session: AsyncSession,
    principal: Principal | None,
    organization: Organization,
    professional: Professional,
    slot: TimeSlot,
    *,
    client_id: int,
    student_id: int | None,
    notes: str | None,
    now: datetime,
    series_id: int | None = None,
) -> AppointmentChange:
    """Books `slot` once the caller checked who may book it: the window, the slot (guarded),
    the appointment with its policy snapshot, and the debit, in the caller's transaction.

    `principal` None: the series job books an occurrence entering the window, on behalf of
    the series (its creator was checked when it was booked; no notice applies so far ahead).
    """
    check_booking_window(principal, organization, slot.starts_at, now, field="slot_id")
    await take_slot(session, slot.id, field="slot_id")
    appointment = _new_appointment(organization, professional, slot, client_id=client_id,
                                   student_id=student_id, notes=notes, now=now,
                                   series_id=series_id)
    session.add(appointment)
    await _flush_appointment(session)
    posting = await ledger.debit(
        session, user_id=client_id, amount=appointment.credit_cost, now=now,
        appointment_id=appointment.id,
        created_by_id=None if principal is None else principal.user_id,
        description="Booking",
    )
    await messages.tell_client(session, appointment, messages.Event.BOOKED)
    await events.appointment_changed(session, events.BOOKED, appointment, at=now)
    return AppointmentChange(appointment, posting.transaction, posting.balance)


def _new_appointment(organization: Organization, professional: Professional, slot: TimeSlot, *,
                     client_id: int, student_id: int | None, notes: str | None, now: datetime,
                     series_id: int | None = None) -> Appointment:
    """A PRE_CONFIRMED appointment of `slot`, with its price and refund deadline fixed now."""
    return Appointment(
        organization_id=organization.id,
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
        notes=validation.optional_text(notes, "notes"),
        booked_at=now,
        series_id=series_id,
    )


def check_may_book(principal: Principal, professional: Professional, client_id: int,
                   client: User | None) -> None:
    """Who may book whom: a client themself, a professional into their own slots, STAFF and
    ADMIN anyone; the client (`client` None: there is no such user) an active CLIENT, the
    professional taking bookings."""
    if principal.role is Role.CLIENT and client_id != principal.user_id:
        raise Forbidden("Clients book for themselves (and their own students) only.")
    if principal.role is Role.PROFESSIONAL and professional.user_id != principal.user_id:
        raise Forbidden("A professional books clients into their own slots only.")
    if client is None:
        raise NotFound("No such client.", field="client_id")
    if client.role is not Role.CLIENT or not client.active:
        raise ValidationFailed("Appointments are booked for active CLIENT users.",
                               field="client_id")
    if not professional.active:
        raise SlotUnavailable("This professional is not taking bookings.", field="slot_id")


def check_booking_window(
    principal: Principal | None, organization: Organization, starts_at: datetime,
    now: datetime, *, field: str,
) -> None:
    """Inside the booking window and the minimum notice; STAFF and ADMIN (and the series
    job, `principal` None) may skip the notice.

    `field` is the caller's argument that named the slot, for the refusals."""
    if starts_at <= now:
        raise OutsideBookingWindow("This slot has already started.", field=field)
    if starts_at > now + timedelta(days=organization.booking_window_days):
        raise OutsideBookingWindow(
            f"Slots can be booked at most {organization.booking_window_days} days ahead.",
            field=field,
        )
    notice = timedelta(minutes=organization.minimum_notice_minutes)
    if principal is not None and not principal.is_staff_or_admin and starts_at < now + notice:
        raise OutsideBookingWindow(
            f"Bookings need {organization.minimum_notice_minutes} minutes' notice.", field=field
        )


def check_student(student: Student | None, client_id: int) -> None:
    """The client's own (None: not found), active student."""
    if student is None or student.guardian_id != client_id:
        raise NotFound("No such student of this client.", field="student_id")
    if not student.active:
        raise ValidationFailed("This student is deactivated and cannot be booked for.",
                               field="student_id")


async def _flush_appointment(session: AsyncSession) -> None:
    # Backstop of the guarded slot update: one live appointment per slot.
    await flush_or_raise(session, {"appointments_live_slot_key": slot_taken(field="slot_id")})
