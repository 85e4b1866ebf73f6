"""Cancelling an appointment, by a person or by the expiry job: the slot is freed and the
credits refunded as `decide_cancellation` (app/appointments/policy.py) decides.

`refund` reverses an appointment's debit; rescheduling uses it too, when the
price changed since the booking.
"""

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app import idempotency, validation
from app.appointments import events, messages, repository
from app.appointments.changes import AppointmentChange, change, lock_visible
from app.appointments.models import Appointment, AppointmentState
from app.appointments.policy import Action, CancellationDecision, check_may, decide_cancellation
from app.appointments.slots import free_slot
from app.auth import Principal
from app.clock import utc_now
from app.credits import ledger
from app.credits import repository as credits
from app.credits.ledger import Posting
from app.errors import InvalidStateTransition
from app.organizations import repository as organizations


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
        appointment = await lock_visible(session, principal, appointment_id)
        check_may(principal, Action.CANCEL)
        posting = await _cancel(
            session, appointment, decide_cancellation(appointment, principal.role, now), now,
            cancelled_by_id=principal.user_id,
            reason=validation.optional_text(reason, "reason", max_length=500),
            event=messages.Event.CANCELLED,
        )
        return change(appointment, posting)

    request = {"appointment_id": appointment_id, "reason": reason}
    return await idempotency.run_once(
        session, caller_id=principal.user_id, key=idempotency_key, operation="cancelAppointment",
        request=request, perform=perform, made=AppointmentChange)


async def cancel_open(
    session: AsyncSession, principal: Principal, appointment: Appointment, *, now: datetime,
    reason: str | None,
) -> Posting | None:
    """Cancels an appointment the caller has locked and may cancel (an occurrence of a
    series being cancelled), under the policy as for `cancel_appointment`."""
    return await _cancel(session, appointment, decide_cancellation(appointment, principal.role, now),
                         now, cancelled_by_id=principal.user_id, reason=reason,
                         event=messages.Event.CANCELLED)


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
                                     field="appointment_id")
    appointment.state = AppointmentState.CANCELLED
    appointment.cancelled_at = now
    appointment.cancelled_by_id = cancelled_by_id
    appointment.cancellation_reason = reason
    await session.flush()  # the slot's live appointment is gone before the slot is freed
    await free_slot(session, appointment.time_slot_id, now)
    posting = None
    if decision.refund_credits:
        posting = await refund(session, appointment, now, refunded_by_id=cancelled_by_id,
                                description="Cancellation refund")
    await messages.tell_client(session, appointment, event,
                               refunded=posting.transaction.amount if posting else 0)
    await events.appointment_changed(session, _EVENT_TYPES[event], appointment, at=now)
    return posting


_EVENT_TYPES = {messages.Event.CANCELLED: events.CANCELLED, messages.Event.EXPIRED: events.EXPIRED}


async def refund(
    session: AsyncSession, appointment: Appointment, now: datetime, *,
    refunded_by_id: int | None, description: str,
) -> Posting | None:
    """Refunds the appointment's open debit, if it has one."""
    debit = await credits.open_debit_of_appointment(session, appointment.id)
    if debit is None:
        return None  # nothing was taken (a zero-cost session)
    return await ledger.refund_debit(session, debit_id=debit.id, now=now,
                                     created_by_id=refunded_by_id, description=description)
