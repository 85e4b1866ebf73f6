"""PostgreSQL stops for several seconds under load, then starts again.

A dedicated embedded PostgreSQL and a `bookings serve` process on it. While the database
is down, requests fail fast with SERVICE_UNAVAILABLE (HTTP 503) and /readyz says 503;
once it is back, the same server process serves again by itself; no request hangs;
and the ledger invariants hold, so nothing was half-written.
"""

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.credits import invariants
from app.db import Database
from tests.appointments.support import add_slots, give_credits, slot_id
from tests.dedicated_postgres import dedicated_postgres, start_postgres, stop_postgres
from tests.live_server import LiveServer
from tests.support import TenantFactory

DOWN_SECONDS = 6
LOAD_BEFORE_SECONDS = 2
LOAD_AFTER_RECOVERY_SECONDS = 2
REQUEST_TIMEOUT = 15  # a request still running after this is a hang

BOOK = """mutation($input: BookTimeSlotInput!) { bookTimeSlot(input: $input) {
    appointment { id } userErrors { code } } }"""
CANCEL = """mutation($input: CancelAppointmentInput!) { cancelAppointment(input: $input) {
    appointment { state } userErrors { code } } }"""
PURCHASE = """mutation($input: PurchaseCreditsInput!) { purchaseCredits(input: $input) {
    creditBalance { balance } userErrors { code } } }"""
READ = "{ me { email } creditBalance { balance } appointments(first: 5) { totalCount } }"


@pytest.fixture
def postgres():
    with dedicated_postgres("outage") as server_and_url:
        yield server_and_url


@dataclass
class Outcome:
    kind: str  # the work done
    started: float
    ended: float
    result: str  # "ok", "unavailable", or what went wrong

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def judge(response: httpx.Response) -> str:
    body = response.json()
    codes = {(error.get("extensions") or {}).get("code") for error in body.get("errors") or []}
    if response.status_code == 200 and not codes:
        return "ok"
    if response.status_code == 503 and codes == {"SERVICE_UNAVAILABLE"} and body["errors"][0][
            "message"] == "The database is unavailable; try again shortly.":
        return "unavailable"
    return f"{response.status_code}: {response.text[:300]}"


async def test_the_server_fails_fast_while_the_database_is_down_and_recovers_by_itself(
        postgres, settings, tmp_path):
    server, url = postgres
    db = Database(url, pool_size=2)
    org = await TenantFactory(db, settings).create()
    starts = [datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
              + timedelta(days=2, hours=hour) for hour in range(300)]
    slots = iter(await add_slots(db, org, starts))
    await give_credits(db, org, org.client, 50)
    await db.dispose()  # the test's own pool sits the outage out; the check below opens anew

    live = LiveServer(url, tmp_path, secret_key=settings.signing_key(),
                      BOOKINGS_DB_CONNECT_TIMEOUT_SECONDS="2", BOOKINGS_DB_POOL_TIMEOUT_SECONDS="2",
                      BOOKINGS_DB_STATEMENT_TIMEOUT_SECONDS="5", BOOKINGS_DB_POOL_SIZE="4")
    outcomes: list[Outcome] = []
    readiness: list[tuple[float, int]] = []
    stop_load = asyncio.Event()
    try:
        await asyncio.to_thread(live.wait_ready)
        pid = live.process.pid
        async with httpx.AsyncClient(base_url=live.url, timeout=REQUEST_TIMEOUT) as http:

            async def send(kind: str, document: str, variables: dict, member) -> dict | None:
                started = time.monotonic()
                try:
                    response = await http.post("/graphql", json={
                        "query": document, "variables": variables},
                        headers={"Authorization": f"Bearer {member.token}"})
                    result = judge(response)
                except httpx.HTTPError as error:
                    response, result = None, f"{type(error).__name__}: {error}"
                outcomes.append(Outcome(kind, started, time.monotonic(), result))
                return response.json() if result == "ok" else None

            async def reader() -> None:
                while not stop_load.is_set():
                    await send("read", READ, {}, org.client)
                    await asyncio.sleep(0.05)

            async def booker() -> None:
                while not stop_load.is_set():
                    booked = await send("book", BOOK, {"input": {"timeSlotId": slot_id(next(slots))}},
                                        org.client)
                    appointment = booked and booked["data"]["bookTimeSlot"]["appointment"]
                    if appointment:
                        await send("cancel", CANCEL, {"input": {"appointmentId": appointment["id"]}},
                                   org.client)
                    await asyncio.sleep(0.05)

            async def cashier() -> None:
                while not stop_load.is_set():
                    await send("purchase", PURCHASE, {"input": {
                        "userId": org.client.id, "credits": 1, "amountPaidCents": 100}}, org.staff)
                    await asyncio.sleep(0.1)

            async def probe() -> None:
                while not stop_load.is_set():
                    try:
                        status = (await http.get("/readyz")).status_code
                    except httpx.HTTPError:
                        status = 0
                    readiness.append((time.monotonic(), status))
                    await asyncio.sleep(0.2)

            load = [asyncio.create_task(work()) for work in
                    (reader, reader, booker, cashier, probe)]
            try:
                await asyncio.sleep(LOAD_BEFORE_SECONDS)

                await asyncio.to_thread(stop_postgres, server)
                stopped_at = time.monotonic()
                await asyncio.sleep(DOWN_SECONDS)
                await asyncio.to_thread(start_postgres, server)
                started_at = time.monotonic()

                deadline = started_at + 30
                while time.monotonic() < deadline and not any(
                        outcome.started > started_at and outcome.result == "ok"
                        for outcome in outcomes):
                    await asyncio.sleep(0.1)
                await asyncio.sleep(LOAD_AFTER_RECOVERY_SECONDS)
            finally:
                stop_load.set()
                await asyncio.gather(*load)

        assert live.process.poll() is None and live.process.pid == pid, "the server restarted"
    finally:
        live.stop()

    unclean = [outcome for outcome in outcomes if outcome.result not in ("ok", "unavailable")]
    failed = [outcome for outcome in outcomes if outcome.result == "unavailable"]
    recovered = min(outcome.ended for outcome in outcomes
                    if outcome.started > started_at and outcome.result == "ok")
    failing_for = max(o.ended for o in failed) - min(o.started for o in failed)
    longest = max(outcome.seconds for outcome in outcomes)
    down_probes = {status for at, status in readiness if stopped_at + 0.5 < at < started_at - 0.5}
    print(f"\nDatabase outage: PostgreSQL down {started_at - stopped_at:.1f} s; "
          f"{len(outcomes)} requests, {len(failed)} failed cleanly (503) over "
          f"{failing_for:.1f} s; longest request {longest * 1000:.0f} ms; service back "
          f"{recovered - started_at:.2f} s after PostgreSQL started; /readyz while down: "
          f"{sorted(down_probes)}")

    assert unclean == []
    assert failed, "no request met the outage"
    assert all(stopped_at - 1 < o.started < started_at + 10 for o in failed)
    assert longest < 5, "a request hung"
    assert down_probes == {503}
    assert recovered - started_at < 10
    assert readiness[-1][1] == 200
    async with db.transaction(org.id, read_only=True) as session:
        report = await invariants.check(session)
    await db.dispose()
    assert report.violations == []
    assert report.entries > 0
