"""Demo schedules: weekly hours, some time off, and slots through the booking window."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import utc_now
from app.organizations import repository as organizations
from app.people import repository as people
from app.scheduling.models import AvailabilityRule, TimeOff, Weekday
from app.scheduling.service import fill_time_slots

_WEEKDAYS = list(Weekday)

# email: [(weekdays, start, end)], in the professional's own zone.
_HOURS = {
    "maria@demo.example": [
        (_WEEKDAYS[0:5], time(9), time(12)),
        (_WEEKDAYS[0:5], time(13), time(17)),
    ],
    "tom@demo.example": [
        ([Weekday.TUESDAY, Weekday.THURSDAY], time(10), time(18)),
        ([Weekday.SATURDAY], time(9), time(13)),
    ],
    # Europe/London: clients in New York see her mornings as their early hours.
    "priya@demo.example": [
        (_WEEKDAYS[0:4], time(8, 30), time(16, 30)),
    ],
}

# email: [(first day offset from today, days, local start, local end, reason)]
_TIME_OFF = {
    "maria@demo.example": [(2, 1, time(13), time(17), "Conference")],
    "tom@demo.example": [(9, 1, time(0), time(0), "Personal day")],
    "priya@demo.example": [(14, 5, time(0), time(0), "Annual leave")],
}


async def seed_demo_schedule(
    session: AsyncSession, *, today: date | None = None, now: datetime | None = None
) -> int:
    """Gives each demo professional hours, time off and slots; returns how many slots exist."""
    now = utc_now(now)
    organization = await organizations.get_current(session)
    created = 0
    for email, hours in _HOURS.items():
        user = await people.find_user_by_email(session, email)
        professional = await people.find_professional_by_user(session, user.id)
        zone = ZoneInfo(professional.time_zone)
        first_day = today or now.astimezone(zone).date()
        session.add_all(
            AvailabilityRule(professional_id=professional.id, weekday=weekday,
                             start_time=start, end_time=end, active=True)
            for weekdays, start, end in hours
            for weekday in weekdays
        )
        for offset, days, start, end, reason in _TIME_OFF.get(email, []):
            starts_on = first_day + timedelta(days=offset)
            ends_on = starts_on + timedelta(days=days if end == time(0) else days - 1)
            session.add(TimeOff(
                professional_id=professional.id,
                starts_at=datetime.combine(starts_on, start, tzinfo=zone).astimezone(UTC),
                ends_at=datetime.combine(ends_on, end, tzinfo=zone).astimezone(UTC),
                reason=reason,
            ))
        await session.flush()
        created += await fill_time_slots(
            session, professional, first_day,
            first_day + timedelta(days=organization.booking_window_days), now=now,
        )
    return created
