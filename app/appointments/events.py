"""The webhook events of appointments (docs/webhooks.md): `data.appointment` is the
appointment as the API shows it to an ADMIN, fields for fields."""

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.models import Appointment
from app.global_ids import encode
from app.webhooks import events
from app.webhooks.events import reference

BOOKED = "appointment.booked"
CONFIRMED = "appointment.confirmed"
RESCHEDULED = "appointment.rescheduled"
CANCELLED = "appointment.cancelled"
EXECUTED = "appointment.executed"
NO_SHOW = "appointment.no_show"
EXPIRED = "appointment.expired"


def appointment_data(appointment: Appointment) -> dict[str, Any]:
    """The appointment's scalar fields and its related objects' IDs, keyed as in the API."""
    return {
        "id": encode("Appointment", appointment.id),
        "state": appointment.state.value,
        "startsAt": appointment.starts_at,
        "endsAt": appointment.ends_at,
        "creditCost": appointment.credit_cost,
        "refundableUntil": appointment.refundable_until,
        "notes": appointment.notes,
        "privateNotes": appointment.private_notes,
        "bookedAt": appointment.booked_at,
        "confirmedAt": appointment.confirmed_at,
        "executedAt": appointment.executed_at,
        "cancelledAt": appointment.cancelled_at,
        "cancellationReason": appointment.cancellation_reason,
        "professional": reference("Professional", appointment.professional_id),
        "client": reference("User", appointment.client_id),
        "student": reference("Student", appointment.student_id),
        "timeSlot": reference("TimeSlot", appointment.time_slot_id),
        "series": reference("AppointmentSeries", appointment.series_id),
        "cancelledBy": reference("User", appointment.cancelled_by_id),
    }


async def appointment_changed(session: AsyncSession, event_type: str, appointment: Appointment,
                              *, at: datetime, **extra: Any) -> None:
    """Records `event_type` of the appointment as it is now (flushed), with `extra` data."""
    await events.record(session, event_type,
                        {"appointment": appointment_data(appointment), **extra}, at=at)


async def rescheduled(session: AsyncSession, appointment: Appointment, *, at: datetime,
                      previous_slot_id: int, previous_starts_at: datetime,
                      previous_ends_at: datetime) -> None:
    """appointment.rescheduled, with where the appointment was before (`data.previous`)."""
    previous = {"startsAt": previous_starts_at, "endsAt": previous_ends_at,
                "timeSlot": reference("TimeSlot", previous_slot_id)}
    await appointment_changed(session, RESCHEDULED, appointment, at=at, previous=previous)
