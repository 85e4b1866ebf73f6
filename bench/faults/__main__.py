"""`python -m bench.faults`: kill any process at any moment under load, and check that
nothing acknowledged was lost.

It starts an embedded PostgreSQL with the demo organization (and a client user per
simulated client, with credits), two `bookings serve` and two `bookings worker` processes,
and a webhook receiver for every event. Simulated clients book, cancel, reschedule, confirm
and buy credits against both servers, retrying with their idempotency keys as real clients
do. Meanwhile, on a schedule drawn from the seed: a server is SIGKILLed and started again;
a worker is SIGKILLed in the middle of a job and started again; PostgreSQL is stopped with
`-m immediate` and started again; a server is SIGSTOPped for seconds, then SIGCONTed.
Anything that exits on its own is started again, as a supervisor would, and counted.

Then the clients stop, the workers catch up, and the checks run (bench/faults/checks.py).
The exit status is 0 only if every check holds. The seed and the schedule are printed
first, so a failing run can be replayed: `python -m bench.faults --seed N`.
"""

import argparse
import asyncio
import random
import secrets
import shutil
import signal
import sys
import tempfile
import time
import warnings
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app import global_ids, migrations
from app.auth import Principal, Role, issue_token
from app.clock import utc_now
from app.config import Settings
from app.credits import ledger
from app.db import Database, create_database, sqlalchemy_url
from app.demo import seed_demo
from app.notifications import delivery as notifications
from app.notifications.senders import OutgoingMessage
from app.organizations import repository as organizations
from app.people import repository as people_repository
from app.people import service as people
from app.webhooks import delivery as webhooks
from app.webhooks import endpoints
from bench.faults import checks
from bench.faults.clients import SimulatedClient, Stats
from bench.faults.cluster import Cluster
from bench.faults.schedule import Fault, draw
from bench.receiver import Receiver

PERIODIC_TASKS = {"deliver_notifications": 60, "deliver_webhooks": 60,
                  "retry_stalled_jobs": 15, "expire_unconfirmed_bookings": 300,
                  "queue_reminders": 300}
CATCH_UP_SECONDS = 180


class CountingSender:
    """The sender of the run's own last sweep: counts each message's reference."""

    def __init__(self) -> None:
        self.references: Counter = Counter()

    async def send(self, message: OutgoingMessage) -> None:
        self.references[message.reference] += 1


async def seed(db: Database, settings: Settings, receiver: Receiver, clients: int,
               rng: random.Random) -> tuple[int, list[dict], str, int, list[tuple[str, int]]]:
    """The demo organization, a client user per simulated client with 60 credits, a webhook
    endpoint for every event, and the slots to book: (organization, clients, admin token,
    admin id, slot IDs with their professional's)."""
    await seed_demo(db, settings)
    secret = settings.signing_key()

    def token(user) -> str:
        return issue_token(user_id=user.id, organization_id=user.organization_id,
                           role=user.role, session_version=user.session_version,
                           secret=secret, lifetime=timedelta(hours=3))

    async with db.transaction(None) as session:
        organization = await organizations.find_by_slug(session, "demo")
    async with db.transaction(organization.id) as session:
        admin = await people_repository.find_user_by_email(session, "admin@demo.example")
        made = []
        for number in range(clients):
            user = await people.register_user(
                session, email=f"load-{number}@demo.example", first_name="Load",
                last_name=f"Client {number}", phone="+1 555 0199", role=Role.CLIENT,
                password=None)
            await ledger.purchase(session, user_id=user.id, credits=60, amount_paid_cents=0,
                                  currency="USD", now=utc_now(), expires_at=None)
            made.append({"user_id": user.id, "token": token(user)})
        await endpoints.create_endpoint(session, Principal(admin.id, organization.id, Role.ADMIN),
                                        url=receiver.url, events=["*"], production=False)
        slot_ids = [(global_ids.encode("TimeSlot", row.id), row.professional_id)
                    for row in await session.execute(text(
                        "SELECT id, professional_id FROM time_slots WHERE status = 'AVAILABLE' "
                        "AND starts_at > now() + interval '2 days' ORDER BY starts_at LIMIT 400"))]
    rng.shuffle(slot_ids)
    return organization.id, made, token(admin), admin.id, slot_ids


