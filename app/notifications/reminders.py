"""Appointment reminders: one outbox message per appointment and lead time (docs/operations.md: background jobs).

An appointment gets a reminder at each of the organization's
`reminderLeadHours` before its start, while it is PRE_CONFIRMED or CONFIRMED.
When several lead times have passed by the time the job looks (a late
booking, a worker that was down), only the nearest one is sent: nobody wants
a "tomorrow" reminder an hour before the session. Each is written in its client's
language (app/i18n). The outbox's unique key
(organization, appointment, kind, lead hours) keeps a second run, or a
concurrent one, from adding a reminder twice.
"""

from datetime import datetime, timedelta

from sqlalchemy import ARRAY, Integer, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.i18n.languages import for_recipient
from app.notifications.models import NotificationKind
from app.notifications.outbox import insert_message
from app.organizations import repository as organizations
from app.tenancy import current_organization_id

_DUE_REMINDERS = text(
    """
    SELECT appointment.id, appointment.client_id, appointment.starts_at, due.lead_hours,
           pro.first_name, pro.last_name, client.locale AS client_locale
    FROM appointments AS appointment
    CROSS JOIN LATERAL (
        SELECT min(hours) AS lead_hours FROM unnest(:leads) AS hours
        WHERE appointment.starts_at - make_interval(hours => hours) <= :now
    ) AS due
    JOIN professionals AS professional
      ON professional.organization_id = appointment.organization_id
     AND professional.id = appointment.professional_id
    JOIN users AS pro
      ON pro.organization_id = professional.organization_id AND pro.id = professional.user_id
    JOIN users AS client
      ON client.organization_id = appointment.organization_id AND client.id = appointment.client_id
    WHERE appointment.organization_id = :organization_id
      AND appointment.state IN ('PRE_CONFIRMED', 'CONFIRMED')
      AND appointment.starts_at > :now
      AND appointment.starts_at <= :horizon
      AND due.lead_hours IS NOT NULL
      AND NOT EXISTS (
            SELECT 1 FROM notification_outbox AS reminder
            WHERE reminder.organization_id = appointment.organization_id
              AND reminder.appointment_id = appointment.id
              AND reminder.kind = 'REMINDER'
              AND reminder.lead_hours = due.lead_hours)
    ORDER BY appointment.starts_at, appointment.id
    """
).bindparams(bindparam("leads", type_=ARRAY(Integer)))


async def queue_reminders(session: AsyncSession, *, now: datetime) -> int:
    """Adds the due reminders of the organization's upcoming appointments; returns how many."""
    organization = await organizations.get_current(session)
    leads = sorted(set(organization.reminder_lead_hours or []))
    if not leads:
        return 0
    rows = await session.execute(_DUE_REMINDERS, {
        "organization_id": current_organization_id(session),
        "leads": leads,
        "now": now,
        "horizon": now + timedelta(hours=leads[-1]),
    })
    added = 0
    for row in rows.all():
        language = for_recipient(row.client_locale, organization.locale)
        _ = language.gettext
        when = language.moment(row.starts_at, organization.time_zone)
        created = await insert_message(
            session,
            kind=NotificationKind.REMINDER,
            recipient_user_id=row.client_id,
            appointment_id=row.id,
            lead_hours=row.lead_hours,
            subject=_("Reminder: your appointment on {when}").format(when=when),
            body=_("This is a reminder of your appointment with {who} on {when}, at "
                   "{organization}.").format(
                       who=f"{row.first_name} {row.last_name}", when=when,
                       organization=organization.name),
            locale=language.tag,
            due_at=now,
        )
        added += created is not None
    return added
