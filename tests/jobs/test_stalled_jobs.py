"""Jobs of a worker that died mid-job (SIGKILL, a lost machine) go back to the queue.

procrastinate leaves such a job `doing` for ever, and a `doing` job holds its lock: every
later run of that periodic task would wait behind it. Found by the crash-safety run
(`python -m bench.faults`), which kills workers in the middle of their jobs.
"""

from sqlalchemy import text

from app.jobs.queue import opened, retry_stalled_jobs, run_worker


async def stall(db, job_id: int, *, heartbeat_seconds_ago: int) -> None:
    """Makes `job_id` a job that a worker took and then stopped beating its heart."""
    async with db.engine.begin() as connection:
        worker_id = await connection.scalar(text(
            "INSERT INTO procrastinate_workers (last_heartbeat) "
            "VALUES (now() - make_interval(secs => :ago)) RETURNING id"),
            {"ago": heartbeat_seconds_ago})
        await connection.execute(text(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = :worker "
            "WHERE id = :job"), {"worker": worker_id, "job": job_id})


async def status(db, job_id: int) -> str:
    async with db.engine.connect() as connection:
        return await connection.scalar(text(
            "SELECT status::text FROM procrastinate_jobs WHERE id = :job"), {"job": job_id})


async def test_a_dead_workers_periodic_run_is_queued_again_and_frees_its_lock(
        db, settings, empty_queue):
    async with opened(db.url) as app:
        stuck = await app.configure_task("purge_idempotency_keys").defer_async(timestamp=1)
        await stall(db, stuck, heartbeat_seconds_ago=600)
        # A later run of the same task waits behind the stuck one's lock...
        later = await app.configure_task(
            "purge_idempotency_keys", queueing_lock="a later run").defer_async(timestamp=2)
    await run_worker(db, settings, wait=False, schedule=False, install_signal_handlers=False)
    blocked = (await status(db, stuck), await status(db, later))

    async with opened(db.url) as app:
        recovered = await retry_stalled_jobs(app)
    for _ in range(2):  # the later run waits for the stuck one's lock, then goes
        await run_worker(db, settings, wait=False, schedule=False, install_signal_handlers=False)

    assert blocked == ("doing", "todo")
    assert recovered == {"retried": 1, "superseded": 0}
    assert (await status(db, stuck), await status(db, later)) == ("succeeded", "succeeded")


async def test_a_live_workers_job_is_left_alone(db, settings, empty_queue):
    async with opened(db.url) as app:
        running = await app.configure_task("purge_idempotency_keys").defer_async(timestamp=1)
        await stall(db, running, heartbeat_seconds_ago=5)
        recovered = await retry_stalled_jobs(app)

    still = await status(db, running)
    async with db.engine.begin() as connection:  # its lock is not this test's to keep
        await connection.execute(text(
            "UPDATE procrastinate_jobs SET status = 'failed' WHERE id = :job"), {"job": running})

    assert recovered == {"retried": 0, "superseded": 0}
    assert still == "doing"


async def test_a_stalled_run_whose_next_run_is_queued_is_superseded(db, settings, empty_queue):
    async with opened(db.url) as app:
        stuck = await app.configure_task("purge_idempotency_keys").defer_async(timestamp=1)
        await stall(db, stuck, heartbeat_seconds_ago=600)
        queued = await app.configure_task("purge_idempotency_keys").defer_async(timestamp=2)
        recovered = await retry_stalled_jobs(app)

    assert recovered == {"retried": 0, "superseded": 1}
    assert (await status(db, stuck), await status(db, queued)) == ("failed", "todo")
    async with db.engine.begin() as connection:  # not this test's to leave for others
        await connection.execute(text(
            "UPDATE procrastinate_jobs SET status = 'cancelled' WHERE id = :job"),
            {"job": queued})
