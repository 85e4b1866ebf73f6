"""Rescheduling an appointment to another slot of its professional, settling a price change.

A move takes the new slot under booking's window (app/appointments/booking.py)
and, if the price changed, refunds the old debit as cancelling does
(app/appointments/cancellation.py) before it debits the new price.
"""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app import idempotency
from app.appointments import events, messages
from app.appointments.booking import check_booking_window
from app.appointments.cancellation import refund
from app.appointments.changes import AppointmentChange, change, lock_visible
from app.appointments.models import Appointment
from app.appointments.policy import TRANSITIONS, Action, check_may
from app.appointments.slots import free_slot, take_slot
from app.auth import Principal, Role
from app.clock import utc_now
from app.credits import ledger
from app.credits.ledger import Posting
from app.errors import InsufficientCredits, InvalidStateTransition, NotFound, ValidationFailed
from app.organizations import repository as organizations
from app.people import repository as people
from app.scheduling import repository as scheduling


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
        appointment = await lock_visible(session, principal, appointment_id)
        check_may(principal, Action.RESCHEDULE)
        allowed_from, _ = TRANSITIONS[Action.RESCHEDULE]
        if appointment.state not in allowed_from:
            raise InvalidStateTransition(
                f"Cannot reschedule a {appointment.state.value} appointment.",
                field="appointment_id",
            )
        if now >= appointment.starts_at:
            raise InvalidStateTransition(
                "An appointment that has started cannot be moved.",
                field="appointment_id",
            )
        if principal.role is Role.CLIENT and now > appointment.refundable_until:
            raise InvalidStateTransition(
                "Clients may reschedule only until refundableUntil.",
                field="appointment_id",
            )
        field = "new_slot_id"
        new_slot = await scheduling.get_slot(session, new_slot_id)
        if new_slot is None:
            raise NotFound("No such time slot.", field=field)
        if new_slot.professional_id != appointment.professional_id:
            raise ValidationFailed("Reschedule to a slot of the same professional.", field=field)
        if new_slot.id == appointment.time_slot_id:
            raise ValidationFailed("The appointment is already in this slot.", field=field)
        organization = await organizations.get_current(session)
        check_booking_window(principal, organization, new_slot.starts_at, now, field=field)
        await take_slot(session, new_slot.id, field=field)
        old_slot_id = appointment.time_slot_id
        old_starts_at, old_ends_at = appointment.starts_at, appointment.ends_at
        # The contract: refundableUntil is a snapshot of the policy at booking. The move
        # keeps that policy (the notice it gave), not the organization's current one.
        policy_notice = appointment.starts_at - appointment.refundable_until
        appointment.time_slot_id = new_slot.id
        appointment.starts_at = new_slot.starts_at
        appointment.ends_at = new_slot.ends_at
        appointment.refundable_until = new_slot.starts_at - policy_notice
        await session.flush()
        await free_slot(session, old_slot_id, now)
        posting = await _settle_price_change(session, principal, appointment, now)
        await messages.tell_client(session, appointment, messages.Event.RESCHEDULED)
        await events.rescheduled(session, appointment, at=now, previous_slot_id=old_slot_id,
                                 previous_starts_at=old_starts_at, previous_ends_at=old_ends_at)
        return change(appointment, posting)

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
    await refund(session, appointment, now, refunded_by_id=principal.user_id,
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
            field="new_slot_id",
        ) from error
