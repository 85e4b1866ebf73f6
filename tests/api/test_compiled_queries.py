"""Compiled queries (app/api/compiled.py) answer exactly the bytes the general road does.

Each document goes to two apps on one database: ours, which compiles a document once it
has run well, and a reference with BOOKINGS_COMPILED_QUERIES off. Ours is asked twice
(the first answer comes from the general road, the second from the plan), and the bytes
of every answer must be the same as the reference's. A spy tells which answers came from
a plan, so a plan that was never used fails here too.
"""

from collections.abc import AsyncIterator

import httpx
import pytest

from app.api.compiled import CompiledQueries
from app.web import create_app
from bench.scenarios import APPOINTMENTS, AVAILABILITY, CREDITS
from tests.appointments.support import add_slots, book, give_credits, in_days

AVAILABILITY_EVERYTHING = """
query Everything($ids: [ID!]!, $from: Date!, $to: Date!, $zone: String) {
  week: availability(professionalIds: $ids, from: $from, to: $to, timeZone: $zone) {
    __typename zone: timeZone
    professional { ...Who bio timeZone sessionMinutes bufferMinutes active __typename }
    days { __typename day: date slots { __typename ... on TimeSlot { id } startsAt endsAt
           status professional { id user { id email phone role active } } } }
  }
}
fragment Who on Professional { id creditCost title user { firstName lastName } }
"""


