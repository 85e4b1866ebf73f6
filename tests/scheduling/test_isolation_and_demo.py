"""Scheduling tables are tenant tables; the demo organization comes with bookable hours."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from app.demo import seed_demo
from app.scheduling.models import Weekday
from tests.scheduling.support import AVAILABILITY, create_rule, generate, upcoming

TABLES = ["availability_rules", "time_off", "time_slots"]


async def test_row_level_security_filters_scheduling_tables_without_where(api, db, org, other_org):
    for tenant in (org, other_org):
        day = upcoming(Weekday.MONDAY)
        await create_rule(
            api, tenant.admin, tenant.professional_id, Weekday.MONDAY, "09:00", "10:00"
        )
        await generate(api, tenant.admin, tenant.professional_id, day, day)

    async with db.transaction(org.id, read_only=True) as session:
        seen = {
            table: (
                await session.scalars(text(f"SELECT DISTINCT organization_id FROM {table}"))
            ).all()
            for table in TABLES
        }

    assert seen == {"availability_rules": [org.id], "time_off": [], "time_slots": [org.id]}


async def test_row_level_security_refuses_a_slot_for_another_tenant(db, org, other_org):
    with pytest.raises(Exception, match="row-level security"):
        async with db.transaction(org.id) as session:
            await session.execute(
                text(
                    "INSERT INTO time_slots (organization_id, professional_id, starts_at, ends_at) "
                    "VALUES (:other, :pro, now(), now() + interval '1 hour')"
                ),
                {"other": other_org.id, "pro": other_org.professional_profile.id},
            )


async def test_demo_professionals_have_bookable_slots_next_week(api, db, settings):
    demo = await seed_demo(db, settings)
    professionals = await api.post(
        "{ professionals(first: 10) { edges { node { id user { email } timeZone } } } }",
        token=demo.client_token,
    )
    nodes = [edge["node"] for edge in professionals["data"]["professionals"]["edges"]]
    first = datetime.now(UTC).date() + timedelta(days=7)

    body = await api.post(
        AVAILABILITY,
        {
            "ids": [node["id"] for node in nodes],
            "from": first.isoformat(),
            "to": (first + timedelta(days=6)).isoformat(),
        },
        token=demo.client_token,
    )

    assert "errors" not in body, body
    zones = {node["user"]["email"]: node["timeZone"] for node in nodes}
    assert zones["priya@demo.example"] == "Europe/London"
    for node, result in zip(nodes, body["data"]["availability"], strict=True):
        zone = ZoneInfo(result["timeZone"])
        slots = [slot for day in result["days"] for slot in day["slots"]]
        assert result["timeZone"] == node["timeZone"]
        assert len(slots) >= 10, node
        for day in result["days"]:
            for slot in day["slots"]:
                local = datetime.fromisoformat(slot["startsAt"]).astimezone(zone)
                assert local.date().isoformat() == day["date"]
                assert 8 <= local.hour < 18
