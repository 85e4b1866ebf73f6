"""A job that met a database outage runs again; one that met a bug does not (found by
`python -m bench.faults`: a periodic run cut short by a PostgreSQL restart was lost until
the next run, a day later for the nightly ones)."""

import asyncpg
import pytest
from procrastinate.jobs import Job
from sqlalchemy import exc

from app.jobs.tasks import AfterAnOutage, jobs_app


def job(attempts: int) -> Job:
    return Job(id=1, queue="default", lock=None, queueing_lock=None,
               task_name="deliver_notifications", attempts=attempts, task_kwargs={})


@pytest.mark.parametrize("outage", [
    ConnectionRefusedError(111, "Connection refused"),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    exc.TimeoutError("QueuePool limit reached"),
])
def test_an_outage_is_retried_with_a_growing_wait(outage):
    decisions = [AfterAnOutage().get_retry_decision(exception=outage, job=job(attempts))
                 for attempts in range(AfterAnOutage.MAX_ATTEMPTS + 1)]

    waits = [decision.retry_at for decision in decisions[:-1]]
    assert all(decision is not None for decision in decisions[:-1])
    assert waits == sorted(waits)
    assert decisions[-1] is None  # it gives up in the end


def test_a_bug_is_not_retried():
    assert AfterAnOutage().get_retry_decision(exception=KeyError("bug"), job=job(0)) is None


def test_every_periodic_and_event_job_retries_after_an_outage():
    jobs_app.perform_import_paths()
    periodic = {task.task.name for task in jobs_app.periodic_registry.periodic_tasks.values()}
    event_jobs = {"deliver_notification", "deliver_webhook_event"}

    for name in (periodic - {"retry_stalled_jobs"}) | event_jobs:
        assert isinstance(jobs_app.tasks[name].retry_strategy, AfterAnOutage), name
