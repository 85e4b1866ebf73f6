"""Demo appointments: one in every state, one inside its refund window and one past it; and
a weekly series, its occurrences inside the booking window booked."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments import booking, cancellation, lifecycle, series
from app.auth import Principal
from app.clock import utc_now
from app.organizations import repository as organizations
from app.people import repository as people
from app.people.models import Professional, User
from app.scheduling import events as slot_events
from app.scheduling import repository as scheduling
from app.scheduling.generation import SlotPeriod
from app.scheduling.models import TimeSlot, TimeSlotStatus
from app.tenancy import current_organization_id

# How many weeks the demo's standing appointment runs: more than the booking window holds,
# so the series stays active and the extension job has weeks left to book.
SERIES_WEEKS = 8


async def seed_demo_appointments(session: AsyncSession, *, now: datetime | None = None) -> None:
    """Books demo clients with María, as the front desk would, in every state of the lifecycle."""
    now = utc_now(now)
    staff = await _principal(session, "frontdesk@demo.example")
    admin = await _principal(session, "admin@demo.example")
    carla = await people.find_user_by_email(session, "carla@demo.example")
    david = await people.find_user_by_email(session, "david@demo.example")
    lucy = next(student for student in await people.get_students_of_guardians(session, [david.id]))
    maria = await people.find_professional_by_user(
        session, (await people.find_user_by_email(session, "maria@demo.example")).id
    )

    # A standing appointment, booked first so the single bookings below take other slots:
    # David books Max every week with María, at 10:00 her time; the occurrences inside the
    # booking window are booked (each with its debit), the extension job books the rest.
    max_ = next(student for student in await people.get_students_of_guardians(session, [david.id])
                if student.first_name == "Max")
    weekly = await _free_slot(session, maria, after=now + timedelta(days=1), at=time(10))
    await series.book_series(session, _as(david), slot_id=weekly.id, interval_weeks=1,
                             count=SERIES_WEEKS, student_id=max_.id,
                             notes="Max's weekly speech therapy", now=now)

    # Upcoming: PRE_CONFIRMED well before its refund deadline, CONFIRMED past it.
    later = await _free_slot(session, maria, after=now + timedelta(days=4))
    soon = await _slot_near(session, maria, now + timedelta(hours=5))
    await booking.book_time_slot(session, staff, slot_id=later.id, client_id=david.id,
                                 student_id=lucy.id, notes="Lucy's first assessment", now=now)
    booked = await booking.book_time_slot(session, staff, slot_id=soon.id, client_id=carla.id,
                                          notes="Follow-up", now=now)
    await lifecycle.confirm_appointment(session, staff, booked.appointment.id, now=now)

    # Cancelled by the client in time: refunded.
    cancelled_slot = await _free_slot(session, maria, after=now + timedelta(days=6))
    cancelled = await booking.book_time_slot(session, staff, slot_id=cancelled_slot.id,
                                             client_id=carla.id, now=now)
    await cancellation.cancel_appointment(session, _as(carla), cancelled.appointment.id,
                                          reason="Family trip", now=now)

    # Booked a day ago and never confirmed: the worker's expiry job (which
    # `serve --demo` runs) cancels it with a full refund, without anyone acting.
    stale_slot = await _free_slot(session, maria, after=now + timedelta(days=8))
    organization = await organizations.get_current(session)
    await booking.book_time_slot(
        session, staff, slot_id=stale_slot.id, client_id=carla.id, notes="Never confirmed",
        now=now - timedelta(hours=organization.pre_confirmation_ttl_hours + 1),
    )

    # Last week: one session that took place and one the client missed.
    for days_ago, outcome in ((7, lifecycle.execute_appointment), (6, lifecycle.mark_no_show)):
        slot = await _slot_near(session, maria, now - timedelta(days=days_ago))
        booked_then = slot.starts_at - timedelta(days=2)
        past = await booking.book_time_slot(session, staff, slot_id=slot.id, client_id=david.id,
                                            student_id=lucy.id, now=booked_then)
        await lifecycle.confirm_appointment(session, staff, past.appointment.id, now=booked_then)
        await outcome(session, admin, past.appointment.id,
                      notes="Demo session notes", now=slot.ends_at)


async def _principal(session: AsyncSession, email: str) -> Principal:
    return _as(await people.find_user_by_email(session, email))


def _as(user: User) -> Principal:
    return Principal(user_id=user.id, organization_id=user.organization_id, role=user.role)


async def _free_slot(session: AsyncSession, professional: Professional, *, after: datetime,
                     at: time | None = None) -> TimeSlot:
    """The first AVAILABLE slot from `after` on; with `at`, the first starting at that local
    time of the professional (else the first of all)."""
    slots = await session.scalars(
        select(TimeSlot)
        .where(TimeSlot.organization_id == current_organization_id(session),
               TimeSlot.professional_id == professional.id,
               TimeSlot.status == TimeSlotStatus.AVAILABLE,
               TimeSlot.starts_at >= after)
        .order_by(TimeSlot.starts_at)
        .limit(1 if at is None else 200)
    )
    zone = ZoneInfo(professional.time_zone)
    candidates = list(slots)
    slot = next((slot for slot in candidates
                 if at is None or slot.starts_at.astimezone(zone).time() == at),
                candidates[0] if candidates else None)
    assert slot is not None, "the demo schedule generates slots through the booking window"
    return slot


async def _slot_near(session: AsyncSession, professional: Professional, moment: datetime
                     ) -> TimeSlot:
    """An AVAILABLE slot starting about at `moment` (on the hour), made if none is there.

    Generation only makes future slots inside working hours; the demo also
    wants one a few hours ahead and some in the past.
    """
    starts = moment.replace(minute=0, second=0, microsecond=0)
    length = timedelta(minutes=professional.session_minutes)
    await slot_events.announce(session, await scheduling.insert_available_slots(
        session, professional.id, [(None, SlotPeriod(starts, starts + length))]))
    slot = await session.scalar(
        select(TimeSlot)
        .where(TimeSlot.organization_id == current_organization_id(session),
               TimeSlot.professional_id == professional.id,
               TimeSlot.status == TimeSlotStatus.AVAILABLE,
               TimeSlot.starts_at > starts - length,
               TimeSlot.starts_at < starts + length)
        .order_by(TimeSlot.starts_at)
        .limit(1)
    )
    assert slot is not None, "a slot was just made here, or an available one overlaps it"
    return slot
