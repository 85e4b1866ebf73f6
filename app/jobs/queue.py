"""The procrastinate app: its PostgreSQL connection, running a worker, and listing jobs.

Jobs live in procrastinate's tables (created by migration 0005) in the same
database as everything else: no broker. Any number of workers may run, on any
machine; PostgreSQL hands each job to one of them. procrastinate speaks
psycopg 3, so its connection string is the libpq form of `DATABASE_URL`.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import procrastinate
from procrastinate.exceptions import UniqueViolation
from procrastinate.jobs import Status
from procrastinate.periodic import PeriodicRegistry
from sqlalchemy import text

from app.config import Settings
from app.db import Database, libpq_url
from app.notifications.senders import Sender, sender_from_settings
from app.webhooks import delivery as webhook_delivery

logger = logging.getLogger(__name__)

# The connector is replaced by a real one when a worker starts (see `opened`):
# the database URL is known only at run time.
jobs_app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(),
    import_paths=["app.jobs.tasks"],
)


@dataclass(frozen=True)
class WorkerResources:
    """What tasks need, handed to them through procrastinate's job context."""

    db: Database
    sender: Sender
    settings: Settings
    # One HTTP client for every webhook delivery of the worker: making one costs ~35 ms (its
    # TLS context), more than a delivery to a nearby receiver.
    webhook_client: httpx.AsyncClient


RESOURCES = "resources"


@asynccontextmanager
async def opened(database_url: str, *, max_connections: int = 4) -> AsyncIterator[procrastinate.App]:
    """The jobs app, connected to `database_url` until the block ends."""
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(database_url), min_size=1, max_size=max_connections
    )
    with jobs_app.replace_connector(connector):
        async with jobs_app.open_async():
            yield jobs_app


async def run_worker(
    db: Database,
    settings: Settings,
    *,
    sender: Sender | None = None,
    wait: bool = True,
    install_signal_handlers: bool = True,
    name: str | None = None,
    schedule: bool = True,
    **options: Any,
) -> None:
    """Runs a worker until stopped (or, with `wait=False`, until no job is left).

    Every worker also queues the periodic jobs when they are due (PostgreSQL
    keeps two workers from queueing one run twice); `schedule=False` leaves
    that to the others.
    """
    concurrency = options.pop("concurrency", settings.worker_concurrency)
    webhook_client = webhook_delivery.new_client()
    resources = WorkerResources(db=db, sender=sender or sender_from_settings(settings),
                                settings=settings, webhook_client=webhook_client)
    # One connection listens for new jobs, one beats the heart, the rest run jobs.
    jobs_app.perform_import_paths()  # registers the tasks and their schedules
    schedules = jobs_app.periodic_registry
    if not schedule:
        jobs_app.periodic_registry = PeriodicRegistry()
    try:
        # The queue LISTENs for new jobs, so it connects directly, not through PgBouncer.
        listen_url = settings.database_listen_url or db.listen_url
        async with opened(listen_url, max_connections=concurrency + 2) as app:
            await app.run_worker_async(
                concurrency=concurrency,
                wait=wait,
                install_signal_handlers=install_signal_handlers,
                name=name,
                additional_context={RESOURCES: resources},
                **options,
            )
    finally:
        jobs_app.periodic_registry = schedules
        await webhook_client.aclose()


# ---- jobs of workers that died --------------------------------------------------------

# A worker beats its heart every 10 s (procrastinate's default); one silent this long died.
STALLED_AFTER_SECONDS = 60


async def retry_stalled_jobs(app: procrastinate.App) -> dict[str, int]:
    """Hands the jobs of dead workers (killed, lost) to the living: each goes back to the
    queue. procrastinate leaves them `doing` forever, and a `doing` job holds its lock:
    one periodic run caught in a killed worker would stop that task for good.

    A stalled periodic run whose next run is already queued (its queueing lock is taken) is
    marked failed instead: the queued run does the same work.
    """
    manager = app.job_manager
    outcomes = {"retried": 0, "superseded": 0}
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_SECONDS):
        try:
            await manager.retry_job(job)
            outcome = "retried"
        except UniqueViolation:
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)
            outcome = "superseded"
        outcomes[outcome] += 1
        logger.warning("job %s (%s) of a dead worker: %s", job.id, job.task_name, outcome)
    return outcomes


# ---- listing jobs (for operators) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobSummary:
    id: int
    task_name: str
    status: str
    attempts: int
    args: Any  # the JSON arguments, as text
    scheduled_at: datetime | None
    last_event: str | None
    last_event_at: datetime | None


_RECENT_JOBS = """
    SELECT job.id, job.task_name, job.status::text, job.attempts, job.args, job.scheduled_at,
           event.type::text, event.at
    FROM procrastinate_jobs AS job
    LEFT JOIN LATERAL (
        SELECT type, at FROM procrastinate_events
        WHERE job_id = job.id ORDER BY at DESC, id DESC LIMIT 1
    ) AS event ON true
    {where}
    ORDER BY job.id DESC
    LIMIT :limit
"""


async def recent_jobs(db: Database, *, limit: int = 20, failed_only: bool = False) -> list[JobSummary]:
    """The latest jobs, newest first (procrastinate's tables are not tenant data)."""
    where = "WHERE job.status = 'failed'" if failed_only else ""
    async with db.engine.connect() as connection:
        rows = await connection.execute(text(_RECENT_JOBS.format(where=where)), {"limit": limit})
        return [JobSummary(*row) for row in rows]


async def job_counts(db: Database) -> dict[str, int]:
    """How many jobs are in each status."""
    async with db.engine.connect() as connection:
        rows = await connection.execute(text(
            "SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status ORDER BY status"
        ))
        return {status: count for status, count in rows}