async def inject(cluster: Cluster, faults: list[Fault], started: float, db_url: str,
                 counts: Counter) -> None:
    """Runs the schedule: each fault at its time, each process started again after it."""
    for fault in faults:
        await asyncio.sleep(max(0.0, started + fault.at - time.monotonic()))
        match fault.kind:
            case "kill server":
                await _down_for(cluster.servers[fault.target], fault.seconds)
            case "kill worker":
                await _until_a_job_runs(db_url)
                await _down_for(cluster.workers[fault.target], fault.seconds)
            case "stop postgres":
                await asyncio.to_thread(cluster.stop_postgres_immediately)
                await asyncio.sleep(fault.seconds)
                await asyncio.to_thread(cluster.start_postgres)
            case "pause server":
                server = cluster.servers[fault.target]
                server.signal(signal.SIGSTOP)
                await asyncio.sleep(fault.seconds)
                server.signal(signal.SIGCONT)
        counts[fault.kind] += 1


async def _down_for(process, seconds: float) -> None:
    process.held_down = True
    process.kill()
    await asyncio.sleep(seconds)
    process.start()
    process.held_down = False


async def _until_a_job_runs(db_url: str, timeout: float = 3.0) -> None:
    """Waits (a little) for a worker to be in the middle of a job, to kill it there."""
    engine = create_async_engine(db_url, pool_size=1)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            async with engine.connect() as connection:
                if await connection.scalar(text(
                        "SELECT EXISTS (SELECT FROM procrastinate_jobs WHERE status = 'doing')")):
                    return
            await asyncio.sleep(0.02)
    except Exception:  # noqa: BLE001 - PostgreSQL may be down: kill the worker anyway
        return
    finally:
        await engine.dispose()


async def supervise(cluster: Cluster, stop: asyncio.Event, restarted: Counter) -> None:
    while not stop.is_set():
        for name in cluster.restart_exited():
            restarted[name] += 1
        await asyncio.sleep(0.5)


