"""The messages an appointment's client receives when it is booked, confirmed, cancelled or expires.

They are written to the notifications outbox in the same transaction as the
change, so a rolled-back change never announces itself; a dedupe key per
appointment and event keeps an idempotent replay from writing one twice. Each is written
in its recipient's language (app/i18n), and keeps it.
"""

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.models import Appointment, AppointmentSeries, SeriesSkip
from app.errors import UserErrorCode
from app.i18n.languages import Language
from app.notifications.models import NotificationKind
from app.notifications.outbox import enqueue
from app.organizations import repository as organizations
from app.organizations.models import Organization
from app.people import repository as people
from app.people.languages import language_of
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
    language = await language_of(session, appointment.client_id)
    subject, body = _text(language, event, organization, provider, appointment.starts_at)
    # A reschedule can happen more than once; the new start tells them apart.
    suffix = f":{appointment.starts_at.isoformat()}" if event is Event.RESCHEDULED else ""
    await enqueue(
        session, kind=_KINDS[event], recipient_user_id=appointment.client_id, subject=subject,
        body=body, locale=language.tag, appointment_id=appointment.id,
        dedupe_key=f"{_dedupe_prefix(event)}{appointment.id}{suffix}",
    )
    if refunded:
        _ = language.gettext
        credits = language.ngettext("{count} credit", "{count} credits", refunded).format(
            count=refunded)
        body = _("We have put {credits} back in your balance, for your appointment with {who} "
                 "on {when}.")
        await enqueue(
            session, kind=NotificationKind.REFUND, recipient_user_id=appointment.client_id,
            subject=_("Credits refunded: {credits} - {organization}").format(
                credits=credits, organization=organization.name),
            body=body.format(credits=credits, who=_who(provider),
                             when=_when(language, organization, appointment.starts_at)),
            locale=language.tag, appointment_id=appointment.id,
            dedupe_key=f"refund:{appointment.id}",
        )


def booked_message(language: Language, organization: Organization, provider: User,
                   starts_at: datetime) -> tuple[NotificationKind, str, str, str, str]:
    """The BOOKED message of an appointment not yet written, for the booking's one statement
    (app/appointments/booking_statement.py): kind, subject, body, language tag, and its dedupe
    key but for the appointment's id, which the statement appends."""
    subject, body = _text(language, Event.BOOKED, organization, provider, starts_at)
    return _KINDS[Event.BOOKED], subject, body, language.tag, _dedupe_prefix(Event.BOOKED)


def _text(language: Language, event: Event, organization: Organization, provider: User,
          starts_at: datetime) -> tuple[str, str]:
    """The subject and body of the client's message about `event`."""
    _ = language.gettext
    subject, body = {
        Event.BOOKED: (_("Your appointment is booked"),
                       _("Your appointment with {who} on {when} is booked. Please confirm it.")),
        Event.CONFIRMED: (_("Your appointment is confirmed"),
                          _("Your appointment with {who} on {when} is confirmed.")),
        Event.RESCHEDULED: (_("Your appointment has moved"),
                            _("Your appointment with {who} is now on {when}.")),
        Event.CANCELLED: (_("Your appointment is cancelled"),
                          _("Your appointment with {who} on {when} is cancelled.")),
        Event.EXPIRED: (_("Your booking expired"),
                        _("Your booking with {who} on {when} was not confirmed in time and "
                          "has been released.")),
    }[event]
    return (_("{subject} - {organization}").format(subject=subject, organization=organization.name),
            body.format(who=_who(provider), when=_when(language, organization, starts_at)))


def _who(provider: User) -> str:
    return f"{provider.first_name} {provider.last_name}"


def _when(language: Language, organization: Organization, starts_at: datetime) -> str:
    return language.moment(starts_at, organization.time_zone)


def _dedupe_prefix(event: Event) -> str:
    return f"{event}:"


async def tell_series_skipped(session: AsyncSession, series: AppointmentSeries,
                              skip: SeriesSkip) -> None:
    """Tells the client and the professional, once each, that an occurrence of their series
    could not be booked, naming the date and why; the series goes on."""
    organization = await organizations.get_current(session)
    professional = await people.get_professional(session, series.professional_id)
    # The series' own clock time: a skipped spring-forward start reads otherwise there.
    day = skip.starts_at.astimezone(ZoneInfo(series.time_zone)).date()
    for recipient in (series.client_id, professional.user_id):
        language = await language_of(session, recipient)
        _ = language.gettext
        await enqueue(
            session, kind=NotificationKind.SERIES_SKIPPED, recipient_user_id=recipient,
            subject=_("Not booked: the session of {day} - {organization}").format(
                day=language.day(skip.starts_at, series.time_zone),
                organization=organization.name),
            body=_("The standing appointment on {when} could not be booked: {reason} The "
                   "other sessions of the series stay booked.").format(
                       when=language.day_and_time(day, series.start_time, series.time_zone),
                       reason=_skip_reason(language, series, skip)),
            locale=language.tag,
            dedupe_key=f"series-skip:{series.id}:{skip.occurrence}:{recipient}",
        )


def _skip_reason(language: Language, series: AppointmentSeries, skip: SeriesSkip) -> str:
    """Why an occurrence was skipped, in words of the recipient's language: the skip's own
    message is the API's, in English (frontends translate it by its code)."""
    _ = language.gettext
    local = skip.starts_at.astimezone(ZoneInfo(series.time_zone))
    if (local.hour, local.minute) != (series.start_time.hour, series.start_time.minute):
        return _("That time does not exist on that day: the clocks go forward.")
    match skip.code:
        case UserErrorCode.INSUFFICIENT_CREDITS:
            return _("The credit balance was too low.")
        case UserErrorCode.OUTSIDE_BOOKING_WINDOW:
            return _("It was outside the organization's booking window.")
        case _:
            return _("The professional had no free slot at that time.")