@pytest.fixture(scope="module")
async def reference(db, settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(db, settings.model_copy(update={"compiled_queries": False}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        yield client


class Plans:
    def __init__(self) -> None:
        self.answered: list[str | None] = []
        self.handed_back: list[str | None] = []
        self.handed_back_variables: list[dict] = []


@pytest.fixture
def plans(monkeypatch) -> Plans:
    seen = Plans()
    run = CompiledQueries.run

    async def spied(self, plan, variables, context):
        answer = await run(self, plan, variables, context)
        (seen.answered if answer is not None else seen.handed_back).append(plan.name)
        if answer is None:
            seen.handed_back_variables.append(variables or {})
        return answer

    monkeypatch.setattr(CompiledQueries, "run", spied)
    return seen


@pytest.fixture
async def busy_org(api, db, org):
    await give_credits(db, org, org.client, 5)
    first, *_ = await add_slots(db, org, [in_days(2), in_days(3), in_days(4, hour=9),
                                          in_days(4, hour=11)])
    await book(api, org.client, first, studentId=org.student_id)
    return org


async def same_bytes(api, reference, query, variables=None, *, as_, times=2) -> dict:
    """Our answers (asked `times` times) and the reference's are the same bytes."""
    request = {"json": {"query": query, "variables": variables},
               "headers": {"Authorization": f"Bearer {as_.token}"}}
    theirs = await reference.post("/graphql", **request)
    for _ in range(times):
        ours = await api.http.post("/graphql", **request)
        assert (ours.status_code, ours.content) == (theirs.status_code, theirs.content)
    return theirs.json()


@pytest.mark.parametrize("role", ["client", "professional", "staff", "admin"])
async def test_availability_from_a_plan_is_the_same_bytes(api, reference, busy_org, plans,
                                                          role):
    member = getattr(busy_org, role)
    variables = {"ids": [busy_org.professional_id], "from": in_days(1).date().isoformat(),
                 "to": in_days(6).date().isoformat()}
    body = await same_bytes(api, reference, AVAILABILITY, variables, as_=member)
    slots = [slot for day in body["data"]["availability"][0]["days"] for slot in day["slots"]]
    assert len(slots) == 3  # the booked one is gone
    for zone in (None, "Pacific/Kiritimati", "America/Adak"):
        await same_bytes(api, reference, AVAILABILITY_EVERYTHING, {**variables, "zone": zone},
                         as_=member)
    # Every answer but a document's very first (which teaches the plan) came from a plan.
    assert plans.answered.count("Availability") >= 1
    assert plans.answered.count("Everything") >= 5
    assert plans.handed_back == []


CREDITS_EVERYTHING = """
query Ledger($user: ID, $first: Int, $after: String, $types: [CreditTransactionType!]) {
  mine: creditBalance(userId: $user) { __typename id balance lifetimeExpired
                                       user { id firstName } }
  creditTransactions(userId: $user, first: $first, after: $after, types: $types) {
    __typename
    pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
    edges { __typename cursor node { __typename id type status amount balanceAfter
      amountPaidCents currency paymentReference expiresAt description failureReason
      createdAt processedAt user { email } } }
  }
}"""


APPOINTMENTS_EVERYTHING = """
query Appointments($first: Int, $after: String, $states: [AppointmentState!]) {
  appointments(first: $first, after: $after, filter: {states: $states}) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id state startsAt endsAt creditCost refundableUntil notes bookedAt
      confirmedAt executedAt cancelledAt cancellationReason
      professional { id title user { id lastName } }
      client { id email } student { id dateOfBirth active guardian { id } } } }
  }
}"""


async def test_credits_and_appointments_from_plans_are_the_same_bytes(api, reference,
                                                                      busy_org, plans):
    org = busy_org
    for member in (org.client, org.staff, org.admin):
        if member is org.staff:
            # The client's answers all came from plans once learnt. Staff never had
            # credits: their zero balance is made by the general road, not stored.
            assert plans.handed_back == []
        await same_bytes(api, reference, CREDITS, as_=member)
        for variables in ({}, {"user": org.client.id, "first": 1},
                          {"user": org.client.id, "types": ["PURCHASE"]}):
            body = await same_bytes(api, reference, CREDITS_EVERYTHING, variables, as_=member)
            assert "errors" not in body, body
            after = body["data"]["creditTransactions"]["pageInfo"]["endCursor"]
            if after:
                await same_bytes(api, reference, CREDITS_EVERYTHING,
                                 {**variables, "after": after}, as_=member)
    week = {"professionalId": org.professional_id, "from": in_days(0).isoformat(),
            "to": in_days(8).isoformat()}
    for member in (org.client, org.professional, org.staff, org.admin):
        body = await same_bytes(api, reference, APPOINTMENTS, week, as_=member)
        for variables in ({}, {"first": 1}, {"states": ["PRE_CONFIRMED"]}):
            body = await same_bytes(api, reference, APPOINTMENTS_EVERYTHING, variables,
                                    as_=member)
    assert body["data"]["appointments"]["edges"]
    assert {"Credits", "Ledger", "Week", "Appointments"} <= set(plans.answered)
    assert set(plans.handed_back) == {"Credits", "Ledger"}
    # Only staff's own (made) balance went back: every filter and cursor had its plan.
    assert all("user" not in variables for variables in plans.handed_back_variables)


async def test_refusals_after_a_plan_is_learnt_are_the_general_roads(api, reference, busy_org,
                                                                     other_org, plans):
    """Once a document has its plan, every refusal still answers as the general road
    answers it (same code, same message, same path): the plan hands the request back."""
    org, client = busy_org, busy_org.client
    days = {"from": in_days(1).date().isoformat(), "to": in_days(6).date().isoformat()}
    good = {"ids": [org.professional_id], **days}
    await same_bytes(api, reference, AVAILABILITY, good, as_=client)
    refused_availability = [
        {**good, "ids": [other_org.professional_id]},  # another organization's: NOT_FOUND
        {**good, "ids": ["not-an-id"]},
        {**good, "from": days["to"], "to": days["from"]},  # the range backwards
        {**good, "to": in_days(400).date().isoformat()},  # too long a range
        {**good, "from": "yesterday"},  # a variable that does not fit its type
    ]
    for variables in refused_availability:
        body = await same_bytes(api, reference, AVAILABILITY, variables, as_=client)
        assert body.get("errors"), variables
    await same_bytes(api, reference, AVAILABILITY_EVERYTHING, {**good, "zone": "Mars/Base"},
                     as_=client)

    await same_bytes(api, reference, CREDITS_EVERYTHING, {"user": client.id}, as_=client)
    for variables in ({"user": org.other_client.id},  # a client sees only their own
                      {"user": client.id, "first": 1000},
                      {"user": client.id, "after": "bm90IGEgY3Vyc29y"}):
        body = await same_bytes(api, reference, CREDITS_EVERYTHING, variables, as_=client)
        assert body.get("errors"), variables

    week = {"professionalId": org.professional_id, "from": in_days(0).isoformat(),
            "to": in_days(8).isoformat()}
    await same_bytes(api, reference, APPOINTMENTS, week, as_=org.staff)
    for variables in ({**week, "professionalId": other_org.professional_id},
                      {**week, "from": week["to"], "to": week["from"]}):
        body = await same_bytes(api, reference, APPOINTMENTS, variables, as_=org.staff)
        assert body.get("errors"), variables
    # Every refusal (asked twice) went to a plan first, which handed it back.
    assert plans.handed_back.count("Availability") == 2 * len(refused_availability)
    assert plans.handed_back.count("Ledger") == 6 and plans.handed_back.count("Week") == 4


async def test_text_that_json_escapes_is_the_same_bytes(api, reference, db, org, plans):
    """PostgreSQL's JSON escaping of text equals orjson's: quotes, backslashes, control
    characters, non-ASCII, astral characters and the separators JavaScript dislikes."""
    await give_credits(db, org, org.client, 1)
    slot, = await add_slots(db, org, [in_days(3)])
    notes = 'say "hi"\\ back\n\ttab \x01\x1f\x7f é ñ 中 😀 \u2028\u2029 </script>'
    await book(api, org.client, slot, notes=notes)
    for _ in range(2):
        body = await same_bytes(api, reference, APPOINTMENTS_EVERYTHING, {}, as_=org.staff)
    assert body["data"]["appointments"]["edges"][0]["node"]["notes"] == notes
    assert "Appointments" in plans.answered
