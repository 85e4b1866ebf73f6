"""Schemathesis (GraphQL mode) against a live server: generated queries and mutations of every
operation, sent as an organization's admin (logged in again whenever a generated
`revokeSessions` ends the admin's session, so what follows is not fuzzed anonymously).

Bounded (`EXAMPLES` documents in all), so it stays well under a minute. Nothing may come
back as a 5xx or as a masked INTERNAL_SERVER_ERROR, no error may carry internals, and
the organization's ledger invariants hold afterwards.
"""

import asyncio
import re
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from app.credits import invariants
from tests.live_server import LiveServer
from tests.security.support import World
from tests.support import PASSWORD, Member

EXAMPLES = 200
# The recurring series, new and not reached in the bounded run of everything above: fuzzed
# on their own too (with `SERIES_EXAMPLES` more documents), so each is surely sent.
SERIES_OPERATIONS = ("Mutation.bookSeries", "Mutation.cancelSeries", "Query.appointmentSeries")
SERIES_EXAMPLES = 60

# Every code the API reports on purpose; anything else is a bug.
KNOWN_CODES = {"UNAUTHENTICATED", "FORBIDDEN", "TENANT_REQUIRED", "RATE_LIMITED", "NOT_FOUND",
               "VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED",
               "BAD_USER_INPUT"}
INTERNALS = re.compile(r"Traceback|sqlalchemy|asyncpg|psycopg|File \"|Error\(|SELECT |INSERT ",
                       re.IGNORECASE)


@pytest.fixture
def live_server(database_url, settings, tmp_path):
    server = LiveServer(database_url, tmp_path, secret_key=settings.signing_key())
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


LOGIN = """mutation($input: LoginInput!) { login(input: $input) { token userErrors { code } } }"""


def logging_in(url: str, organization: str, member: Member) -> Callable[[], str]:
    """A function that logs `member` in over HTTP and returns the new token."""
    def log_in() -> str:
        response = requests.post(f"{url}/graphql", timeout=30, json={
            "query": LOGIN, "variables": {"input": {
                "organization": organization, "email": member.user.email,
                "password": PASSWORD}}})
        token = response.json()["data"]["login"]["token"]
        assert token, response.text
        return token

    return log_in


def unauthenticated(response: requests.Response) -> bool:
    return response.status_code == 200 and any(
        (error.get("extensions") or {}).get("code") == "UNAUTHENTICATED"
        for error in response.json().get("errors") or [])


def fuzz(url: str, log_in: Callable[[], str], *, examples: int = EXAMPLES,
         operations: Sequence[str] | None = None) -> Counter[str]:
    """Runs the generated documents (of the given `operations` only, `Query.x` or
    `Mutation.y`, if any); returns how many were sent of each operation."""
    headers = {"Authorization": f"Bearer {log_in()}"}
    schema = schemathesis.graphql.from_url(f"{url}/graphql", headers=headers)
    if operations is not None:
        schema = schema.include(name=list(operations))
    session = requests.Session()
    sent: Counter[str] = Counter()
    sessions_ended = 0

    # Derandomized: CI runs the same documents every time, so a failure is reproducible.
    @hypothesis.settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                         phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @hypothesis.given(case=schema.as_strategy())
    def run(case) -> None:
        nonlocal sessions_ended
        sent[case.operation.label] += 1
        response = case.call(session=session, headers=headers, timeout=30)
        if unauthenticated(response):
            # An earlier document revoked the admin's sessions (revokeSessions): the admin's
            # token is the only one sent, so nothing else refuses it. In again, and resend.
            sessions_ended += 1
            assert sessions_ended <= examples // 10, "logged out too often to fuzz as the admin"
            headers["Authorization"] = f"Bearer {log_in()}"
            response = case.call(session=session, headers=headers, timeout=30)
            assert not unauthenticated(response), (case.body, response.text)
        assert response.status_code < 500, (case.body, response.text)
        if response.status_code != 200:  # refused whole: bad JSON, a batch, a body too large
            assert response.status_code in (400, 404, 413, 429), (case.body, response.text)
            return
        body = response.json()
        for error in body.get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            assert code in KNOWN_CODES, (case.body, body)  # every error has a code
            assert not INTERNALS.search(error["message"]), (case.body, body)

    run()
    return sent


async def register_scalars(world: World) -> None:
    """Strategies for our scalars, and IDs that are mostly real ones of the organization (random
    ones only ever get NOT_FOUND). Registered process-wide; only this test uses schemathesis."""
    org = world.org
    real_ids = [org.admin.id, org.client.id, org.other_client.id, org.professional_id,
                org.student_id, await world.slot(), await world.slot(), await world.rule(),
                await world.time_off(), await world.appointment(),
                await world.purchase(pending=True), world.organization(),
                await world.invited_user(), await world.weekly_slots(), await world.series(),
                await world.series_occurrence()]
    schemathesis.graphql.scalar(
        "ID", st.one_of(st.sampled_from(real_ids), st.text(max_size=12)).map(nodes.String))
    schemathesis.graphql.scalar("LocalTime", st.one_of(
        st.times().map(lambda value: value.strftime("%H:%M")), st.text(max_size=6),
    ).map(nodes.String))
    schemathesis.graphql.scalar("DateTime", st.one_of(
        st.datetimes(timezones=st.just(UTC)).map(lambda value: value.isoformat()),
        st.text(max_size=25),
    ).map(nodes.String))


async def test_generated_documents_never_break_the_server(db, org, live_server):
    await register_scalars(World(db, org))

    log_in = logging_in(live_server.url, org.slug, org.admin)

    sent = await asyncio.to_thread(fuzz, live_server.url, log_in)
    series_sent = await asyncio.to_thread(fuzz, live_server.url, log_in,
                                          examples=SERIES_EXAMPLES, operations=SERIES_OPERATIONS)

    assert sent.total() == EXAMPLES
    assert series_sent.total() == SERIES_EXAMPLES
    assert set(series_sent) == set(SERIES_OPERATIONS), series_sent
    async with db.transaction(org.id, read_only=True) as session:
        report = await invariants.check(session)
    assert report.violations == []
    assert "Traceback" not in live_server.log()
