"""The procrastinate app: its PostgreSQL connection, running a worker, and listing jobs.

Jobs live in procrastinate's tables (created by migration 0005) in the same
database as everything else: no broker. Any number of workers may run, on any
machine; PostgreSQL hands each job to one of them. procrastinate speaks
psycopg 3, so its connection string is the libpq form of `DATABASE_URL`.

Two things procrastinate leaves to its users are done here: a worker that loses the
database starts its loop again instead of ending (`run_worker`), and the jobs of a worker
that died go back to the queue (`retry_stalled_jobs`). `python -m bench.faults` kills and
restarts processes under load to prove both.
"""

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import procrastinate
from procrastinate.exceptions import ConnectorException, UniqueViolation
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
    jobs_app.perform_import_paths()  # registers the tasks and their schedules
    schedules = jobs_app.periodic_registry
    if not schedule:
        jobs_app.periodic_registry = PeriodicRegistry()
    stop_requested = asyncio.Event()
    try:
        with _stop_on_signals(stop_requested, enabled=install_signal_handlers):
            await _work_until_stopped(
                settings.database_listen_url or db.listen_url, stop_requested,
                concurrency=concurrency, wait=wait, name=name,
                additional_context={RESOURCES: resources}, **options)
    finally:
        jobs_app.periodic_registry = schedules
        await webhook_client.aclose()


# How long a worker that lost its database waits before it starts again, at first and at most.
RESTART_DELAYS = (1.0, 30.0)


async def _work_until_stopped(listen_url: str, stop_requested: asyncio.Event, *,
                              concurrency: int, wait: bool, **worker_options: Any) -> None:
    """procrastinate's worker, started again whenever it stops on its own.

    It stops on its own when one of its side tasks (listening for jobs, beating its heart)
    loses the database, e.g. while PostgreSQL restarts; without this the process exited
    and waited for a supervisor. A stop that was asked for (a signal, the caller's
    cancellation, `wait=False` having caught up) ends it for good.
    """
    delay = RESTART_DELAYS[0]
    while True:
        try:
            # The queue LISTENs for new jobs, so it connects directly, not through PgBouncer.
            # One connection listens, one beats the heart, the rest run jobs.
            async with opened(listen_url, max_connections=concurrency + 2) as app:
                running = asyncio.create_task(app.run_worker_async(
                    concurrency=concurrency, wait=wait, install_signal_handlers=False,
                    **worker_options))
                stopping = asyncio.create_task(stop_requested.wait())
                try:
                    await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    stopping.cancel()
                    if not running.done():  # a stop was asked for: finish the running jobs
                        running.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await running
                if stop_requested.is_set():
                    return
                running.result()  # how it stopped on its own, if by an error
        except ConnectorException as error:
            if stop_requested.is_set():
                return
            logger.error("the job worker cannot reach the database (%s); trying again in "
                         "%.0f s", error.__cause__ or error, delay)
        else:
            if stop_requested.is_set() or not wait:
                return
            logger.error("the job worker stopped on its own (it lost the database); starting "
                         "it again in %.0f s", delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, RESTART_DELAYS[1])


@contextlib.contextmanager
def _stop_on_signals(stop_requested: asyncio.Event, *, enabled: bool):
    """SIGTERM and SIGINT ask the worker to stop (after its running jobs)."""
    if not enabled:
        yield
        return
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop_requested.set)
    try:
        yield
    finally:
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(number)


# ---- jobs of workers that died --------------------------------------------------------

# A worker beats its heart every 10 s (procrastinate's default); one silent for three beats
# died (procrastinate's own `stalled_worker_timeout` is as long).
STALLED_AFTER_SECONDS = 30


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
