"""Helpers of the scheduling tests: principals, extra professionals, dates, GraphQL documents."""

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text

from app import global_ids as ids
from app.auth import Principal, Role
from app.db import Database
from app.people.models import Professional, User
from app.scheduling.models import Weekday
from tests.support import Member, Tenant


def principal(member: Member) -> Principal:
    return Principal(
        user_id=member.user.id, organization_id=member.user.organization_id, role=member.user.role
    )


def admin(org: Tenant) -> Principal:
    return principal(org.admin)


async def add_professional(
    db: Database,
    org: Tenant,
    *,
    time_zone: str = "America/New_York",
    session_minutes: int = 60,
    buffer_minutes: int = 0,
) -> Professional:
    """Another professional of `org` (a user who cannot log in, and their profile)."""
    async with db.transaction(org.id) as session:
        user = User(
            email=f"pro-{uuid.uuid4().hex[:10]}@example.test",
            first_name="Pro",
            last_name="Fessional",
            phone="+1 555 0199",
            role=Role.PROFESSIONAL,
        )
        session.add(user)
        await session.flush()
        professional = Professional(
            user_id=user.id,
            time_zone=time_zone,
            session_minutes=session_minutes,
            buffer_minutes=buffer_minutes,
            credit_cost=1,
        )
        session.add(professional)
        await session.flush()
    return professional


def upcoming(weekday: Weekday, *, days_ahead: int = 7) -> date:
    """The first `weekday` at least `days_ahead` days from today: inside the default window."""
    day = datetime.now(UTC).date() + timedelta(days=days_ahead)
    return day + timedelta(days=(weekday.iso - day.isoweekday()) % 7)


def gid(type_name: str, pk: int) -> str:
    return ids.encode(type_name, pk)


async def set_slot_status(db: Database, org: Tenant, slot_id: int, status: str) -> None:
    """Sets a slot's status behind the services' back (booking belongs to another module)."""
    reason = "'MANUAL'" if status == "BLOCKED" else "NULL"
    async with db.transaction(org.id) as session:
        await session.execute(
            text(f"UPDATE time_slots SET status = :status, block_reason = {reason} WHERE id = :id"),
            {"status": status, "id": slot_id},
        )


async def slot_rows(db: Database, org: Tenant, professional_id: int) -> list[tuple]:
    """(starts_at, ends_at, status) of every slot of a professional, in time order."""
    async with db.transaction(org.id, read_only=True) as session:
        result = await session.execute(
            text(
                "SELECT starts_at, ends_at, status FROM time_slots "
                "WHERE professional_id = :id ORDER BY starts_at"
            ),
            {"id": professional_id},
        )
        return [tuple(row) for row in result]


RULE_FIELDS = "id weekday startTime endTime effectiveFrom effectiveUntil active professional { id }"
ERRORS = "userErrors { code field message }"

CREATE_RULE = f"""
mutation ($input: CreateAvailabilityRuleInput!) {{
  createAvailabilityRule(input: $input) {{ availabilityRule {{ {RULE_FIELDS} }} {ERRORS} }}
}}"""

UPDATE_RULE = f"""
mutation ($input: UpdateAvailabilityRuleInput!) {{
  updateAvailabilityRule(input: $input) {{ availabilityRule {{ {RULE_FIELDS} }} {ERRORS} }}
}}"""

DELETE_RULE = f"""
mutation ($id: ID!) {{ deleteAvailabilityRule(id: $id) {{ deletedId {ERRORS} }} }}"""

CREATE_TIME_OFF = f"""
mutation ($input: CreateTimeOffInput!) {{
  createTimeOff(input: $input) {{
    timeOff {{ id startsAt endsAt reason professional {{ id }} }}
    bookedTimeSlots {{ id startsAt status }}
    {ERRORS}
  }}
}}"""

DELETE_TIME_OFF = f"""
mutation ($id: ID!) {{ deleteTimeOff(id: $id) {{ deletedId {ERRORS} }} }}"""

GENERATE = f"""
mutation ($input: GenerateTimeSlotsInput!) {{
  generateTimeSlots(input: $input) {{ createdCount {ERRORS} }}
}}"""

BLOCK = f"""
mutation ($id: ID!) {{ blockTimeSlot(id: $id) {{ timeSlot {{ id status }} {ERRORS} }} }}"""

UNBLOCK = f"""
mutation ($id: ID!) {{ unblockTimeSlot(id: $id) {{ timeSlot {{ id status }} {ERRORS} }} }}"""

TIME_SLOTS = """
query ($professionalId: ID!, $from: DateTime!, $to: DateTime!, $status: TimeSlotStatus) {
  timeSlots(professionalId: $professionalId, from: $from, to: $to, status: $status) {
    id startsAt endsAt status professional { id }
  }
}"""

AVAILABILITY = """
query ($ids: [ID!]!, $from: Date!, $to: Date!, $timeZone: String) {
  availability(professionalIds: $ids, from: $from, to: $to, timeZone: $timeZone) {
    professional { id }
    timeZone
    days { date slots { id startsAt endsAt status professional { id } } }
  }
}"""


async def create_rule(
    api, member: Member, professional_id: str, weekday: Weekday, start: str, end: str, **extra
) -> dict:
    data = await api.data(
        CREATE_RULE,
        {
            "input": {
                "professionalId": professional_id,
                "weekday": weekday.value,
                "startTime": start,
                "endTime": end,
                **extra,
            }
        },
        as_=member,
    )
    return data["createAvailabilityRule"]


async def generate(api, member: Member, professional_id: str, first: date, last: date) -> dict:
    data = await api.data(
        GENERATE,
        {
            "input": {
                "professionalId": professional_id,
                "from": first.isoformat(),
                "to": last.isoformat(),
            }
        },
        as_=member,
    )
    return data["generateTimeSlots"]


async def time_slots(
    api,
    member: Member,
    professional_id: str,
    first: datetime,
    last: datetime,
    status: str | None = None,
) -> list[dict]:
    data = await api.data(
        TIME_SLOTS,
        {
            "professionalId": professional_id,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "status": status,
        },
        as_=member,
    )
    return data["timeSlots"]
