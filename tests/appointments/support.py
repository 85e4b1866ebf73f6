"""Helpers of the appointment tests: slots at chosen times, credits, and GraphQL documents."""

from datetime import UTC, datetime, timedelta

from app import global_ids as ids
from app.credits import ledger
from app.db import Database
from app.scheduling import repository as scheduling
from app.scheduling.generation import SlotPeriod
from app.scheduling.models import TimeSlot
from tests.support import Member, Tenant

HOUR = timedelta(hours=1)


def in_days(days: float, *, hour: int = 15) -> datetime:
    """An instant `days` from now at a round UTC hour: inside the default 30-day window."""
    day = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    return day + timedelta(days=days)


def hours_from_now(hours: float) -> datetime:
    """An instant `hours` from now, to the second."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(hours=hours)


async def add_slots(db: Database, org: Tenant, starts: list[datetime], *,
                    professional_id: int | None = None, minutes: int = 60) -> list[TimeSlot]:
    """AVAILABLE slots of the org's professional starting at `starts`, committed."""
    professional_id = professional_id or org.professional_profile.id
    periods = [SlotPeriod(start, start + timedelta(minutes=minutes)) for start in starts]
    async with db.transaction(org.id) as session:
        await scheduling.insert_available_slots(session, professional_id,
                                                [(None, period) for period in periods])
        slots = await scheduling.get_slots_of_professional(
            session, professional_id, min(starts), max(starts) + timedelta(minutes=minutes), None)
    wanted = set(starts)
    return [slot for slot in slots if slot.starts_at in wanted]


async def add_slot(db: Database, org: Tenant, starts: datetime, **kwargs) -> TimeSlot:
    [slot] = await add_slots(db, org, [starts], **kwargs)
    return slot


async def give_credits(db: Database, org: Tenant, member: Member, credits: int) -> None:
    async with db.transaction(org.id) as session:
        await ledger.purchase(session, user_id=member.user.id, credits=credits,
                              amount_paid_cents=credits * 2500, currency="USD",
                              now=datetime.now(UTC), expires_at=None)


def slot_id(slot: TimeSlot) -> str:
    return ids.encode("TimeSlot", slot.id)


APPOINTMENT_FIELDS = """
  id state creditCost refundableUntil startsAt notes
  timeSlot { id status }
  client { email }
  student { firstName }
"""

BOOK = f"""
mutation Book($input: BookTimeSlotInput!) {{
  bookTimeSlot(input: $input) {{
    appointment {{ {APPOINTMENT_FIELDS} }}
    creditTransaction {{ type amount balanceAfter }}
    creditBalance {{ balance }}
    userErrors {{ code field message }}
  }}
}}
"""

CANCEL = f"""
mutation Cancel($input: CancelAppointmentInput!) {{
  cancelAppointment(input: $input) {{
    appointment {{ {APPOINTMENT_FIELDS} cancelledBy {{ email }} cancellationReason }}
    creditTransaction {{ type amount reverses {{ type amount }} }}
    creditBalance {{ balance }}
    userErrors {{ code field message }}
  }}
}}
"""

RESCHEDULE = f"""
mutation Reschedule($input: RescheduleAppointmentInput!) {{
  rescheduleAppointment(input: $input) {{
    appointment {{ {APPOINTMENT_FIELDS} }}
    creditTransaction {{ type amount }}
    creditBalance {{ balance }}
    userErrors {{ code field message }}
  }}
}}
"""


def action(name: str) -> str:
    return f"""
mutation Act($input: AppointmentActionInput!) {{
  {name}(input: $input) {{
    appointment {{ id state confirmedAt executedAt notes privateNotes }}
    userErrors {{ code field message }}
  }}
}}
"""


async def book(api, member: Member, slot: TimeSlot, **extra) -> dict:
    """Books `slot` through the API; the bookTimeSlot payload."""
    body = await api.data(BOOK, {"input": {"timeSlotId": slot_id(slot), **extra}}, as_=member)
    return body["bookTimeSlot"]
