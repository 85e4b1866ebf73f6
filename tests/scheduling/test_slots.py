"""Slot generation against the database: idempotent, race-safe, never touching booked slots."""

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app import global_ids as ids
from app.db import violated_constraint
from app.scheduling import generation, service
from app.scheduling.models import Weekday
from tests.scheduling.support import (
    BLOCK,
    GENERATE,
    UNBLOCK,
    add_professional,
    admin,
    create_rule,
    generate,
    set_slot_status,
    slot_rows,
    time_slots,
    upcoming,
)

NEW_YORK = ZoneInfo("America/New_York")
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def at(day, hour, minute=0, zone=NEW_YORK) -> datetime:
    return datetime.combine(day, time(hour, minute), zone).astimezone(UTC)


async def test_generating_twice_creates_nothing_new(api, db, org):
    first, last = upcoming(Weekday.MONDAY), upcoming(Weekday.MONDAY) + timedelta(days=13)
    await create_rule(api, org.admin, org.professional_id, Weekday.MONDAY, "09:00", "12:00")
    await create_rule(api, org.admin, org.professional_id, Weekday.THURSDAY, "14:00", "16:00")

    once = await generate(api, org.admin, org.professional_id, first, last)
    rows = await slot_rows(db, org, org.professional_profile.id)
    twice = await generate(api, org.admin, org.professional_id, first, last)

    assert once == {"createdCount": 10, "userErrors": []}
    assert twice == {"createdCount": 0, "userErrors": []}
    assert await slot_rows(db, org, org.professional_profile.id) == rows


async def test_generation_never_touches_booked_slots_and_skips_overlaps(api, db, org):
    day = upcoming(Weekday.MONDAY)
    await create_rule(api, org.admin, org.professional_id, Weekday.MONDAY, "09:00", "12:00")
    await generate(api, org.admin, org.professional_id, day, day)
    slots = await time_slots(api, org.admin, org.professional_id, at(day, 0), at(day, 23))
    await set_slot_status(db, org, ids.parse(slots[1]["id"])[1], "BOOKED")  # 10:00-11:00
    # Shorter sessions now: the new 30-minute grid collides with the booked hour.
    async with db.transaction(org.id) as session:
        await session.execute(
            text("UPDATE professionals SET session_minutes = 30 WHERE id = :p"),
            {"p": org.professional_profile.id},
        )
        await session.execute(
            text(
                "DELETE FROM time_slots WHERE status = 'AVAILABLE' "
                "AND professional_id = :p AND starts_at >= :t"
            ),
            {"p": org.professional_profile.id, "t": at(day, 11)},
        )

    generated = await generate(api, org.admin, org.professional_id, day, day)

    after = await time_slots(api, org.admin, org.professional_id, at(day, 0), at(day, 23))
    assert generated["createdCount"] == 2
    assert [(slot["startsAt"], slot["endsAt"], slot["status"]) for slot in after] == [
        (at(day, 9).isoformat(), at(day, 10).isoformat(), "AVAILABLE"),
        (at(day, 10).isoformat(), at(day, 11).isoformat(), "BOOKED"),
        (at(day, 11).isoformat(), at(day, 11, 30).isoformat(), "AVAILABLE"),
        (at(day, 11, 30).isoformat(), at(day, 12).isoformat(), "AVAILABLE"),
    ]


async def test_generation_does_not_create_slots_in_the_past(db, org):
    professional = org.professional_profile
    async with db.transaction(org.id) as session:
        await service.create_rule(
            session,
            admin(org),
            professional.id,
            weekday=Weekday.MONDAY,
            start_time=time(9),
            end_time=time(12),
        )
        created = await service.generate_time_slots(
            session,
            admin(org),
            professional.id,
            date(2027, 1, 4),
            date(2027, 1, 4),
            now=at(date(2027, 1, 4), 10, 30),
        )

    assert created == 1  # 11:00 only; 09:00 and 10:00 have started


