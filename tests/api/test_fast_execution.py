"""The fast road for queries (app/api/execution.py) answers exactly what graphql-core does.

Every document goes to two apps on the same database: ours, and one with
BOOKINGS_FAST_QUERIES off, where graphql-core's executor runs everything. The answers
must be the same JSON. Spies tell which road each query took, so a fast road that was
never taken, or quietly always handed over, fails here too.
"""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import hypothesis
import pytest
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from hypothesis_graphql import nodes, queries
from sqlalchemy import select, text

from app import global_ids as ids
from app.api.execution import FastQueryExecution
from app.api.schema import build_schema
from app.appointments.models import Appointment
from app.organizations import repository as organizations
from app.web import create_app
from tests.appointments.support import add_slots, book, give_credits, in_days
from tests.support import GraphQLClient, error_codes

CALENDAR = """
query Calendar($ids: [ID!]!, $from: Date!, $to: Date!, $withTitle: Boolean!, $bare: Boolean!) {
  week: availability(professionalIds: $ids, from: $from, to: $to, timeZone: "Asia/Kolkata") {
    __typename
    professional { ...Who title @include(if: $withTitle) specialization @skip(if: $bare) }
    timeZone
    days { date slots { ... on TimeSlot { id startsAt } endsAt status kind: __typename } }
  }
  again: availability(professionalIds: $ids, from: $from, to: $from) { days { date } }
}
fragment Who on Professional { id creditCost user { firstName lastName } }
"""

APPOINTMENTS = """
query Appointments {
  appointments(first: 10) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges {
      cursor
      node {
        id state startsAt endsAt creditCost refundableUntil notes privateNotes
        client { id firstName email creditBalance { balance } }
        student { id firstName guardian { id } }
        professional { id licenseNumber user { id } }
        timeSlot { id status appointment { id } }
        cancellationPreview { refundCredits allowed reason }
      }
    }
  }
}
"""