async def caught_up(db_url: str) -> bool:
    engine = create_async_engine(db_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            waiting = await connection.scalar(text(
                """SELECT (SELECT count(*) FROM notification_outbox WHERE status = 'PENDING'
                           AND next_attempt_at <= now())
                        + (SELECT count(*) FROM webhook_deliveries WHERE status = 'PENDING'
                           AND next_attempt_at <= now())
                        + (SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'
                           AND task_name IN ('deliver_webhook_event', 'deliver_notification'))
                        -- a dead worker's job, until retry_stalled_jobs hands it back
                        + (SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing')"""))
        return waiting == 0
    finally:
        await engine.dispose()


async def run(seed_value: int, seconds: float, clients: int, work: Path) -> int:
    rng = random.Random(seed_value)
    faults = draw(seed_value, seconds)
    print(f"seed {seed_value}: {seconds:.0f} s, {clients} clients; the schedule:")
    for fault in faults:
        print(f"  {fault}")
    cluster = Cluster(work, secret_key=secrets.token_urlsafe(48))
    receiver = Receiver()
    try:
        await create_database(cluster.admin_url(), "faults")
        url = sqlalchemy_url(cluster.postgres.get_uri(database="faults"))
        await asyncio.to_thread(migrations.upgrade, url)
        settings = Settings(database_url=url, secret_key=cluster.secret_key)
        db = Database(url, pool_size=2)
        organization_id, users, admin_token, admin_id, slot_ids = await seed(
            db, settings, receiver, clients, rng)
        await db.dispose()
        run_started_at = datetime.now(UTC)
        cluster.start_processes(url)
        for server in cluster.servers:
            await cluster.wait_ready(server)

        stats = Stats()
        stop, restarted, counts = asyncio.Event(), Counter(), Counter()
        simulated = [SimulatedClient(f"client-{n}", user["user_id"], user["token"], admin_token,
                                     admin_id, slot_ids, [s.url for s in cluster.servers],
                                     random.Random(rng.getrandbits(64)), stats)
                     for n, user in enumerate(users)]
        started = time.monotonic()
        window_start = time.time()
        async with httpx.AsyncClient() as http:
            load = [asyncio.create_task(client.run(http, stop)) for client in simulated]
            supervisor = asyncio.create_task(supervise(cluster, stop, restarted))
            await inject(cluster, faults, started, url, counts)
            await asyncio.sleep(max(0.0, started + seconds - time.monotonic()))
            stop.set()
            await asyncio.gather(*load, supervisor)
        deadline = time.monotonic() + CATCH_UP_SECONDS
        while not await caught_up(url) and time.monotonic() < deadline:
            await asyncio.sleep(1)
        await asyncio.sleep(5)  # the periodic runs of the last tick finish
        window_end = time.time() - 5
        for worker in cluster.workers:
            worker.stop()
        # What a worker killed mid-send left leased: the sweeps that would run once the
        # leases end, run now with that clock.
        db = Database(url, pool_size=2)
        later = utc_now() + timedelta(minutes=15)
        sent_here = CountingSender()
        await notifications.deliver_due(db, sent_here, now=later)
        await webhooks.deliver_due(db, now=later, production=False)

        sends = checks.notification_sends(process.log for process in cluster.workers)
        sends.update(sent_here.references)
        engine = create_async_engine(url, pool_size=1)
        async with engine.connect() as connection:
            results = [
                await checks.acknowledged_are_stored(connection, stats.acknowledged),
                await checks.one_effect_per_key(connection, organization_id, stats.sent,
                                                stats.acknowledged,
                                                [s.url for s in cluster.servers],
                                                run_started_at),
                await checks.slots_are_booked_once(connection),
                checks.ledger_is_clean(url, cluster.servers[0].env),
                await checks.outbox_delivered(connection, sends, receiver.counts()),
                await checks.periodic_jobs_ran(connection, PERIODIC_TASKS,
                                               (window_start, window_end)),
            ]
        await engine.dispose()
        await db.dispose()
    finally:
        cluster.stop()

    print(f"\nrequests {stats.requests}, retries {stats.retries}, acknowledged "
          f"{len(stats.acknowledged)}, given up {stats.gave_up}")
    print("longest unavailability each client saw: " + ", ".join(
        f"{name} {seconds:.1f} s" for name, seconds in sorted(stats.longest_unavailable.items()))
        + (" (the others: never)" if len(stats.longest_unavailable) < len(simulated) else ""))
    print("faults: " + ", ".join(f"{kind} x{n}" for kind, n in sorted(counts.items())))
    print("exited on their own and started again: "
          + (", ".join(f"{name} x{n}" for name, n in sorted(restarted.items())) or "none"))
    print("refusals: " + ", ".join(f"{kind} x{n}" for kind, n in sorted(stats.refusals.items())))
    if stats.unexpected:
        print(f"unexpected answers: {stats.unexpected[:5]}")
    print()
    for result in results:
        print(f"{'PASS' if result.ok else 'FAIL'}  {result.name}: {result.detail}")
    return 0 if all(result.ok for result in results) and not stats.unexpected else 1


def main() -> None:
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600, help="how long the load runs")
    parser.add_argument("--seed", type=int, default=None, help="default: a random one")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--keep", action="store_true",
                        help="keep the processes' logs (the folder is printed)")
    arguments = parser.parse_args()
    seed_value = arguments.seed if arguments.seed is not None else random.randrange(10**6)
    work = Path(tempfile.mkdtemp(prefix="bookings-faults-"))
    try:
        status = asyncio.run(run(seed_value, arguments.seconds, arguments.clients, work))
    finally:
        if arguments.keep:
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