async def test_concurrent_generations_create_each_slot_once(db, org):
    professional = await add_professional(db, org)
    async with db.transaction(org.id) as session:
        for weekday in Weekday:
            await service.create_rule(
                session,
                admin(org),
                professional.id,
                weekday=weekday,
                start_time=time(8),
                end_time=time(18),
            )

    async def generate_in_own_transaction() -> int:
        async with db.transaction(org.id) as session:
            return await service.generate_time_slots(
                session,
                admin(org),
                professional.id,
                date(2027, 3, 1),
                date(2027, 3, 31),
                now=LONG_AGO,
            )

    counts = await asyncio.gather(*(generate_in_own_transaction() for _ in range(6)))

    assert sum(counts) == 31 * 10
    assert sorted(counts)[:-1] == [0] * 5
    assert len(await slot_rows(db, org, professional.id)) == 31 * 10


async def test_database_refuses_overlapping_slots_inserted_directly(db, org):
    insert = text(
        "INSERT INTO time_slots (organization_id, professional_id, starts_at, ends_at) "
        "VALUES (:org, :pro, :starts, :ends)"
    )
    values = {"org": org.id, "pro": org.professional_profile.id}
    day = date(2027, 1, 4)

    with pytest.raises(IntegrityError) as refused:
        async with db.transaction(org.id) as session:
            await session.execute(insert, {**values, "starts": at(day, 9), "ends": at(day, 10)})
            await session.execute(
                insert, {**values, "starts": at(day, 9, 59), "ends": at(day, 10, 59)}
            )

    assert violated_constraint(refused.value) == "time_slots_no_overlap"


async def test_back_to_back_slots_are_allowed_by_the_database(db, org):
    insert = text(
        "INSERT INTO time_slots (organization_id, professional_id, starts_at, ends_at) "
        "VALUES (:org, :pro, :starts, :ends)"
    )
    values = {"org": org.id, "pro": org.professional_profile.id}
    day = date(2027, 1, 4)

    async with db.transaction(org.id) as session:
        await session.execute(insert, {**values, "starts": at(day, 9), "ends": at(day, 10)})
        await session.execute(insert, {**values, "starts": at(day, 10), "ends": at(day, 11)})

    assert len(await slot_rows(db, org, org.professional_profile.id)) == 2


async def test_block_and_unblock_a_slot(api, db, org):
    day = upcoming(Weekday.MONDAY)
    await create_rule(api, org.admin, org.professional_id, Weekday.MONDAY, "09:00", "11:00")
    await generate(api, org.admin, org.professional_id, day, day)
    free, booked = await time_slots(api, org.admin, org.professional_id, at(day, 0), at(day, 23))
    await set_slot_status(db, org, ids.parse(booked["id"])[1], "BOOKED")

    blocked = await api.data(BLOCK, {"id": free["id"]}, as_=org.professional)
    unblocked = await api.data(UNBLOCK, {"id": free["id"]}, as_=org.professional)
    booked_block = await api.data(BLOCK, {"id": booked["id"]}, as_=org.admin)
    booked_unblock = await api.data(UNBLOCK, {"id": booked["id"]}, as_=org.admin)

    assert blocked["blockTimeSlot"] == {
        "timeSlot": {"id": free["id"], "status": "BLOCKED"},
        "userErrors": [],
    }
    assert unblocked["unblockTimeSlot"] == {
        "timeSlot": {"id": free["id"], "status": "AVAILABLE"},
        "userErrors": [],
    }
    for refused in (booked_block["blockTimeSlot"], booked_unblock["unblockTimeSlot"]):
        assert refused["timeSlot"] is None
        assert [error["code"] for error in refused["userErrors"]] == ["CONFLICT"]


