"""Time off: blocks the slots inside it, hides them from availability, and unblocks on delete."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text

from app import global_ids as ids
from app.scheduling.models import Weekday
from tests.scheduling.support import (
    AVAILABILITY,
    BLOCK,
    CREATE_TIME_OFF,
    DELETE_TIME_OFF,
    UNBLOCK,
    create_rule,
    generate,
    set_slot_status,
    time_slots,
    upcoming,
)

NEW_YORK = ZoneInfo("America/New_York")


def at(day, hour, minute=0) -> datetime:
    return datetime.combine(day, time(hour, minute), NEW_YORK).astimezone(UTC)


async def _monday_with_slots(api, org):
    """Next-week Monday with AVAILABLE slots 09:00-13:00 (New York), and their API view."""
    day = upcoming(Weekday.MONDAY)
    await create_rule(api, org.admin, org.professional_id, Weekday.MONDAY, "09:00", "13:00")
    await generate(api, org.admin, org.professional_id, day, day)
    slots = await time_slots(api, org.admin, org.professional_id, at(day, 0), at(day, 23))
    return day, slots


async def _create_time_off(api, member, org, starts, ends, reason=None):
    data = await api.data(
        CREATE_TIME_OFF,
        {
            "input": {
                "professionalId": org.professional_id,
                "startsAt": starts.isoformat(),
                "endsAt": ends.isoformat(),
                "reason": reason,
            }
        },
        as_=member,
    )
    return data["createTimeOff"]


async def test_time_off_blocks_the_available_slots_inside_it_and_reports_booked_ones(api, db, org):
    day, slots = await _monday_with_slots(api, org)
    await set_slot_status(db, org, ids.parse(slots[2]["id"])[1], "BOOKED")  # 11:00

    created = await _create_time_off(api, org.staff, org, at(day, 10, 30), at(day, 12), "Dentist")

    assert created["userErrors"] == []
    assert created["timeOff"]["startsAt"] == at(day, 10, 30).isoformat()
    assert created["timeOff"]["reason"] == "Dentist"
    assert created["bookedTimeSlots"] == [
        {"id": slots[2]["id"], "startsAt": at(day, 11).isoformat(), "status": "BOOKED"}
    ]
    after = await time_slots(api, org.admin, org.professional_id, at(day, 0), at(day, 23))
    assert [slot["status"] for slot in after] == ["AVAILABLE", "BLOCKED", "BOOKED", "AVAILABLE"]


async def test_time_off_hides_slots_from_availability(api, org):
    day, _ = await _monday_with_slots(api, org)
    await _create_time_off(api, org.admin, org, at(day, 9, 30), at(day, 11))

    data = await api.data(
        AVAILABILITY,
        {"ids": [org.professional_id], "from": day.isoformat(), "to": day.isoformat()},
        as_=org.client,
    )

    [day_view] = data["availability"][0]["days"]
    assert [slot["startsAt"] for slot in day_view["slots"]] == [
        at(day, 11).isoformat(),
        at(day, 12).isoformat(),
    ]


async def test_availability_hides_slots_inside_time_off_even_if_left_available(api, db, org):
    # A time off written behind the services' back must still hide the slots.
    day, _ = await _monday_with_slots(api, org)
    async with db.transaction(org.id) as session:
        await session.execute(
            text(
                "INSERT INTO time_off (organization_id, professional_id, starts_at, ends_at) "
                "VALUES (:org, :pro, :starts, :ends)"
            ),
            {
                "org": org.id,
                "pro": org.professional_profile.id,
                "starts": at(day, 12, 59),
                "ends": at(day, 14),
            },
        )

    data = await api.data(
        AVAILABILITY,
        {"ids": [org.professional_id], "from": day.isoformat(), "to": day.isoformat()},
        as_=org.client,
    )

    assert [slot["startsAt"] for slot in data["availability"][0]["days"][0]["slots"]] == [
        at(day, hour).isoformat() for hour in (9, 10, 11)
    ]


async def test_generation_skips_slots_overlapping_time_off(api, org):
    day = upcoming(Weekday.MONDAY)
    await create_rule(api, org.admin, org.professional_id, Weekday.MONDAY, "09:00", "13:00")
    await _create_time_off(api, org.admin, org, at(day, 10, 15), at(day, 10, 45))

    generated = await generate(api, org.admin, org.professional_id, day, day)

    slots = await time_slots(api, org.admin, org.professional_id, at(day, 0), at(day, 23))
    assert generated == {"createdCount": 3, "userErrors": []}
    assert [slot["startsAt"] for slot in slots] == [
        at(day, hour).isoformat() for hour in (9, 11, 12)
    ]


async def test_deleting_time_off_frees_only_the_slots_it_alone_blocked(api, org):
    day, slots = await _monday_with_slots(api, org)
    by_hand = await api.data(BLOCK, {"id": slots[0]["id"]}, as_=org.admin)  # 09:00
    removed = await _create_time_off(api, org.admin, org, at(day, 9), at(day, 11))
    await _create_time_off(api, org.admin, org, at(day, 10, 30), at(day, 12))  # overlaps 10:00

    deleted = await api.data(DELETE_TIME_OFF, {"id": removed["timeOff"]["id"]}, as_=org.admin)

    assert by_hand["blockTimeSlot"]["timeSlot"]["status"] == "BLOCKED"
    assert deleted["deleteTimeOff"] == {"deletedId": removed["timeOff"]["id"], "userErrors": []}
    after = await time_slots(api, org.admin, org.professional_id, at(day, 0), at(day, 23))
    assert [slot["status"] for slot in after] == ["BLOCKED", "BLOCKED", "BLOCKED", "AVAILABLE"]


async def test_a_slot_inside_time_off_cannot_be_unblocked(api, org):
    day, slots = await _monday_with_slots(api, org)
    await _create_time_off(api, org.admin, org, at(day, 9), at(day, 10))

    data = await api.data(UNBLOCK, {"id": slots[0]["id"]}, as_=org.admin)

    assert data["unblockTimeSlot"]["timeSlot"] is None
    assert [e["code"] for e in data["unblockTimeSlot"]["userErrors"]] == ["CONFLICT"]


async def test_time_off_ending_before_it_starts_is_refused(api, org):
    day = upcoming(Weekday.MONDAY)

    refused = await _create_time_off(api, org.admin, org, at(day, 12), at(day, 11))
    empty = await _create_time_off(api, org.admin, org, at(day, 12), at(day, 12))

    for result in (refused, empty):
        assert result["timeOff"] is None
        assert [(e["code"], e["field"]) for e in result["userErrors"]] == [
            ("VALIDATION_FAILED", ["input", "endsAt"])
        ]


async def test_time_off_needs_an_offset(api, org):
    body = await api.post(
        CREATE_TIME_OFF,
        {
            "input": {
                "professionalId": org.professional_id,
                "startsAt": "2027-01-04T09:00:00",
                "endsAt": "2027-01-04T10:00:00+00:00",
            }
        },
        as_=org.admin,
    )

    assert body.get("data") is None and body["errors"]


async def test_professional_time_off_lists_the_range_and_hides_the_reason_from_clients(api, org):
    day = upcoming(Weekday.MONDAY)
    created = await _create_time_off(api, org.admin, org, at(day, 9), at(day, 17), "Surgery")
    await _create_time_off(
        api,
        org.admin,
        org,
        at(day, 9) + timedelta(days=3),
        at(day, 17) + timedelta(days=3),
        "Later",
    )
    query = (
        "query ($id: ID!, $from: DateTime!, $to: DateTime!) { node(id: $id) {"
        " ... on Professional { timeOff(from: $from, to: $to) { id startsAt reason } } } }"
    )
    variables = {
        "id": org.professional_id,
        "from": at(day, 0).isoformat(),
        "to": at(day, 23).isoformat(),
    }

    as_professional = await api.data(query, variables, as_=org.professional)
    as_client = await api.data(query, variables, as_=org.client)

    assert as_professional["node"]["timeOff"] == [
        {"id": created["timeOff"]["id"], "startsAt": at(day, 9).isoformat(), "reason": "Surgery"}
    ]
    assert as_client["node"]["timeOff"] == [
        {"id": created["timeOff"]["id"], "startsAt": at(day, 9).isoformat(), "reason": None}
    ]


async def test_deleting_an_unknown_time_off_names_the_id(api, org):
    unknown = ids.encode("TimeOff", 2**40)
    data = await api.data(DELETE_TIME_OFF, {"id": unknown}, as_=org.admin)
    assert data["deleteTimeOff"]["deletedId"] is None
    assert [(e["code"], e["field"]) for e in data["deleteTimeOff"]["userErrors"]] == [
        ("NOT_FOUND", ["id"])]
