"""The procrastinate tasks and their schedules; each is a thin wrapper over `app.jobs.work`.

Periodic tasks carry a lock (one run at a time across all workers) and a
queueing lock (a late worker does not pile up runs); the work itself is safe
to repeat anyway. Times are UTC cron expressions. Each returns a summary of what it did,
which the job queue's one log line per finished job carries (app/logs.py).
"""

from procrastinate import BaseRetryStrategy, JobContext, RetryDecision, RetryStrategy
from procrastinate.jobs import Job

from app.clock import utc_now
from app.db import is_unavailable
from app.jobs import queue, work
from app.jobs.queue import RESOURCES, WorkerResources, jobs_app
from app.notifications import delivery
from app.people.emails import mint_token_for_message
from app.webhooks import delivery as webhooks

# The name `bookings_defer_slot_refresh` (migration 0005) queues jobs under.
SLOT_REFRESH_TASK = "refresh_professional_slots"
# The name `bookings_defer_notification` (migration 0008) queues jobs under.
DELIVER_NOTIFICATION_TASK = "deliver_notification"
# The name `bookings_defer_webhook_event` (migration 0012) queues jobs under.
DELIVER_WEBHOOK_EVENT_TASK = "deliver_webhook_event"
# How long the queue keeps finished jobs for `bookings jobs`.
KEEP_SUCCEEDED_HOURS = 3 * 24
KEEP_FAILED_HOURS = 30 * 24


def _resources(context: JobContext) -> WorkerResources:
    return context.additional_context[RESOURCES]


class AfterAnOutage(BaseRetryStrategy):
    """A run that failed because the database was unreachable runs again, after 2, 4, 8 ...
    seconds (a minute at most), up to 8 times; any other failure is a bug, which a retry
    would only repeat. Without it a run that met a PostgreSQL restart was lost until the
    next one: a minute for most, a day for the nightly ones."""

    MAX_ATTEMPTS = 8

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if job.attempts >= self.MAX_ATTEMPTS or not is_unavailable(exception):
            return None
        return RetryDecision(retry_in={"seconds": min(60, 2 ** (job.attempts + 1))})


def _periodic(name: str, cron: str):
    """A task run on a schedule, one run at a time across every worker."""

    def decorate(function):
        task = jobs_app.task(name=name, pass_context=True, lock=name, queueing_lock=name,
                             retry=AfterAnOutage())(function)
        return jobs_app.periodic(cron=cron)(task)

    return decorate


@_periodic("fill_booking_windows", "17 2 * * *")  # nightly
async def fill_booking_windows(context: JobContext, timestamp: int) -> dict[str, int]:
    created = await work.fill_booking_windows(_resources(context).db, now=utc_now())
    return {"slots_created": created}


@jobs_app.task(name=SLOT_REFRESH_TASK, pass_context=True,
               retry=RetryStrategy(max_attempts=3, exponential_wait=10))
async def refresh_professional_slots(
    context: JobContext, organization_id: int, professional_id: int
) -> dict[str, int]:
    """Deferred by a rule change (`scheduling.events.defer_slot_refresh`)."""
    created = await work.refresh_professional_slots(
        _resources(context).db, organization_id=organization_id,
        professional_id=professional_id, now=utc_now(),
    )
    return {"slots_created": created}


@_periodic("extend_series", "47 2 * * *")  # nightly, after the slots are generated
async def extend_series(context: JobContext, timestamp: int) -> dict[str, int]:
    booked, skipped = await work.extend_series(_resources(context).db, now=utc_now())
    return {"occurrences_booked": booked, "occurrences_skipped": skipped}


@_periodic("expire_credit_lots", "7 * * * *")  # hourly
async def expire_credit_lots(context: JobContext, timestamp: int) -> dict[str, int]:
    expired = await work.expire_credit_lots(_resources(context).db, now=utc_now())
    return {"credits_expired": expired}


@_periodic("expire_unconfirmed_bookings", "*/5 * * * *")
async def expire_unconfirmed_bookings(context: JobContext, timestamp: int) -> dict[str, int]:
    expired = await work.expire_unconfirmed_bookings(_resources(context).db, now=utc_now())
    return {"bookings_expired": len(expired)}


