"""`python -m bench.reset_timing`: does requestPasswordReset answer faster for an unknown
account than for a known one? (Its answer is the same either way; its timing should not
tell who has an account either: app/people/accounts.py, `request_password_reset`.)

Starts `bookings serve` (with its in-process worker, which logs the emails; `--no-worker`:
without) on a fresh database (an embedded PostgreSQL, or a new database on DATABASE_URL's
server), then times the mutation over HTTP for a known and an unknown address of one
organization, interleaved (known first in one round, unknown first in the next), and prints
the medians and their difference. The throttle is raised so that every try does the whole work.
"""

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import httpx

from app import migrations
from app.auth import Role
from app.db import Database
from app.organizations import service as organizations
from app.people import service as people
from bench.__main__ import _fresh_database

SLUG = "reset-timing"
KNOWN = f"known@{SLUG}.example"
UNKNOWN = f"unknown@{SLUG}.example"
REQUEST = """mutation($input: RequestPasswordResetInput!) {
    requestPasswordReset(input: $input) { accepted userErrors { code } } }"""


async def prepare(work: Path) -> str:
    """A fresh, migrated database with one organization and one known user; its URL."""
    url = await _fresh_database(os.environ.get("DATABASE_URL"), work)
    await asyncio.to_thread(migrations.upgrade, url)  # Alembic runs its own event loop
    db = Database(url, pool_size=1)
    try:
        async with db.transaction(None) as session:
            await organizations.create(session, slug=SLUG, name="Reset Timing",
                                       time_zone="UTC")
            await people.register_user(session, email=KNOWN, first_name="Known",
                                       last_name="Person", phone="+1 555 0100",
                                       role=Role.CLIENT, password="a long enough passphrase 1")
    finally:
        await db.dispose()
    return url


def time_request(client: httpx.Client, email: str) -> float:
    """Seconds from sending requestPasswordReset for `email` to its full answer."""
    variables = {"input": {"organization": SLUG, "email": email}}
    started = time.perf_counter()
    response = client.post("/graphql", json={"query": REQUEST, "variables": variables})
    elapsed = time.perf_counter() - started
    answer = response.json()
    assert answer == {"data": {"requestPasswordReset": {"accepted": True, "userErrors": []}}}, \
        answer
    return elapsed


def measure(url: str, tries: int, warmup: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {KNOWN: [], UNKNOWN: []}
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(warmup):
            for email in (KNOWN, UNKNOWN):
                time_request(client, email)
        for number in range(tries):
            order = (KNOWN, UNKNOWN) if number % 2 == 0 else (UNKNOWN, KNOWN)
            for email in order:
                timings[email].append(time_request(client, email))
    return timings


def main() -> None:
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    parser = argparse.ArgumentParser(prog="python -m bench.reset_timing", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tries", type=int, default=20, help="timed requests per address")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per address")
    parser.add_argument("--no-worker", action="store_true",
                        help="no in-process worker: the emails stay queued, unsent")
    arguments = parser.parse_args()

    from tests.live_server import LiveServer  # the tests' helper: `bookings serve`, waited for

    work = Path(tempfile.mkdtemp(prefix="bookings-reset-timing-"))
    url = asyncio.run(prepare(work))
    server = LiveServer(url, work, secret_key=secrets.token_urlsafe(48),
                        BOOKINGS_RUN_WORKER="0" if arguments.no_worker else "1", BOOKINGS_APP_URL="https://app.example.com",
                        BOOKINGS_PASSWORD_RESET_MAX_REQUESTS="100000")
    try:
        server.wait_ready()
        timings = measure(server.url, arguments.tries, arguments.warmup)
    finally:
        server.stop()

    medians = {email: statistics.median(values) * 1000 for email, values in timings.items()}
    print(f"requestPasswordReset over HTTP, {arguments.tries} tries per address, interleaved "
          f"(after {arguments.warmup} untimed each; worker "
          f"{'off' if arguments.no_worker else 'on'}):")
    for label, email in (("known account  ", KNOWN), ("unknown account", UNKNOWN)):
        values = sorted(value * 1000 for value in timings[email])
        print(f"  {label}: median {medians[email]:6.2f} ms  "
              f"(min {values[0]:.2f}, max {values[-1]:.2f})")
    print(f"  difference (known - unknown): {medians[KNOWN] - medians[UNKNOWN]:+.2f} ms")
    sys.exit(0)


if __name__ == "__main__":
    main()
