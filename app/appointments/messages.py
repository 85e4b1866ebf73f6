"""The messages an appointment's client receives when it is booked, confirmed, cancelled or expires.

They are written to the notifications outbox in the same transaction as the
change, so a rolled-back change never announces itself; a dedupe key per
appointment and event keeps an idempotent replay from writing one twice.
"""

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.models import Appointment, AppointmentSeries, SeriesSkip
from app.notifications.models import NotificationKind
from app.notifications.outbox import enqueue
from app.organizations import repository as organizations
from app.organizations.models import Organization
from app.people import repository as people
from app.people.models import User


class Event(StrEnum):
    BOOKED = "booked"
    CONFIRMED = "confirmed"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


_KINDS = {
    Event.BOOKED: NotificationKind.BOOKING,
    Event.CONFIRMED: NotificationKind.CONFIRMATION,
    Event.RESCHEDULED: NotificationKind.BOOKING,
    Event.CANCELLED: NotificationKind.CANCELLATION,
    Event.EXPIRED: NotificationKind.EXPIRY,
}


async def tell_client(
    session: AsyncSession, appointment: Appointment, event: Event, *, refunded: int = 0
) -> None:
    """Queues the message about `event` for the appointment's client (and one for a refund)."""
    organization = await organizations.get_current(session)
    professional = await people.get_professional(session, appointment.professional_id)
    provider = await people.get_user(session, professional.user_id)
    subject, body = _text(event, organization, provider, appointment.starts_at)
    # A reschedule can happen more than once; the new start tells them apart.
    suffix = f":{appointment.starts_at.isoformat()}" if event is Event.RESCHEDULED else ""
    await enqueue(
        session, kind=_KINDS[event], recipient_user_id=appointment.client_id, subject=subject,
        body=body, appointment_id=appointment.id,
        dedupe_key=f"{_dedupe_prefix(event)}{appointment.id}{suffix}",
    )
    if refunded:
        who, when = _who(provider), _when(organization, appointment.starts_at)
        await enqueue(
            session, kind=NotificationKind.REFUND, recipient_user_id=appointment.client_id,
            subject=f"{refunded} credit{'s' if refunded != 1 else ''} refunded - "
                    f"{organization.name}",
            body=f"{refunded} credit{'s' if refunded != 1 else ''} for your appointment with "
                 f"{who} on {when} are back in your balance.",
            appointment_id=appointment.id, dedupe_key=f"refund:{appointment.id}",
        )


def booked_message(organization: Organization, provider: User,
                   starts_at: datetime) -> tuple[NotificationKind, str, str, str]:
    """The BOOKED message of an appointment not yet written, for the booking's one statement
    (app/appointments/booking_statement.py): kind, subject, body, and its dedupe key but for
    the appointment's id, which the statement appends."""
    subject, body = _text(Event.BOOKED, organization, provider, starts_at)
    return _KINDS[Event.BOOKED], subject, body, _dedupe_prefix(Event.BOOKED)


def _text(event: Event, organization: Organization, provider: User,
          starts_at: datetime) -> tuple[str, str]:
    """The subject and body of the client's message about `event`."""
    who, when = _who(provider), _when(organization, starts_at)
    subject, body = {
        Event.BOOKED: ("Your appointment is booked",
                       f"Your appointment with {who} on {when} is booked. Please confirm it."),
        Event.CONFIRMED: ("Your appointment is confirmed",
                          f"Your appointment with {who} on {when} is confirmed."),
        Event.RESCHEDULED: ("Your appointment has moved",
                            f"Your appointment with {who} is now on {when}."),
        Event.CANCELLED: ("Your appointment is cancelled",
                          f"Your appointment with {who} on {when} is cancelled."),
        Event.EXPIRED: ("Your booking expired",
                        (f"Your booking with {who} on {when} was not confirmed in time and "
                         "has been released.")),
    }[event]
    return f"{subject} - {organization.name}", body


def _who(provider: User) -> str:
    return f"{provider.first_name} {provider.last_name}"


def _when(organization: Organization, starts_at: datetime) -> str:
    local = starts_at.astimezone(ZoneInfo(organization.time_zone))
    return f"{local:%A %d %B %Y at %H:%M} ({organization.time_zone})"


def _dedupe_prefix(event: Event) -> str:
    return f"{event}:"


async def tell_series_skipped(session: AsyncSession, series: AppointmentSeries,
                              skip: SeriesSkip) -> None:
    """Tells the client and the professional, once each, that an occurrence of their series
    could not be booked, naming the date and why; the series goes on."""
    organization = await organizations.get_current(session)
    professional = await people.get_professional(session, series.professional_id)
    local = skip.starts_at.astimezone(ZoneInfo(series.time_zone))
    # The series' own clock time: a skipped spring-forward start reads otherwise there.
    when = f"{local:%A %d %B %Y} at {series.start_time:%H:%M} ({series.time_zone})"
    for recipient in (series.client_id, professional.user_id):
        await enqueue(
            session, kind=NotificationKind.SERIES_SKIPPED, recipient_user_id=recipient,
            subject=f"Not booked: the session of {local:%A %d %B} - {organization.name}",
            body=f"The standing appointment on {when} could not be booked: {skip.message} "
                 "The other sessions of the series stay booked.",
            dedupe_key=f"series-skip:{series.id}:{skip.occurrence}:{recipient}",
        )