@_periodic("queue_reminders", "*/5 * * * *")
async def queue_reminders(context: JobContext, timestamp: int) -> dict[str, int]:
    added = await work.queue_reminders(_resources(context).db, now=utc_now())
    return {"reminders_queued": added}


@_periodic("deliver_notifications", "* * * * *")  # every minute
async def deliver_notifications(context: JobContext, timestamp: int) -> dict[str, int]:
    resources = _resources(context)
    report = await delivery.deliver_due(
        resources.db, resources.sender, now=utc_now(),
        max_attempts=resources.settings.notification_max_attempts,
        mint_token=mint_token_for_message,
    )
    return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed}


@jobs_app.task(name=DELIVER_NOTIFICATION_TASK, pass_context=True, retry=AfterAnOutage())
async def deliver_notification(
    context: JobContext, organization_id: int, message_id: int
) -> dict[str, int]:
    """Deferred with a message someone waits for (`outbox.enqueue(awaited=True)`); if this
    job fails, the every-minute sweep above sends the message instead."""
    resources = _resources(context)
    report = await delivery.deliver_one(
        resources.db, organization_id, message_id, resources.sender, now=utc_now(),
        max_attempts=resources.settings.notification_max_attempts,
        mint_token=mint_token_for_message,
    )
    return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed}


@_periodic("deliver_webhooks", "* * * * *")  # every minute
async def deliver_webhooks(context: JobContext, timestamp: int) -> dict[str, int]:
    """Retries, and whatever an event's own job did not send (app/webhooks/delivery.py)."""
    resources = _resources(context)
    report = await webhooks.deliver_due(resources.db, now=utc_now(),
                                        production=resources.settings.is_production,
                                        client=resources.webhook_client)
    return {"delivered": report.delivered, "retrying": report.retrying, "failed": report.failed}


@jobs_app.task(name=DELIVER_WEBHOOK_EVENT_TASK, pass_context=True, retry=AfterAnOutage())
async def deliver_webhook_event(
    context: JobContext, organization_id: int, event_id: str
) -> dict[str, int]:
    """Deferred with each event (`app.webhooks.events.record`), so it leaves within seconds."""
    resources = _resources(context)
    report = await webhooks.deliver_event(resources.db, organization_id, event_id,
                                          now=utc_now(),
                                          production=resources.settings.is_production,
                                          client=resources.webhook_client)
    return {"delivered": report.delivered, "retrying": report.retrying, "failed": report.failed}


@_periodic("purge_idempotency_keys", "37 * * * *")  # hourly
async def purge_idempotency_keys(context: JobContext, timestamp: int) -> dict[str, int]:
    purged = await work.purge_idempotency_keys(_resources(context).db, now=utc_now())
    return {"keys_purged": purged}


# No lock: a run caught in a dead worker must not hold back the run that would free it.
# Two runs at once do no harm (a job is handed back once: retrying one already queued fails
# quietly, see `retry_stalled_jobs`).
@jobs_app.periodic(cron="* * * * * */15")  # every 15 seconds (the sixth field: seconds)
@jobs_app.task(name="retry_stalled_jobs", pass_context=True, queueing_lock="retry_stalled_jobs")
async def retry_stalled_jobs(context: JobContext, timestamp: int) -> dict[str, int]:
    """Jobs of workers that died mid-job go back to the queue (app/jobs/queue.py)."""
    return await queue.retry_stalled_jobs(context.app)


@_periodic("prune_job_history", "47 3 * * *")  # nightly
async def prune_job_history(context: JobContext, timestamp: int) -> None:
    """Keeps the queue's own tables small: finished jobs go after a while, failed ones later."""
    manager = context.app.job_manager
    await manager.delete_old_jobs(nb_hours=KEEP_SUCCEEDED_HOURS)
    await manager.delete_old_jobs(nb_hours=KEEP_FAILED_HOURS, include_failed=True,
                                  include_cancelled=True, include_aborted=True)
