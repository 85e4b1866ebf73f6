"""Workers: the procrastinate tasks run on a worker, in the server (demo) or as `bookings worker`."""

import asyncio
import os
import signal
import sys
from datetime import time

from procrastinate.periodic import PeriodicRegistry
from sqlalchemy import text

from app.db import Database
from app.jobs.queue import jobs_app, opened, run_worker
from app.scheduling import service as schedules
from app.scheduling.models import Weekday
from app.web import create_app
from tests.jobs.support import principal, slots_of

# fill_booking_windows is left out: it would fill every test organization's window.
PERIODIC_TASKS = ["expire_credit_lots", "expire_unconfirmed_bookings", "queue_reminders",
                  "deliver_notifications", "deliver_webhooks", "purge_idempotency_keys", "retry_stalled_jobs",
                  "prune_job_history"]


async def statuses(db, job_ids) -> list[str]:
    async with db.engine.connect() as connection:
        rows = await connection.execute(text(
            "SELECT status::text FROM procrastinate_jobs WHERE id = ANY(:ids) ORDER BY id"),
            {"ids": list(job_ids)})
        return [status for (status,) in rows]


async def refresh_status(db, org) -> str | None:
    async with db.engine.connect() as connection:
        return await connection.scalar(text(
            "SELECT status::text FROM procrastinate_jobs WHERE task_name = "
            "'refresh_professional_slots' AND (args->>'organization_id')::bigint = :org"),
            {"org": org.id})


async def change_a_rule(db, org) -> None:
    async with db.transaction(org.id) as session:
        await schedules.create_rule(session, principal(org.admin), org.professional_profile.id,
                                    weekday=Weekday.WEDNESDAY, start_time=time(9),
                                    end_time=time(12))


async def wait_for(condition, seconds: float = 20) -> None:
    async with asyncio.timeout(seconds):
        while not await condition():
            await asyncio.sleep(0.05)


async def test_the_scheduled_tasks_run_on_a_worker(db, settings, empty_queue):
    # Given one run of each periodic task, queued as the schedule would
    async with opened(db.url) as app:
        job_ids = [await app.configure_task(name).defer_async(timestamp=0)
                   for name in PERIODIC_TASKS]

    # When a worker runs until the queue is empty
    await run_worker(db, settings, wait=False, schedule=False, install_signal_handlers=False)

    # Then every one of them succeeded
    assert await statuses(db, job_ids) == ["succeeded"] * len(PERIODIC_TASKS)


async def test_the_server_runs_an_in_process_worker_when_asked(
    database_url, db, settings, org, empty_queue, monkeypatch
):
    # Given a pending slot refresh, and a server started with BOOKINGS_RUN_WORKER
    await change_a_rule(db, org)
    monkeypatch.setattr(jobs_app, "periodic_registry", PeriodicRegistry())  # no other work
    app = create_app(Database(database_url, pool_size=4),
                     settings.model_copy(update={"run_worker": True}))

    # When the server runs for a moment, the refresh is done
    async with app.router.lifespan_context(app):
        await wait_for(lambda: _is(refresh_status(db, org), "succeeded"))

    assert len(await slots_of(db, org, org.professional_profile.id)) >= 4


async def test_bookings_worker_runs_jobs_until_stopped(database_url, db, org, empty_queue, tmp_path):
    await change_a_rule(db, org)
    environment = {**os.environ, "DATABASE_URL": database_url,
                   "BOOKINGS_DATA_DIR": str(tmp_path), "BOOKINGS_SECRET_KEY": "x" * 40}
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", "worker", "--concurrency", "2", env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await wait_for(lambda: _is(refresh_status(db, org), "succeeded"), seconds=30)
    finally:
        worker.send_signal(signal.SIGTERM)
        output, errors = await asyncio.wait_for(worker.communicate(), 30)

    assert worker.returncode == 0, errors.decode()
    assert "Bookings worker on" in output.decode()


async def _is(status, expected: str) -> bool:
    return await status == expected


async def test_bookings_jobs_lists_recent_and_failed_jobs(database_url, db, settings, org,
                                                          empty_queue, tmp_path):
    # Given a job that succeeds, and one that fails (a periodic task is not retried)
    async with opened(db.url) as app:
        succeeded = await app.configure_task("refresh_professional_slots").defer_async(
            organization_id=org.id, professional_id=org.professional_profile.id)
        failed = await app.configure_task("purge_idempotency_keys").defer_async(
            timestamp=0, unexpected="argument")
    await run_worker(db, settings, wait=False, schedule=False, install_signal_handlers=False)

    environment = {**os.environ, "DATABASE_URL": database_url,
                   "BOOKINGS_DATA_DIR": str(tmp_path), "BOOKINGS_SECRET_KEY": "x" * 40}
    listing = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", "jobs", "--failed", "--limit", "50", env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    output, errors = await listing.communicate()

    assert listing.returncode == 0, errors.decode()
    lines = output.decode().splitlines()
    assert lines[0].startswith("Jobs by status: ")
    assert any(line.split()[:2] == [str(failed), "failed"] for line in lines[2:])
    assert not any(line.split()[:1] == [str(succeeded)] for line in lines[2:])
