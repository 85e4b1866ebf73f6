"""`python -m bench.webhooks`: how long a webhook takes from the commit of its change to the
receiver.

On a fresh database (an embedded PostgreSQL, or a new database on DATABASE_URL's server):
one organization with a client, an endpoint for every event at a local receiver, and two
`bookings worker` processes, as production runs them. Then `--events` credit adjustments,
each its own transaction, in two runs:

- paced: one every `--interval` seconds, so each event finds the workers idle: the
  latency of one event;
- burst: all at once, as fast as one connection commits them: the latency under a queue.

Latency is from the moment the change's transaction has committed (the client's clock, just
after COMMIT returned) to the moment the receiver reads the request (the same machine's
clock). Each event must arrive exactly once and verify with the endpoint's secret.
"""

import argparse
import asyncio
import atexit
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from sqlalchemy import text
from standardwebhooks.webhooks import Webhook

from app import migrations
from app.auth import Principal, Role
from app.clock import utc_now
from app.credits import ledger
from app.db import Database
from app.organizations import service as organizations
from app.people import service as people
from app.webhooks import endpoints
from bench.receiver import Receiver
from bench.series import fresh_database

DATABASE = "bookings_bench_webhooks"
RESULTS = Path(__file__).resolve().parent / "results" / "webhooks.json"
WORKERS = 2


async def setup(db: Database) -> tuple[int, int, Principal]:
    async with db.transaction(None) as session:
        organization = await organizations.create(
            session, slug="bench-webhooks", name="Webhooks bench", time_zone="UTC")
        admin = await people.register_user(
            session, email="admin@bench.example", first_name="Ada", last_name="Admin",
            phone="+1 555 0100", role=Role.ADMIN, password=None)
        client = await people.register_user(
            session, email="client@bench.example", first_name="Cy", last_name="Client",
            phone="+1 555 0101", role=Role.CLIENT, password=None)
    return organization.id, client.id, Principal(admin.id, organization.id, Role.ADMIN)


async def adjust(db: Database, organization_id: int, client_id: int) -> tuple[str, float]:
    """One credits.adjusted event: its id, and when its transaction had committed."""
    async with db.transaction(organization_id) as session:
        await ledger.adjust(session, user_id=client_id, amount=1, reason="bench", now=utc_now())
        event_id = await session.scalar(text(
            "SELECT event_id FROM webhook_deliveries ORDER BY id DESC LIMIT 1"))
    return event_id, time.time()


async def measure(db: Database, receiver: Receiver, organization_id: int, client_id: int, *,
                  events: int, interval: float) -> list[float]:
    """Milliseconds from commit to arrival, per event."""
    committed = {}
    for _ in range(events):
        event_id, at = await adjust(db, organization_id, client_id)
        committed[event_id] = at
        if interval:
            await asyncio.sleep(interval)
    deadline = time.monotonic() + 120
    while not all(event_id in receiver.arrivals for event_id in committed):
        if time.monotonic() > deadline:
            raise SystemExit(f"{sum(e not in receiver.arrivals for e in committed)} events "
                             "never arrived")
        await asyncio.sleep(0.05)
    await asyncio.sleep(1)  # a doubled delivery would arrive by now
    doubled = [event_id for event_id in committed if len(receiver.arrivals[event_id]) > 1]
    if doubled:
        raise SystemExit(f"{len(doubled)} events arrived more than once")
    return [(receiver.arrivals[event_id][0] - at) * 1000 for event_id, at in committed.items()]


def percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {"events": len(ordered), "p50_ms": round(statistics.median(ordered), 1),
            "p99_ms": round(ordered[max(0, round(len(ordered) * 0.99) - 1)], 1),
            "max_ms": round(ordered[-1], 1)}


def summary(name: str, figures: dict[str, float]) -> str:
    return (f"{name:<7} {figures['events']:>4} events   p50 {figures['p50_ms']:7.1f} ms   "
            f"p99 {figures['p99_ms']:7.1f} ms   max {figures['max_ms']:7.1f} ms")


async def run(events: int, interval: float, database_url: str | None, work: Path, *,
              output: Path = RESULTS) -> dict:
    url = await fresh_database(database_url, work, DATABASE)
    await asyncio.to_thread(migrations.upgrade, url)
    db = Database(url, pool_size=2)
    receiver = Receiver()
    organization_id, client_id, admin = await setup(db)
    async with db.transaction(organization_id) as session:
        _, secret = await endpoints.create_endpoint(session, admin, url=receiver.url,
                                                    events=["*"], production=False)
    environment = {**os.environ, "DATABASE_URL": url, "BOOKINGS_DATA_DIR": str(work),
                   "BOOKINGS_SECRET_KEY": secrets.token_urlsafe(48)}
    workers = [subprocess.Popen(  # noqa: ASYNC220 - started once, before any measuring
        [sys.executable, "-m", "app.cli", "worker"], env=environment,
        stdout=subprocess.DEVNULL, stderr=(work / f"worker-{n}.log").open("wb"))
        for n in range(WORKERS)]
    try:
        await asyncio.sleep(3)  # the workers connect and listen
        paced = await measure(db, receiver, organization_id, client_id, events=events,
                              interval=interval)
        burst = await measure(db, receiver, organization_id, client_id, events=events,
                              interval=0)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)
        await db.dispose()
    verifier = Webhook(secret)
    for body, headers in receiver.requests:
        verifier.verify(body, headers)
    results = {"workers": WORKERS, "paced_interval_s": interval, "cpus": os.cpu_count(),
               "paced": percentiles(paced), "burst": percentiles(burst)}
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"commit to delivery, {WORKERS} workers, every request verified, none doubled:")
    print(summary("paced", results["paced"]))
    print(summary("burst", results["burst"]))
    print(f"(written to {output})")
    return results


def main() -> None:
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200, help="events per run")
    parser.add_argument("--interval", type=float, default=0.05,
                        help="seconds between paced events")
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bookings-bench-webhooks-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    asyncio.run(run(arguments.events, arguments.interval, os.environ.get("DATABASE_URL"), work))


if __name__ == "__main__":
    main()
