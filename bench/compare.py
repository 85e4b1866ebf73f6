"""`python -m bench.compare`: two (or more) variants of our server, side by side, on one dataset.

On a shared 2-core machine the same run can differ by 15% from one minute to the next,
more than most changes are worth. Comparing variants in one run, in alternating slices
under the same load, shows what a change did. A variant is environment settings for
`bookings serve`, for example

    python -m bench.compare BOOKINGS_FAST_QUERIES=false BOOKINGS_FAST_QUERIES=true
    python -m bench.compare --scenario bookings PYTHONPATH=/path/to/main-checkout ''

(the second compares another checkout's code, e.g. a `git worktree` of main, with this one).
"""

import argparse
import asyncio
import os
import secrets
import tempfile
import time
import warnings
from pathlib import Path

from app import migrations
from app.db import Database
from bench import load
from bench.__main__ import (
    REPOSITORY,
    ROUNDS,
    Options,
    _analyze,
    _combined,
    _free_slots,
    _fresh_database,
    _measure,
    turns,
)
from bench.scenarios import (
    READ_SCENARIOS,
    Tokens,
    booked,
    booking_request,
    uncontended_bookings,
)
from bench.seed import QUICK_SHAPE, Shape, seed
from bench.servers import bookings_server

SCENARIOS = [scenario.name for scenario in READ_SCENARIOS] + ["bookings"]


def parse_variant(text: str) -> dict[str, str]:
    """'A=1,B=2' -> {'A': '1', 'B': '2'}; '' is the server as configured."""
    variant = {}
    for setting in filter(None, text.split(",")):
        name, equals, value = setting.partition("=")
        if not equals or not name:
            raise argparse.ArgumentTypeError(f"expected NAME=VALUE[,NAME=VALUE...], got {text!r}")
        variant[name] = value
    return variant


async def compare(variants: list[str], scenarios: list[str], *, seconds: float,
                  quick: bool = False, connections: int = 16,
                  database_url: str | None = None) -> dict[str, list[dict]]:
    """Per scenario, what each variant measured (in the order given), as `python -m bench`
    reports a scenario: rate, p50/p99, errors, server CPU per request."""
    work = Path(tempfile.mkdtemp(prefix="bookings-compare-"))
    url = await _fresh_database(database_url or os.environ.get("DATABASE_URL"), work)
    db = Database(url, pool_size=4)
    await asyncio.to_thread(migrations.upgrade, url)
    organizations = await seed(db, QUICK_SHAPE if quick else Shape())
    await _analyze(url)
    secret = secrets.token_urlsafe(32)
    base = {"DATABASE_URL": url, "BOOKINGS_SECRET_KEY": secret,
            "BOOKINGS_DATA_DIR": str(work / "data"), "PYTHONPATH": str(REPOSITORY)}
    servers = [bookings_server({**base, **parse_variant(variant)}, work / f"server-{n}.log")
               for n, variant in enumerate(variants)]
    tokens = Tokens(secret)
    per_slice = Options(connections=connections, seconds=seconds / ROUNDS,
                        warmup=min(0.5, seconds / ROUNDS))
    results: dict[str, list[dict]] = {}
    try:
        await asyncio.gather(*(server.start() for server in servers))
        free = (await _free_slots(db, organizations, Options()))["plain"]
        for name in scenarios:
            if name == "bookings":  # each variant books slots of its own
                check = booked
                streams = [(booking_request(booking, tokens) for booking in uncontended_bookings(
                    {org: slots[n::len(servers)] for org, slots in free.items()}, organizations))
                    for n in range(len(servers))]
            else:
                check = load.ok_graphql
                scenario = next(s for s in READ_SCENARIOS if s.name == name)
                requests, _ = scenario.requests(organizations, tokens, 3000)
                streams = [load.cycle(requests) for _ in servers]
            slices: list[list[dict]] = [[] for _ in servers]
            for turn in turns(len(servers)):
                slices[turn].append(await _measure(servers[turn], streams[turn], per_slice,
                                                   check=check, keep_latencies=True))
            results[name] = [_combined(measured) for measured in slices]
            for variant, result in zip(variants, results[name], strict=True):
                print(f"{name:13} {variant or '(as configured)':40} {result['rate']:7.0f} req/s"
                      f"  p99 {result['p99_ms']:6.1f} ms"
                      f"  {result['server_cpu_us_per_request']:6d} µs CPU/req"
                      f"  {result['errors']} errors", flush=True)
    finally:
        await asyncio.gather(*(server.stop() for server in servers))
        await db.dispose()
    return results


def main() -> None:
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+", type=str,
                        help="NAME=VALUE[,NAME=VALUE...] per variant; '' for no change")
    parser.add_argument("--scenario", action="append", choices=SCENARIOS,
                        help="repeat for several (default: all)")
    parser.add_argument("--seconds", type=float, default=12.0,
                        help="measured seconds per scenario and variant")
    parser.add_argument("--quick", action="store_true", help="the smoke run's small dataset")
    arguments = parser.parse_args()
    for variant in arguments.variants:  # refuse a malformed one before seeding anything
        try:
            parse_variant(variant)
        except argparse.ArgumentTypeError as error:
            parser.error(str(error))
    started = time.perf_counter()
    asyncio.run(compare(arguments.variants, arguments.scenario or SCENARIOS,
                        seconds=arguments.seconds, quick=arguments.quick))
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
