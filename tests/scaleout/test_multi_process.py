"""Two `bookings serve` and two `bookings worker` processes on one PostgreSQL (issue 9).

Real subprocesses, started once for the module: a booking race split across the
servers, a subscription on one server seeing a change made through the other, the
periodic jobs running once per organization and period across both workers, and a
worker stopped mid-run losing no job. Prints bookings per second across two
servers and across one.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import text
from websockets.asyncio.client import connect

from app import global_ids as ids
from app.jobs.queue import opened
from app.jobs.tasks import SLOT_REFRESH_TASK
from app.notifications.models import NotificationKind
from tests.appointments.support import BOOK, add_slots
from tests.appointments.test_concurrency import new_clients
from tests.credits.support import violations
from tests.jobs.support import book, confirm, outbox, set_organization, work_every_day
from tests.live_server import free_port, wait_ready

ROOT = Path(__file__).resolve().parents[2]
BLOCK = "mutation($id: ID!) { blockTimeSlot(id: $id) { userErrors { code } } }"
SUBSCRIPTION = ("subscription Watch($ids: [ID!]!) {"
                " timeSlotChanged(professionalIds: $ids) { id status } }")


@dataclass
class Cluster:
    servers: list[str]  # base URLs
    workers: list[subprocess.Popen]
    processes: list[subprocess.Popen]


def _environment(database_url: str, settings, data_dir: Path) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("BOOKINGS_")}
    environment.update({
        "DATABASE_URL": database_url, "BOOKINGS_SECRET_KEY": settings.secret_key,
        "BOOKINGS_DATA_DIR": str(data_dir), "BOOKINGS_LOG_LEVEL": "WARNING",
        "BOOKINGS_LOG_FORMAT": "text", "BOOKINGS_DB_POOL_SIZE": "10",
    })
    return environment


def _stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


@pytest.fixture(scope="module")
async def cluster(database_url, settings, tmp_path_factory) -> AsyncIterator[Cluster]:
    environment = _environment(database_url, settings, tmp_path_factory.mktemp("scaleout"))
    ports = [free_port(), free_port()]
    logs = tmp_path_factory.mktemp("logs")

    def start(name: str, *arguments: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "app.cli", *arguments], cwd=ROOT,
                                env=environment, stdout=open(logs / f"{name}.log", "w"),
                                stderr=subprocess.STDOUT)

    servers = [start(f"server{n}", "serve", "--host", "127.0.0.1", "--port", str(port))
               for n, port in enumerate(ports)]
    workers = [start(f"worker{n}", "worker", "--concurrency", "2", "--name", f"scaleout-{n}")
               for n in range(2)]
    processes = servers + workers
    try:
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url, process in zip(urls, servers, strict=True):
            await asyncio.to_thread(wait_ready, url, process, lambda: _logs(logs), 60)
        yield Cluster(urls, workers, processes)
    finally:
        for process in processes:
            _stop(process)


def _logs(folder: Path) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in folder.iterdir())


async def _book_all(client: httpx.AsyncClient, attempts: list[tuple[str, object, object]]):
    """Posts every (server, racer, slot) booking at once; the payloads, in order."""

    async def one(server, racer, slot):
        response = await client.post(
            f"{server}/graphql", json={"query": BOOK, "variables": {
                "input": {"timeSlotId": ids.encode("TimeSlot", slot.id)}}},
            headers={"Authorization": f"Bearer {racer.token}"}, timeout=30)
        body = response.json()
        assert "errors" not in body, body
        return body["data"]["bookTimeSlot"]

    return await asyncio.gather(*[one(*attempt) for attempt in attempts])


async def test_a_booking_race_across_two_servers_makes_one_booking(cluster, db, org, tenants):
    racers = await new_clients(db, org, tenants, 40, credits=5)
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    [contested] = await add_slots(db, org, [base])
    a, b = cluster.servers
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(limits=limits) as client:
        # Half the clients on each server, all for one slot
        payloads = await _book_all(client, [(a if n % 2 else b, racer, contested)
                                            for n, racer in enumerate(racers)])
        winners = [p for p in payloads if not p["userErrors"]]
        assert len(winners) == 1
        assert sorted({e["code"] for p in payloads for e in p["userErrors"]}) == [
            "SLOT_UNAVAILABLE"]

        # Throughput: each client books a slot of its own, on one server or on two,
        # alternately and twice each (the machine is shared); the better run of each counts.
        rates = {1: 0.0, 2: 0.0}
        for run, servers in enumerate(([a], [a, b], [a], [a, b])):
            slots = await add_slots(db, org, [base + timedelta(hours=1 + run * 50 + n)
                                              for n in range(len(racers))])
            started = time.perf_counter()
            payloads = await _book_all(client, [
                (servers[n % len(servers)], racer, slot)
                for n, (racer, slot) in enumerate(zip(racers, slots, strict=True))])
            elapsed = time.perf_counter() - started
            assert all(not p["userErrors"] for p in payloads), payloads
            rates[len(servers)] = max(rates[len(servers)], len(payloads) / elapsed)
    print(f"\n{len(racers)} concurrent bookings on {os.cpu_count()} CPUs: one server "
          f"{rates[1]:.0f} bookings/s, two servers {rates[2]:.0f} bookings/s "
          f"({rates[2] / rates[1]:.2f}x)")

    async with db.transaction(org.id, read_only=True) as session:
        debits = await session.scalar(text(
            "SELECT count(*) FROM credit_transactions WHERE type = 'APPOINTMENT_DEBIT'"))
        appointments = await session.scalar(text("SELECT count(*) FROM appointments"))
    assert (appointments, debits) == (1 + 4 * len(racers), 1 + 4 * len(racers))
    assert await violations(db, org.id) == []


async def test_a_subscription_on_one_server_sees_a_change_made_through_the_other(
    cluster, db, org
):
    a, b = cluster.servers
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=4)
    slots = await add_slots(db, org, [base + timedelta(hours=n) for n in range(10)])
    blocked: set[str] = set()
    async with connect(a.replace("http", "ws") + "/graphql",
                       subprotocols=["graphql-transport-ws"]) as websocket:
        await websocket.send(json.dumps({"type": "connection_init", "payload": {
            "Authorization": f"Bearer {org.staff.token}"}}))
        assert json.loads(await websocket.recv())["type"] == "connection_ack"
        await websocket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": SUBSCRIPTION, "variables": {"ids": [org.professional_id]}}}))
        async with httpx.AsyncClient() as client:
            # The subscription starts listening a moment after `subscribe`: block slots
            # through server B until one change arrives on server A.
            for slot in slots:
                slot_id = ids.encode("TimeSlot", slot.id)
                response = await client.post(f"{b}/graphql", json={
                    "query": BLOCK, "variables": {"id": slot_id}},
                    headers={"Authorization": f"Bearer {org.staff.token}"})
                assert response.json()["data"]["blockTimeSlot"]["userErrors"] == []
                blocked.add(slot_id)
                try:
                    async with asyncio.timeout(1):
                        message = json.loads(await websocket.recv())
                        while message["type"] == "ping":
                            message = json.loads(await websocket.recv())
                    break
                except TimeoutError:
                    continue
            else:
                pytest.fail("no change made through server B reached server A's subscriber")
    change = message["payload"]["data"]["timeSlotChanged"]
    assert change["id"] in blocked and change["status"] == "BLOCKED"


async def _wait_until_done(db, first_job_id: int, seconds: float = 20) -> list[tuple]:
    query = text("SELECT id, task_name, status::text, args FROM procrastinate_jobs "
                 "WHERE id >= :first ORDER BY id")
    async with asyncio.timeout(seconds):
        while True:
            async with db.engine.connect() as connection:
                jobs = (await connection.execute(query, {"first": first_job_id})).all()
            if all(status not in ("todo", "doing") for _, _, status, _ in jobs):
                return jobs
            await asyncio.sleep(0.1)


async def _next_job_id(db) -> int:
    async with db.engine.connect() as connection:
        return await connection.scalar(text(
            "SELECT coalesce(max(id), 0) + 1 FROM procrastinate_jobs"))


async def test_periodic_jobs_run_once_per_organization_and_period_across_two_workers(
    cluster, database_url, db, org, other_org
):
    now = datetime.now(UTC).replace(microsecond=0)
    # Given in each organization a booking left unconfirmed past its TTL, and a confirmed
    # appointment whose 24-hour reminder is due
    expiring, reminded = {}, {}
    for tenant in (org, other_org):
        await set_organization(db, tenant, pre_confirmation_ttl_hours=1, reminder_lead_hours=[24])
        expiring[tenant.id] = await book(db, tenant, now + timedelta(days=3),
                                         now=now - timedelta(hours=2))
        reminded[tenant.id] = await book(db, tenant, now + timedelta(hours=23),
                                         client=tenant.other_client, now=now)
        await confirm(db, tenant, reminded[tenant.id], now=now)
    first = await _next_job_id(db)

    # When both workers' schedules and three periods' runs of each task meet in the queue
    async with opened(database_url) as app:
        for period in range(3):
            for task in ("expire_unconfirmed_bookings", "queue_reminders"):
                try:
                    await app.configure_task(task).defer_async(
                        timestamp=int(now.timestamp()) + period)
                except AlreadyEnqueued:
                    pass  # a run of it is already waiting: the queueing lock
            await asyncio.sleep(0.3)
    jobs = await _wait_until_done(db, first)

    # Then every run succeeded, no period was queued twice,
    assert {status for *_, status, _ in jobs} <= {"succeeded"}, jobs
    periods = [(task, args.get("timestamp")) for _, task, _, args in jobs
               if "timestamp" in (args or {})]
    assert len(periods) == len(set(periods)), periods
    # and each organization got one expiry and one reminder, whichever worker ran them
    for tenant in (org, other_org):
        async with db.transaction(tenant.id, read_only=True) as session:
            refunds = await session.scalar(text(
                "SELECT count(*) FROM credit_transactions WHERE type = 'CANCELLATION_REFUND'"
                " AND appointment_id = :id"), {"id": expiring[tenant.id].id})
        assert refunds == 1
        reminders = [(message.appointment_id, message.lead_hours)
                     for message in await outbox(db, tenant, kind=NotificationKind.REMINDER)]
        assert reminders == [(reminded[tenant.id].id, 24)]
        assert await violations(db, tenant.id) == []


async def test_stopping_one_worker_mid_run_loses_no_job(cluster, database_url, db, org):
    await work_every_day(db, org, org.professional_profile.id)
    first = await _next_job_id(db)
    async with opened(database_url) as app:
        job_ids = [await app.configure_task(SLOT_REFRESH_TASK).defer_async(
            organization_id=org.id, professional_id=org.professional_profile.id)
            for _ in range(30)]
    # One worker is stopped while the jobs run
    stopped = cluster.workers[0]
    await asyncio.sleep(0.05)
    stopped.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(stopped.wait, 20) == 0

    jobs = await _wait_until_done(db, first)
    statuses = {job_id: status for job_id, _, status, _ in jobs}
    assert [statuses[job_id] for job_id in job_ids] == ["succeeded"] * len(job_ids)