CREDITS = """
query Credits {
  me { id role ... on User { email } }
  creditBalance { balance lifetimePurchased lifetimeUsed lifetimeRefunded updatedAt }
  creditTransactions(first: 5) {
    edges { node { id type status amount balanceAfter appointment { id } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

DIRECTORY = """
query Directory {
  me { id role }
  organization { name settings { bookingWindowDays minimumNoticeMinutes reminderLeadHours } }
  professionals(first: 5) { edges { node { id user { firstName } availabilityRules { id } } } }
}
"""

# Professionals see no balances (docs/rules.md: roles).
DOCUMENTS = {"client": [APPOINTMENTS, CREDITS, DIRECTORY],
             "professional": [APPOINTMENTS, DIRECTORY],
             "staff": [APPOINTMENTS, CREDITS, DIRECTORY],
             "admin": [APPOINTMENTS, CREDITS, DIRECTORY]}


@pytest.fixture(scope="module")
async def reference(db, settings) -> AsyncIterator[GraphQLClient]:
    """The same app with every operation on graphql-core's executor."""
    app = create_app(db, settings.model_copy(update={"fast_queries": False,
                                                     "compiled_queries": False}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield GraphQLClient(client)


class Roads:
    """Which queries started on the fast road, and which it handed over to graphql-core."""

    def __init__(self) -> None:
        self.fast: list[str] = []
        self.handed_over: list[str] = []


@pytest.fixture
def roads(monkeypatch) -> Roads:
    seen = Roads()
    road_open, hand_over = FastQueryExecution._fast_road_open, FastQueryExecution._hand_over

    def name(self) -> str:
        return self.operation.name.value if self.operation.name else ""

    def fast_road_open(self):
        if is_open := road_open(self):
            seen.fast.append(name(self))
        return is_open

    def handing_over(self):
        seen.handed_over.append(name(self))
        return hand_over(self)

    monkeypatch.setattr(FastQueryExecution, "_fast_road_open", fast_road_open)
    monkeypatch.setattr(FastQueryExecution, "_hand_over", handing_over)
    return seen


@pytest.fixture
async def busy_org(api, db, org):
    """An organization with slots, credits, a booking with a student and a cancelled one."""
    await give_credits(db, org, org.client, 5)
    first, second, *_ = await add_slots(db, org, [in_days(2), in_days(3), in_days(4, hour=9),
                                                  in_days(4, hour=11)])
    await book(api, org.client, first, studentId=org.student_id)
    cancelled = (await book(api, org.client, second))["appointment"]["id"]
    await api.data("""mutation($id: ID!) { cancelAppointment(input: {appointmentId: $id}) {
        userErrors { code } } }""", {"id": cancelled}, as_=org.client)
    return org


async def _both(api, reference, query, variables=None, **kwargs):
    ours = await api.post(query, variables, **kwargs)
    theirs = await reference.post(query, variables, **kwargs)
    assert ours == theirs
    return ours


@pytest.mark.parametrize("role", ["client", "professional", "staff", "admin"])
async def test_happy_queries_take_the_fast_road_and_answer_the_same(
        api, reference, busy_org, roads, role):
    member = getattr(busy_org, role)
    for show in (True, False):
        calendar = await _both(api, reference, CALENDAR, {
            "ids": [busy_org.professional_id], "from": in_days(1).date().isoformat(),
            "to": in_days(6).date().isoformat(), "withTitle": show, "bare": show}, as_=member)
        assert "errors" not in calendar
        slots = [slot for day in calendar["data"]["week"][0]["days"] for slot in day["slots"]]
        assert len(slots) == 3  # the booked one is gone
        assert ("title" in calendar["data"]["week"][0]["professional"]) is show
    for document in DOCUMENTS[role]:
        body = await _both(api, reference, document, as_=member)
        assert "errors" not in body
    appointments = await _both(api, reference, APPOINTMENTS, as_=busy_org.staff)
    assert appointments["data"]["appointments"]["totalCount"] == 2
    assert roads.fast == ["Calendar", "Calendar", *(document.split()[1] for document in
                                                   DOCUMENTS[role]), "Appointments"]
    assert roads.handed_over == []


async def test_errors_are_graphql_cores_own(api, reference, busy_org, roads):
    """A failing field: graphql-core runs the query and reports the error, its path and
    the partial data, exactly as without the fast road."""
    partial = await _both(api, reference, """query Partial($id: ID!) {
        me { id }
        appointments(filter: {professionalId: $id}) { totalCount }
    }""", {"id": "UHJvZmVzc2lvbmFsOjk5OTk5OTk="}, as_=busy_org.staff)
    assert partial["data"] is None or partial["data"]["appointments"] is None
    assert partial["errors"][0]["path"] == ["appointments"]

    anonymous = await _both(api, reference, "query Anonymous { me { id } }")
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert roads.fast == roads.handed_over == ["Partial", "Anonymous"]


async def test_what_the_fast_road_leaves_to_graphql_core(api, reference, busy_org, roads):
    """Abstract types (here the Node interface) and introspection are graphql-core's."""
    node = await _both(api, reference, """query Node($id: ID!) {
        node(id: $id) { __typename ... on Professional { title } } }""",
        {"id": busy_org.professional_id}, as_=busy_org.client)
    assert node["data"]["node"]["__typename"] == "Professional"
    introspection = await _both(api, reference,
                                "query Types { __schema { queryType { name } } }")
    assert introspection["data"]["__schema"]["queryType"]["name"] == "Query"
    assert roads.handed_over == ["Node", "Types"]


def test_a_query_with_nothing_to_await_stays_synchronous(roads):
    """As on graphql-core, `execute_sync` works when no resolver is async."""
    result = build_schema().execute_sync("query Ping { __typename again: __typename }")
    assert result.errors is None
    assert result.data == {"__typename": "Query", "again": "Query"}
    assert roads.fast == ["Ping"]
    assert roads.handed_over == []


async def test_a_failed_statement_is_reported_as_itself(api, reference, org, roads, monkeypatch):
    """A resolver's statement times out (as in an outage): both roads report
    SERVICE_UNAVAILABLE. Before graphql-core runs the query again, the request drops the
    read session the failure left unusable; otherwise its attempt reported that instead."""
    original = organizations.get_current

    async def times_out(session):
        await session.execute(text("SET LOCAL statement_timeout = '10ms'"))
        await session.execute(text("SELECT pg_sleep(1)"))
        return await original(session)

    monkeypatch.setattr(organizations, "get_current", times_out)
    request = {"json": {"query": "query Slow { me { email } organization { name } }"},
               "headers": {"Authorization": f"Bearer {org.staff.token}"}}
    ours = await api.http.post("/graphql", **request)
    theirs = await reference.http.post("/graphql", **request)
    assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json())
    assert ours.status_code == 503
    assert error_codes(ours.json()) == ["SERVICE_UNAVAILABLE"]
    assert roads.handed_over == ["Slow"]


DIFFERENTIAL_EXAMPLES = 150


async def test_generated_queries_answer_the_same_on_both_roads(api, reference, db, busy_org,
                                                               roads):
    """Queries hypothesis-graphql writes from our schema (with real IDs of the
    organization, so most resolve), sent as a client and as staff: same answers."""
    real_ids = [busy_org.professional_id, busy_org.student_id, busy_org.client.id,
                busy_org.staff.id]
    async with db.transaction(busy_org.id, read_only=True) as session:
        real_ids += [ids.encode("Appointment", pk) for pk in await session.scalars(
            select(Appointment.id))]
    scalars = {
        "ID": st.sampled_from(real_ids).map(nodes.String),
        "Date": st.dates(min_value=date.today(), max_value=date.today() + timedelta(days=9))
        .map(lambda value: nodes.String(value.isoformat())),
        "DateTime": st.datetimes(min_value=datetime.now(), max_value=datetime.now()
                                 + timedelta(days=9), timezones=st.just(UTC))
        .map(lambda value: nodes.String(value.isoformat())),
        "LocalTime": st.times().map(lambda value: nodes.String(value.strftime("%H:%M"))),
    }
    schema = build_schema()._schema
    # `node` (an interface: graphql-core's road) aside, or it would take most examples.
    roots = [name for name in schema.query_type.fields if name != "node"]
    documents: list[str] = []

    # Derandomized: CI sends the same documents every time, so a failure reproduces.
    @hypothesis.settings(max_examples=DIFFERENTIAL_EXAMPLES, deadline=None, database=None,
                         derandomize=True, phases=[Phase.generate],
                         suppress_health_check=list(HealthCheck))
    @hypothesis.given(document=st.sampled_from(roots).flatmap(
        lambda root: queries(schema, fields=[root], custom_scalars=scalars)))
    def collect(document: str) -> None:
        # A NUL in a string is refused before either road runs (test_bad_input.py).
        if "\\u0000" not in document and "\x00" not in document:
            documents.append(document)

    collect()
    for document in documents:
        for member in (busy_org.client, busy_org.staff):
            await _both(api, reference, document, as_=member)
    # Many go the whole fast road (how many depends on the documents hypothesis draws from
    # the schema, so the bar is a third): invalid arguments and refusals are the rest.
    assert len(roads.fast) - len(roads.handed_over) > DIFFERENTIAL_EXAMPLES // 3
