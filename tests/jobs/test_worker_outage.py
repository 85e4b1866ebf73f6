"""`bookings worker` outlives a PostgreSQL restart: it keeps running, and takes new jobs once
the database is back.

procrastinate's worker stops when its listener loses the database; the process used to exit
with it and wait for a supervisor (found by `python -m bench.faults`, which stops
PostgreSQL with `-m immediate` under load).
"""

import asyncio
import os
import sys

import pytest
from sqlalchemy import text

from app.db import Database
from app.jobs.queue import opened
from tests.dedicated_postgres import dedicated_postgres, start_postgres, stop_postgres


@pytest.fixture
def postgres():
    with dedicated_postgres("worker_outage") as server_and_url:
        yield server_and_url


async def job_status(db: Database, job_id: int) -> str | None:
    async with db.engine.connect() as connection:
        return await connection.scalar(text(
            "SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": job_id})


async def wait_for_status(db: Database, job_id: int, wanted: str, seconds: float = 60) -> str:
    async with asyncio.timeout(seconds):
        while (found := await job_status(db, job_id)) != wanted:
            await asyncio.sleep(0.1)
    return found


async def test_the_worker_keeps_running_through_a_postgres_restart(postgres, tmp_path):
    server, url = postgres
    db = Database(url, pool_size=1)
    environment = {**os.environ, "DATABASE_URL": url, "BOOKINGS_DATA_DIR": str(tmp_path),
                   "BOOKINGS_SECRET_KEY": "x" * 40}
    log = (tmp_path / "worker.log").open("wb")
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", "worker", "--concurrency", "2", env=environment,
        stdout=log, stderr=log)
    try:
        async with opened(url) as app:
            before = await app.configure_task("purge_idempotency_keys").defer_async(timestamp=1)
        await wait_for_status(db, before, "succeeded")
        await db.dispose()

        stop_postgres(server, mode="immediate")
        await asyncio.sleep(2)
        start_postgres(server)

        async with opened(url) as app:
            after = await app.configure_task("purge_idempotency_keys").defer_async(timestamp=2)
        found = await wait_for_status(db, after, "succeeded")
        still_running = worker.returncode is None
    finally:
        if worker.returncode is None:
            worker.terminate()
            await asyncio.wait_for(worker.wait(), 30)
        log.close()
        await db.dispose()

    assert still_running, (tmp_path / "worker.log").read_text()[-3000:]
    assert found == "succeeded"
    assert worker.returncode == 0, (tmp_path / "worker.log").read_text()[-3000:]
