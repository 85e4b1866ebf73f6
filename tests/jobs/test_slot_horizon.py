"""Slots are kept generated through each organization's booking window (docs/rules.md: slots; docs/operations.md: background jobs)."""

from datetime import UTC, datetime, time

import pytest
from sqlalchemy import text

from app.jobs import work
from app.jobs.queue import run_worker
from app.scheduling import service as schedules
from app.scheduling.models import Weekday
from tests.jobs.support import NOW, principal, set_organization, slots_of, work_every_day


async def test_nightly_generation_fills_each_booking_window_once_and_keeps_tenants_apart(
    db, org, other_org
):
    # Given daily 09:00-10:00 hours in two organizations with different booking windows
    await set_organization(db, other_org, booking_window_days=7)
    for tenant in (org, other_org):
        await work_every_day(db, tenant, tenant.professional_profile.id)
    only = [org.id, other_org.id]

    # When the job runs, twice
    first = await work.fill_booking_windows(db, now=NOW, organization_ids=only)
    second = await work.fill_booking_windows(db, now=NOW, organization_ids=only)

    # Then local dates 2031-03-03 .. 04-02 (30 days on) and 03-03 .. 03-10 (7 days on) have a
    # slot each, every one from today's 09:00 (after NOW, 07:00 in New York) on
    slots = await slots_of(db, org, org.professional_profile.id)
    other_slots = await slots_of(db, other_org, other_org.professional_profile.id)
    assert (first, second) == (31 + 8, 0)
    assert len(slots) == 31 and len(other_slots) == 8
    assert slots[0].starts_at.isoformat() == "2031-03-03T14:00:00+00:00"  # 09:00 EST
    assert slots[-1].starts_at.isoformat() == "2031-04-02T13:00:00+00:00"  # 09:00 EDT
    assert other_slots[-1].starts_at.isoformat() == "2031-03-10T13:00:00+00:00"
    assert {slot.organization_id for slot in slots + other_slots} == {org.id, other_org.id}
    assert all(slot.organization_id == org.id for slot in slots)


async def test_inactive_professionals_get_no_slots(db, org):
    await work_every_day(db, org, org.professional_profile.id)
    async with db.transaction(org.id) as session:
        await session.execute(text("UPDATE professionals SET active = false WHERE id = :id"),
                              {"id": org.professional_profile.id})

    assert await work.fill_booking_windows(db, now=NOW, organization_ids=[org.id]) == 0
    assert await slots_of(db, org, org.professional_profile.id) == []


async def refresh_jobs(db, organization_id: int) -> list[tuple[str, dict]]:
    async with db.engine.connect() as connection:
        rows = await connection.execute(text(
            "SELECT status::text, args FROM procrastinate_jobs "
            "WHERE task_name = 'refresh_professional_slots' "
            "AND (args->>'organization_id')::bigint = :org ORDER BY id"), {"org": organization_id})
        return [tuple(row) for row in rows]


async def test_a_rule_change_queues_one_refresh_that_a_worker_runs(db, settings, org, empty_queue):
    # Given seven rules added in one transaction, and one more added later
    professional_id = org.professional_profile.id
    await work_every_day(db, org, professional_id)
    async with db.transaction(org.id) as session:
        await schedules.create_rule(session, principal(org.admin), professional_id,
                                    weekday=Weekday.MONDAY, start_time=time(14),
                                    end_time=time(15))

    # Then one refresh of that professional waits in the queue
    args = {"organization_id": org.id, "professional_id": professional_id}
    assert await refresh_jobs(db, org.id) == [("todo", args)]

    # When a worker runs it
    await run_worker(db, settings, wait=False, schedule=False, install_signal_handlers=False)

    # Then the job succeeded and the window is filled: another refresh finds nothing to add
    assert await refresh_jobs(db, org.id) == [("succeeded", args)]
    assert len(await slots_of(db, org, professional_id)) >= 30
    assert await work.refresh_professional_slots(
        db, organization_id=org.id, professional_id=professional_id, now=datetime.now(UTC)
    ) == 0


async def test_a_rolled_back_rule_change_queues_nothing(db, org, empty_queue):
    with pytest.raises(RuntimeError):
        async with db.transaction(org.id) as session:
            await schedules.create_rule(session, principal(org.admin), org.professional_profile.id,
                                        weekday=Weekday.MONDAY, start_time=time(9),
                                        end_time=time(10))
            raise RuntimeError("the request failed after the rule change")

    assert await refresh_jobs(db, org.id) == []
