"""The appointment lifecycle: confirming, executing and marking no-show, with the notes an
action leaves.

Each moves the state along the TRANSITIONS of app/appointments/policy.py and
moves no credits: a confirmed booking was paid when it was booked.
"""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app import validation
from app.appointments import events, messages
from app.appointments.changes import AppointmentChange, lock_visible
from app.appointments.models import Appointment
from app.appointments.policy import TRANSITIONS, Action, check_may
from app.appointments.reading import can_see_private_notes
from app.auth import Principal
from app.clock import utc_now
from app.errors import InvalidStateTransition
from app.people import repository as people


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
    await events.appointment_changed(session, events.CONFIRMED, appointment, at=now)
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
    await events.appointment_changed(session, events.EXECUTED, appointment, at=now)
    return AppointmentChange(appointment, None, None)


async def mark_no_show(
    session: AsyncSession, principal: Principal, appointment_id: int, *,
    notes: str | None = None, now: datetime | None = None,
) -> AppointmentChange:
    """CONFIRMED -> NO_SHOW, once the start time has passed; the credits stay spent."""
    now = utc_now(now)
    appointment = await _transition(session, principal, appointment_id, Action.MARK_NO_SHOW, now)
    await _apply_notes(session, principal, appointment, notes)
    await events.appointment_changed(session, events.NO_SHOW, appointment, at=now)
    return AppointmentChange(appointment, None, None)


async def _transition(
    session: AsyncSession, principal: Principal, appointment_id: int, action: Action,
    now: datetime,
) -> Appointment:
    appointment = await lock_visible(session, principal, appointment_id)
    check_may(principal, action)
    allowed_from, target = TRANSITIONS[action]
    if appointment.state not in allowed_from:
        raise InvalidStateTransition(
            f"Cannot {action.value} a {appointment.state.value} appointment.",
            field="appointment_id",
        )
    if action in (Action.EXECUTE, Action.MARK_NO_SHOW) and now < appointment.starts_at:
        raise InvalidStateTransition(
            f"Cannot {action.value} an appointment before its start time.",
            field="appointment_id",
        )
    if action is Action.CONFIRM and now >= appointment.starts_at:
        # docs/rules.md: appointments: unconfirmed at its start, a booking expires (the job cancels it with
        # a full refund), whether or not the job has run yet.
        raise InvalidStateTransition(
            "This booking was not confirmed before its start time; it expires instead.",
            field="appointment_id",
        )
    appointment.state = target
    return appointment


async def _apply_notes(
    session: AsyncSession, principal: Principal, appointment: Appointment, notes: str | None
) -> None:
    """An action's notes: private notes when the professional or ADMIN acts, else shared notes."""
    text = validation.optional_text(notes, "notes")
    if text is not None:
        professional = await people.get_professional(session, appointment.professional_id)
        if can_see_private_notes(principal, professional):
            appointment.private_notes = text
        else:
            appointment.notes = text
    await session.flush()
