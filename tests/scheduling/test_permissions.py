"""Who may change a schedule (docs/rules.md: roles): ADMIN and STAFF anyone's, a professional their own."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from app.scheduling.models import Weekday
from tests.scheduling.support import (
    BLOCK,
    CREATE_RULE,
    CREATE_TIME_OFF,
    DELETE_RULE,
    DELETE_TIME_OFF,
    GENERATE,
    UNBLOCK,
    UPDATE_RULE,
    create_rule,
    generate,
    time_slots,
    upcoming,
)
from tests.support import error_codes

NEW_YORK = ZoneInfo("America/New_York")


def at(day, hour) -> str:
    return datetime.combine(day, time(hour), NEW_YORK).astimezone(UTC).isoformat()


async def _rule(api, org) -> str:
    created = await create_rule(
        api, org.admin, org.professional_id, Weekday.FRIDAY, "09:00", "11:00"
    )
    return created["availabilityRule"]["id"]


async def _slot(api, org, *, blocked: bool = False) -> str:
    day = upcoming(Weekday.FRIDAY)
    await _rule(api, org)
    await generate(api, org.admin, org.professional_id, day, day)
    [slot, _] = await time_slots(
        api,
        org.admin,
        org.professional_id,
        datetime.combine(day, time(0), NEW_YORK),
        datetime.combine(day, time(23), NEW_YORK),
    )
    if blocked:
        await api.data(BLOCK, {"id": slot["id"]}, as_=org.admin)
    return slot["id"]


async def _time_off(api, org) -> str:
    day = upcoming(Weekday.FRIDAY)
    data = await api.data(
        CREATE_TIME_OFF,
        {
            "input": {
                "professionalId": org.professional_id,
                "startsAt": at(day, 9),
                "endsAt": at(day, 12),
            }
        },
        as_=org.admin,
    )
    return data["createTimeOff"]["timeOff"]["id"]


async def create_rule_case(api, org):
    return CREATE_RULE, {
        "input": {
            "professionalId": org.professional_id,
            "weekday": "MONDAY",
            "startTime": "09:00",
            "endTime": "10:00",
        }
    }


async def update_rule_case(api, org):
    return UPDATE_RULE, {"input": {"id": await _rule(api, org), "endTime": "12:00"}}


async def delete_rule_case(api, org):
    return DELETE_RULE, {"id": await _rule(api, org)}


async def create_time_off_case(api, org):
    day = upcoming(Weekday.MONDAY)
    return CREATE_TIME_OFF, {
        "input": {
            "professionalId": org.professional_id,
            "startsAt": at(day, 9),
            "endsAt": at(day, 17),
        }
    }


async def delete_time_off_case(api, org):
    return DELETE_TIME_OFF, {"id": await _time_off(api, org)}


async def generate_case(api, org):
    await _rule(api, org)
    day = upcoming(Weekday.FRIDAY)
    return GENERATE, {
        "input": {
            "professionalId": org.professional_id,
            "from": day.isoformat(),
            "to": (day + timedelta(days=7)).isoformat(),
        }
    }


async def block_case(api, org):
    return BLOCK, {"id": await _slot(api, org)}


async def unblock_case(api, org):
    return UNBLOCK, {"id": await _slot(api, org, blocked=True)}


CASES = [
    create_rule_case,
    update_rule_case,
    delete_rule_case,
    create_time_off_case,
    delete_time_off_case,
    generate_case,
    block_case,
    unblock_case,
]


async def schedule_of(db, org) -> list:
    """Every rule, time off and slot row of the organization, to prove nothing changed."""
    async with db.transaction(org.id, read_only=True) as session:
        return [
            list(await session.execute(text(f"SELECT * FROM {table} ORDER BY id")))
            for table in ("availability_rules", "time_off", "time_slots")
        ]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
@pytest.mark.parametrize("member", ["admin", "staff", "professional"])
async def test_admin_staff_and_the_professional_may_change_the_schedule(api, org, case, member):
    document, variables = await case(api, org)

    data = await api.data(document, variables, as_=getattr(org, member))

    [payload] = data.values()
    assert payload["userErrors"] == []


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
@pytest.mark.parametrize("member", ["other_professional", "client"])
async def test_clients_and_other_professionals_are_forbidden(api, db, org, case, member):
    document, variables = await case(api, org)
    before = await schedule_of(db, org)

    body = await api.post(document, variables, as_=getattr(org, member))

    assert error_codes(body) == ["FORBIDDEN"]
    assert body["data"] is None
    assert await schedule_of(db, org) == before


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
async def test_anonymous_callers_are_unauthenticated(api, org, case):
    document, variables = await case(api, org)

    body = await api.post(document, variables)

    assert error_codes(body) == ["UNAUTHENTICATED"]
