"""Helpers of the job tests: a fixed clock, slots, credits and bookings made through the services."""

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select, text

from app.appointments import booking, lifecycle
from app.appointments.models import Appointment
from app.auth import Principal
from app.credits import ledger
from app.db import Database
from app.notifications.models import OutboxMessage
from app.organizations.models import Organization
from app.scheduling import repository as scheduling
from app.scheduling import service as schedules
from app.scheduling.generation import SlotPeriod
from app.scheduling.models import TimeSlot, Weekday
from tests.support import Member, Tenant

# The jobs' clock: a Monday, 07:00 in New York (the test organizations' zone).
NOW = datetime(2031, 3, 3, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def principal(member: Member) -> Principal:
    return Principal(user_id=member.user.id, organization_id=member.user.organization_id,
                     role=member.user.role)


async def set_organization(db: Database, org: Tenant, **settings) -> None:
    async with db.transaction(org.id) as session:
        organization = await session.get(Organization, org.id)
        for name, value in settings.items():
            setattr(organization, name, value)


async def work_every_day(db: Database, org: Tenant, professional_id: int,
                         start: time = time(9), end: time = time(10)) -> None:
    """Rules for every weekday, through the scheduling service (as an admin would)."""
    async with db.transaction(org.id) as session:
        for weekday in Weekday:
            await schedules.create_rule(session, principal(org.admin), professional_id,
                                        weekday=weekday, start_time=start, end_time=end)


async def slots_of(db: Database, org: Tenant, professional_id: int) -> list[TimeSlot]:
    async with db.transaction(org.id, read_only=True) as session:
        return list(await session.scalars(
            select(TimeSlot).where(TimeSlot.professional_id == professional_id)
            .order_by(TimeSlot.starts_at)))


async def add_slot(db: Database, org: Tenant, starts_at: datetime) -> TimeSlot:
    """An AVAILABLE 60-minute slot of the org's professional, committed."""
    professional_id = org.professional_profile.id
    async with db.transaction(org.id) as session:
        await scheduling.insert_available_slots(
            session, professional_id, [(None, SlotPeriod(starts_at, starts_at + HOUR))])
        [slot] = await scheduling.get_slots_of_professional(
            session, professional_id, starts_at, starts_at + HOUR)
    return slot


async def give_credits(db: Database, org: Tenant, member: Member, credits: int, *,
                       now: datetime = NOW, expires_at: datetime | None = None) -> None:
    async with db.transaction(org.id) as session:
        await ledger.purchase(session, user_id=member.user.id, credits=credits,
                              amount_paid_cents=credits * 1000, currency="USD", now=now,
                              expires_at=expires_at)


async def book(db: Database, org: Tenant, starts_at: datetime, *, now: datetime = NOW,
               client: Member | None = None) -> Appointment:
    """A PRE_CONFIRMED booking by the front desk of a new slot at `starts_at` (credits included)."""
    client = client or org.client
    slot = await add_slot(db, org, starts_at)
    await give_credits(db, org, client, 1, now=now)
    async with db.transaction(org.id) as session:
        change = await booking.book_time_slot(
            session, principal(org.staff), slot_id=slot.id, client_id=client.user.id, now=now)
    return change.appointment


async def confirm(db: Database, org: Tenant, appointment: Appointment, *, now: datetime = NOW):
    async with db.transaction(org.id) as session:
        await lifecycle.confirm_appointment(session, principal(org.staff), appointment.id,
                                            now=now)


async def outbox(db: Database, org: Tenant, **filters) -> list[OutboxMessage]:
    """The organization's outbox messages, oldest first, optionally filtered by column values."""
    async with db.transaction(org.id, read_only=True) as session:
        statement = select(OutboxMessage).filter_by(**filters).order_by(OutboxMessage.id)
        return list(await session.scalars(statement))


async def count_rows(db: Database, org: Tenant, table: str) -> int:
    async with db.transaction(org.id, read_only=True) as session:
        return await session.scalar(text(f"SELECT count(*) FROM {table}"))
