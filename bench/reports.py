"""`python -m bench.reports`: how long organizationReport takes on one large organization, and
the plans of its three statements.

On a fresh embedded PostgreSQL (or a new database on DATABASE_URL's server): one
organization of the benchmark's shape, ten times its clients (5,000) and a year of slots
(50 weeks). It times the report's service call for 31 and for 366 days (the median of five
runs after a warm-up) and prints EXPLAIN (ANALYZE) of each statement for the 31 days.
"""

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from app import migrations
from app.auth import Principal, Role
from app.db import Database
from app.reports import organization as report
from bench.seed import Shape, seed
from bench.series import fresh_database

DATABASE = "bookings_bench_reports"
STATEMENTS = {"appointments": report._APPOINTMENTS, "offered minutes": report._OFFERED,
              "credits": report._CREDITS}


async def run(shape: Shape, database_url: str | None, work: Path) -> None:
    url = await fresh_database(database_url, work, DATABASE)
    await asyncio.to_thread(migrations.upgrade, url)
    db = Database(url, pool_size=2)
    started = time.perf_counter()
    [organization] = await seed(db, shape)
    print(f"seeded 1 organization ({shape.clients} clients, {shape.professionals} "
          f"professionals, {shape.weeks} weeks of slots) in {time.perf_counter() - started:.0f} s")
    admin = Principal(organization.admin_id, organization.id, Role.ADMIN)
    today = datetime.now(UTC).date()
    for days in (31, 366):
        first = today - timedelta(days=days // 2)
        timings = []
        for _ in range(6):
            started = time.perf_counter()
            async with db.transaction(organization.id, read_only=True) as session:
                await report.organization_report(session, admin, first_day=first,
                                                 last_day=first + timedelta(days=days - 1))
            timings.append((time.perf_counter() - started) * 1000)
        print(f"{days:>3} days: {statistics.median(timings[1:]):.1f} ms (median of 5)")
    async with db.transaction(organization.id, read_only=True) as session:
        covered = await report.scope(session, admin, first_day=today - timedelta(days=15),
                                     last_day=today + timedelta(days=15))
        parameters = {**covered.parameters, "professionals": covered.professional_ids}
        for name, statement in STATEMENTS.items():
            plan = await session.execute(
                text("EXPLAIN (ANALYZE, COSTS OFF) " + statement.text)
                .bindparams(*statement._bindparams.values()), parameters)
            print(f"\n-- {name}\n" + "\n".join(row[0] for row in plan))
    await db.dispose()


def main() -> None:
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--weeks", type=int, default=50)
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bookings-bench-reports-"))
    try:
        asyncio.run(run(Shape(organizations=1, clients=arguments.clients, weeks=arguments.weeks),
                        os.environ.get("DATABASE_URL"), work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
