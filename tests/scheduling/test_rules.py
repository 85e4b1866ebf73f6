"""Availability rules over the API: creating, overlaps (API and database), edits and deletes."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app import global_ids as ids
from app.db import violated_constraint
from app.scheduling import service
from app.scheduling.models import Weekday
from tests.scheduling.support import (
    CREATE_RULE,
    DELETE_RULE,
    UPDATE_RULE,
    admin,
    create_rule,
    generate,
    set_slot_status,
    slot_rows,
    time_slots,
    upcoming,
)
from tests.support import error_codes


async def test_staff_creates_a_weekly_rule(api, org):
    created = await create_rule(
        api,
        org.staff,
        org.professional_id,
        Weekday.MONDAY,
        "09:00",
        "12:30",
        effectiveFrom="2027-01-04",
    )

    rule = created["availabilityRule"]
    assert created["userErrors"] == []
    assert rule == {
        "id": rule["id"],
        "weekday": "MONDAY",
        "startTime": "09:00",
        "endTime": "12:30",
        "effectiveFrom": "2027-01-04",
        "effectiveUntil": None,
        "active": True,
        "professional": {"id": org.professional_id},
    }


async def test_overlapping_active_rule_is_refused_with_overlapping_availability(api, org):
    await create_rule(api, org.admin, org.professional_id, Weekday.MONDAY, "09:00", "12:00")

    refused = await create_rule(
        api, org.admin, org.professional_id, Weekday.MONDAY, "11:00", "14:00"
    )

    assert refused["availabilityRule"] is None
    assert [error["code"] for error in refused["userErrors"]] == ["OVERLAPPING_AVAILABILITY"]


async def test_touching_rules_other_weekdays_and_disjoint_dates_do_not_overlap(api, org):
    await create_rule(
        api,
        org.admin,
        org.professional_id,
        Weekday.MONDAY,
        "09:00",
        "12:00",
        effectiveUntil="2027-01-31",
    )

    results = [
        await create_rule(api, org.admin, org.professional_id, Weekday.MONDAY, "12:00", "15:00"),
        await create_rule(api, org.admin, org.professional_id, Weekday.TUESDAY, "09:00", "12:00"),
        await create_rule(
            api,
            org.admin,
            org.professional_id,
            Weekday.MONDAY,
            "08:00",
            "11:00",
            effectiveFrom="2027-02-01",
        ),
    ]

    assert [result["userErrors"] for result in results] == [[], [], []]


async def test_rules_overlapping_only_on_a_shared_effective_date_are_refused(api, org):
    await create_rule(
        api,
        org.admin,
        org.professional_id,
        Weekday.MONDAY,
        "09:00",
        "12:00",
        effectiveUntil="2027-02-01",
    )

    refused = await create_rule(
        api,
        org.admin,
        org.professional_id,
        Weekday.MONDAY,
        "09:00",
        "10:00",
        effectiveFrom="2027-02-01",
    )

    assert [error["code"] for error in refused["userErrors"]] == ["OVERLAPPING_AVAILABILITY"]


async def test_an_inactive_rule_does_not_count_but_reactivating_it_is_refused(api, org):
    first = await create_rule(api, org.admin, org.professional_id, Weekday.MONDAY, "09:00", "12:00")
    rule_id = first["availabilityRule"]["id"]
    await api.data(UPDATE_RULE, {"input": {"id": rule_id, "active": False}}, as_=org.admin)
    second = await create_rule(
        api, org.admin, org.professional_id, Weekday.MONDAY, "10:00", "11:00"
    )

    reactivated = await api.data(
        UPDATE_RULE, {"input": {"id": rule_id, "active": True}}, as_=org.admin
    )

    assert second["userErrors"] == []
    assert [error["code"] for error in reactivated["updateAvailabilityRule"]["userErrors"]] == [
        "OVERLAPPING_AVAILABILITY"
    ]


async def test_database_refuses_overlapping_active_rules_inserted_directly(db, org):
    insert = text(
        "INSERT INTO availability_rules (organization_id, professional_id, weekday, start_time, "
        "end_time) VALUES (:org, :pro, 'FRIDAY', :start, :end)"
    )
    values = {"org": org.id, "pro": org.professional_profile.id}

    with pytest.raises(IntegrityError) as refused:
        async with db.transaction(org.id) as session:
            await session.execute(insert, {**values, "start": time(9), "end": time(12)})
            await session.execute(insert, {**values, "start": time(11, 59), "end": time(13)})

    assert violated_constraint(refused.value) == "availability_rules_no_overlap"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"startTime": "12:00", "endTime": "09:00"}, ["input", "endTime"]),
        ({"startTime": "09:00", "endTime": "09:00"}, ["input", "endTime"]),
        (
            {
                "startTime": "09:00",
                "endTime": "10:00",
                "effectiveFrom": "2027-02-01",
                "effectiveUntil": "2027-01-31",
            },
            ["input", "effectiveUntil"],
        ),
    ],
)
async def test_end_before_start_is_refused(api, org, changes, field):
    data = await api.data(
        CREATE_RULE,
        {"input": {"professionalId": org.professional_id, "weekday": "MONDAY", **changes}},
        as_=org.admin,
    )

    assert data["createAvailabilityRule"]["availabilityRule"] is None
    assert [
        (error["code"], error["field"]) for error in data["createAvailabilityRule"]["userErrors"]
    ] == [("VALIDATION_FAILED", field)]


async def test_updating_to_end_before_start_is_refused(api, org):
    rule = (
        await create_rule(api, org.admin, org.professional_id, Weekday.MONDAY, "09:00", "12:00")
    )["availabilityRule"]

    data = await api.data(
        UPDATE_RULE, {"input": {"id": rule["id"], "endTime": "08:00"}}, as_=org.admin
    )

    assert [error["code"] for error in data["updateAvailabilityRule"]["userErrors"]] == [
        "VALIDATION_FAILED"
    ]


@pytest.mark.parametrize(
    ("weekday", "start"),
    [("FUNDAY", "09:00"), ("MONDAY", "25:00"), ("MONDAY", "09:00:30"), ("MONDAY", "9am")],
)
async def test_unknown_weekday_or_malformed_time_is_a_graphql_error(api, org, weekday, start):
    body = await api.post(
        CREATE_RULE,
        {
            "input": {
                "professionalId": org.professional_id,
                "weekday": weekday,
                "startTime": start,
                "endTime": "12:00",
            }
        },
        as_=org.admin,
    )

    assert body.get("data") is None
    assert body["errors"]


async def test_another_organizations_professional_is_not_found(api, org, other_org):
    refused = await create_rule(
        api, org.admin, other_org.professional_id, Weekday.MONDAY, "09:00", "12:00"
    )

    assert [(error["code"], error["field"]) for error in refused["userErrors"]] == [
        ("NOT_FOUND", ["input", "professionalId"])
    ]


async def test_a_rule_of_another_organization_is_not_found(api, org, other_org):
    rule = (
        await create_rule(
            api, other_org.admin, other_org.professional_id, Weekday.MONDAY, "09:00", "12:00"
        )
    )["availabilityRule"]

    updated = await api.data(
        UPDATE_RULE, {"input": {"id": rule["id"], "endTime": "13:00"}}, as_=org.admin
    )
    deleted = await api.data(DELETE_RULE, {"id": rule["id"]}, as_=org.admin)
    node = await api.post(
        "query ($id: ID!) { node(id: $id) { id } }", {"id": rule["id"]}, as_=org.admin
    )

    assert [(e["code"], e["field"]) for e in updated["updateAvailabilityRule"]["userErrors"]] == [
        ("NOT_FOUND", ["input", "id"])]
    assert [(e["code"], e["field"]) for e in deleted["deleteAvailabilityRule"]["userErrors"]] == [
        ("NOT_FOUND", ["id"])]
    assert error_codes(node) == ["NOT_FOUND"]


async def test_professional_lists_rules_through_the_professional(api, org):
    await create_rule(api, org.admin, org.professional_id, Weekday.WEDNESDAY, "13:00", "17:00")
    await create_rule(api, org.admin, org.professional_id, Weekday.MONDAY, "09:00", "12:00")

    data = await api.data(
        "query ($id: ID!) { node(id: $id) { ... on Professional { availabilityRules {"
        " weekday startTime endTime active } } } }",
        {"id": org.professional_id},
        as_=org.client,
    )

    assert data["node"]["availabilityRules"] == [
        {"weekday": "MONDAY", "startTime": "09:00", "endTime": "12:00", "active": True},
        {"weekday": "WEDNESDAY", "startTime": "13:00", "endTime": "17:00", "active": True},
    ]


async def test_narrowing_a_rule_removes_future_available_slots_that_no_longer_fit(api, db, org):
    day = upcoming(Weekday.MONDAY)
    rule = (
        await create_rule(api, org.admin, org.professional_id, Weekday.MONDAY, "09:00", "13:00")
    )["availabilityRule"]
    await generate(api, org.admin, org.professional_id, day, day)
    zone = ZoneInfo("America/New_York")
    window = (datetime.combine(day, time(0), zone), datetime.combine(day, time(23), zone))
    slots = await time_slots(api, org.admin, org.professional_id, *window)
    booked = slots[3]  # 12:00-13:00, outside the narrowed hours
    await set_slot_status(db, org, _pk(booked["id"]), "BOOKED")

    data = await api.data(
        UPDATE_RULE,
        {"input": {"id": rule["id"], "startTime": "10:00", "endTime": "12:00"}},
        as_=org.admin,
    )

    assert data["updateAvailabilityRule"]["userErrors"] == []
    remaining = await time_slots(api, org.admin, org.professional_id, *window)
    assert [(slot["startsAt"], slot["status"]) for slot in remaining] == [
        (_at(day, 10, zone), "AVAILABLE"),
        (_at(day, 11, zone), "AVAILABLE"),
        (_at(day, 12, zone), "BOOKED"),
    ]


async def test_deleting_a_rule_removes_its_future_available_slots_only(api, db, org):
    day = upcoming(Weekday.TUESDAY)
    rule = (
        await create_rule(api, org.admin, org.professional_id, Weekday.TUESDAY, "09:00", "12:00")
    )["availabilityRule"]
    await generate(api, org.admin, org.professional_id, day, day)
    rows = await slot_rows(db, org, org.professional_profile.id)
    async with db.transaction(org.id, read_only=True) as session:
        slot_ids = (
            (
                await session.execute(
                    text("SELECT id FROM time_slots WHERE professional_id = :p ORDER BY starts_at"),
                    {"p": org.professional_profile.id},
                )
            )
            .scalars()
            .all()
        )
    await set_slot_status(db, org, slot_ids[0], "BOOKED")
    await set_slot_status(db, org, slot_ids[1], "BLOCKED")

    data = await api.data(DELETE_RULE, {"id": rule["id"]}, as_=org.admin)

    assert data["deleteAvailabilityRule"] == {"deletedId": rule["id"], "userErrors": []}
    assert await slot_rows(db, org, org.professional_profile.id) == [
        (rows[0][0], rows[0][1], "BOOKED"),
        (rows[1][0], rows[1][1], "BLOCKED"),
    ]


async def test_rule_changes_keep_slots_that_already_started(db, org):
    # now is injectable: the slots of an earlier date count as the past.
    professional_id = org.professional_profile.id
    async with db.transaction(org.id) as session:
        rule = await service.create_rule(
            session,
            admin(org),
            professional_id,
            weekday=Weekday.MONDAY,
            start_time=time(9),
            end_time=time(11),
        )
        await service.fill_time_slots(
            session,
            org.professional_profile,
            upcoming(Weekday.MONDAY),
            upcoming(Weekday.MONDAY, days_ahead=14),
            now=datetime.now(UTC),
        )
    past_slots = (await slot_rows(db, org, professional_id))[:2]
    later = past_slots[-1][1] + timedelta(minutes=1)

    async with db.transaction(org.id) as session:
        await service.delete_rule(session, admin(org), rule.id, now=later)

    assert await slot_rows(db, org, professional_id) == past_slots


def _pk(global_id: str) -> int:
    return ids.parse(global_id)[1]


def _at(day, hour, zone) -> str:
    return datetime.combine(day, time(hour), zone).astimezone(UTC).isoformat()