async def test_time_slots_filters_by_status(api, db, org):
    day = upcoming(Weekday.MONDAY)
    await create_rule(api, org.admin, org.professional_id, Weekday.MONDAY, "09:00", "12:00")
    await generate(api, org.admin, org.professional_id, day, day)
    slots = await time_slots(api, org.admin, org.professional_id, at(day, 0), at(day, 23))
    await api.data(BLOCK, {"id": slots[1]["id"]}, as_=org.admin)

    blocked = await time_slots(
        api, org.client, org.professional_id, at(day, 0), at(day, 23), status="BLOCKED"
    )

    assert blocked == [
        {
            "id": slots[1]["id"],
            "startsAt": at(day, 10).isoformat(),
            "endsAt": at(day, 11).isoformat(),
            "status": "BLOCKED",
            "professional": {"id": org.professional_id},
        }
    ]


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        (date(2027, 1, 10), date(2027, 1, 9), "must not be before"),
        (date(2027, 1, 1), date(2028, 1, 2), "at most 366 days"),
    ],
)
async def test_generation_range_must_be_ordered_and_at_most_366_days(
    api, org, first, last, message
):
    data = await api.data(
        GENERATE,
        {
            "input": {
                "professionalId": org.professional_id,
                "from": first.isoformat(),
                "to": last.isoformat(),
            }
        },
        as_=org.admin,
    )

    [error] = data["generateTimeSlots"]["userErrors"]
    assert (error["code"], error["field"]) == ("VALIDATION_FAILED", ["input", "to"])
    assert message in error["message"]


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 3, 5, tzinfo=UTC)),  # 63 days
        (datetime(2027, 1, 2, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    ],
)
async def test_time_slots_range_is_limited(api, org, first, last):
    body = await api.post(
        "query ($id: ID!, $from: DateTime!, $to: DateTime!) {"
        " timeSlots(professionalId: $id, from: $from, to: $to) { id } }",
        {"id": org.professional_id, "from": first.isoformat(), "to": last.isoformat()},
        as_=org.admin,
    )

    assert [error["extensions"]["code"] for error in body["errors"]] == ["VALIDATION_FAILED"]


async def test_time_slots_of_another_organizations_professional_is_not_found(api, org, other_org):
    body = await api.post(
        'query ($id: ID!) { timeSlots(professionalId: $id, from: "2027-01-01T00:00:00+00:00",'
        ' to: "2027-01-02T00:00:00+00:00") { id } }',
        {"id": other_org.professional_id},
        as_=org.admin,
    )

    assert [error["extensions"]["code"] for error in body["errors"]] == ["NOT_FOUND"]


# ---- generation property against the database ------------------------------

ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Argentina/Buenos_Aires",
]


@st.composite
def weekly_schedules(draw):
    """One to three rules on distinct weekdays (so they never overlap), and a date range."""
    weekdays = draw(st.lists(st.sampled_from(list(Weekday)), min_size=1, max_size=3, unique=True))
    rules = []
    for weekday in weekdays:
        start = draw(st.integers(min_value=0, max_value=23 * 60))
        end = draw(st.integers(min_value=start + 1, max_value=24 * 60 - 1))
        rules.append((weekday, time(start // 60, start % 60), time(end // 60, end % 60)))
    first_day = draw(st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)))
    return {
        "zone": draw(st.sampled_from(ZONES)),
        "session": draw(st.integers(min_value=15, max_value=120)),
        "buffer": draw(st.integers(min_value=0, max_value=30)),
        "rules": rules,
        "first_day": first_day,
        "last_day": first_day + timedelta(days=draw(st.integers(min_value=0, max_value=30))),
    }


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(schedule=weekly_schedules())
async def test_generating_twice_adds_nothing_and_stores_exactly_the_generated_slots(
    db, org, schedule
):
    professional = await add_professional(
        db,
        org,
        time_zone=schedule["zone"],
        session_minutes=schedule["session"],
        buffer_minutes=schedule["buffer"],
    )
    async with db.transaction(org.id) as session:
        for weekday, start, end in schedule["rules"]:
            await service.create_rule(
                session,
                admin(org),
                professional.id,
                weekday=weekday,
                start_time=start,
                end_time=end,
            )

    async def run() -> int:
        async with db.transaction(org.id) as session:
            return await service.fill_time_slots(
                session, professional, schedule["first_day"], schedule["last_day"], now=LONG_AGO
            )

    first = await run()
    stored = await slot_rows(db, org, professional.id)
    second = await run()

    expected = generation.generate(
        [generation.Hours(weekday, start, end) for weekday, start, end in schedule["rules"]],
        zone=ZoneInfo(schedule["zone"]),
        session_minutes=schedule["session"],
        buffer_minutes=schedule["buffer"],
        first_day=schedule["first_day"],
        last_day=schedule["last_day"],
    )
    assert first == len(expected)
    assert second == 0
    assert stored == [(period.starts_at, period.ends_at, "AVAILABLE") for _, period in expected]
    assert await slot_rows(db, org, professional.id) == stored
