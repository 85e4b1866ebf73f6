"""Hostile documents and requests get a clear refusal, and the server keeps serving.

Depth and alias limits, page sizes and malformed input are in tests/api/test_bad_input.py;
this adds the token limit, list and range caps, batches, body size, and the switches
for introspection and GraphiQL.
"""

import pytest

from app.api.schema import MAX_TOKENS
from app.config import Environment
from tests.support import error_codes

ME = "{ me { email } }"


def bearer(member) -> dict[str, str]:
    return {"Authorization": f"Bearer {member.token}"}


async def test_a_document_over_the_token_limit_is_refused(api, org):
    fields = " ".join(["email"] * MAX_TOKENS)
    body = await api.post(f"{{ me {{ {fields} }} }}", as_=org.client)
    assert body["errors"][0]["message"] == (
        f"Syntax Error: Document contains more than {MAX_TOKENS} tokens. Parsing aborted.")
    assert body.get("data") is None


async def test_availability_of_too_many_professionals_is_refused(api, org):
    from app import global_ids as ids

    many = [ids.encode("Professional", pk) for pk in range(1, 102)]
    body = await api.post("""query($ids: [ID!]!) { availability(professionalIds: $ids,
        from: "2030-01-01", to: "2030-01-02") { timeZone } }""", {"ids": many}, as_=org.client)
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert body["errors"][0]["message"] == "Ask for at most 100 professionals at once."


@pytest.mark.parametrize(("document", "variables"), [
    ("""query($ids: [ID!]!) { availability(professionalIds: $ids, from: "2030-01-01",
        to: "2030-03-05") { timeZone } }""", lambda org: {"ids": [org.professional_id]}),
    ("""query($id: ID!) { timeSlots(professionalId: $id, from: "2030-01-01T00:00:00Z",
        to: "2030-03-05T00:00:00Z") { id } }""", lambda org: {"id": org.professional_id}),
])
async def test_ranges_over_62_days_are_refused(api, org, document, variables):
    body = await api.post(document, variables(org), as_=org.client)
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert body["errors"][0]["message"] == "The range may span at most 62 days."


async def test_a_small_batch_is_served(api, org):
    response = await api.http.post("/graphql", json=[{"query": ME}, {"query": "{ organization { slug } }"}],
                                   headers=bearer(org.client))
    assert response.status_code == 200
    assert response.json() == [{"data": {"me": {"email": org.client.user.email}}},
                               {"data": {"organization": {"slug": org.slug}}}]


@pytest.mark.parametrize(("batch", "message"), [
    ([{"query": ME}] * 11, "A batch may hold at most 10 operations; this one has 11."),
    ([{"query": ME}, "{ me { email } }"], "Each operation of a batch must be a JSON object."),
])
async def test_oversized_or_malformed_batches_are_refused(api, org, batch, message):
    response = await api.http.post("/graphql", json=batch, headers=bearer(org.client))
    assert (response.status_code, response.json()) == (400, {"errors": [{
        "message": message, "extensions": {"code": "BAD_REQUEST"}}]})


async def test_batching_can_be_turned_off(app_with, org):
    client = app_with(max_batch_operations=0)
    response = await client.post("/graphql", json=[{"query": ME}], headers=bearer(org.client))
    assert (response.status_code, response.json()) == (400, {"errors": [{"message":
        "Batched requests (a JSON array) are turned off on this server; send one operation "
        "per request.", "extensions": {"code": "BAD_REQUEST"}}]})


TOO_LARGE = {"errors": [{"message": "The request body is larger than the limit of 100000 bytes.",
                         "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]}


async def test_an_oversized_body_is_refused_before_it_is_read(api, org):
    padding = "#" * 100_001
    response = await api.http.post("/graphql", json={"query": f"{ME}\n{padding}"},
                                   headers=bearer(org.client))
    assert (response.status_code, response.json()) == (413, TOO_LARGE)
    assert (await api.data(ME, as_=org.client))["me"]["email"] == org.client.user.email


async def test_an_oversized_body_without_a_length_is_refused_too(api, org):
    async def chunks():
        for _ in range(30):
            yield b" " * 5000

    response = await api.http.post("/graphql", content=chunks(), headers={
        **bearer(org.client), "content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert (response.status_code, response.json()) == (413, TOO_LARGE)


INTROSPECTION = "{ __schema { queryType { name } } }"


async def test_introspection_and_graphiql_are_on_in_development(api):
    body = await api.post(INTROSPECTION)
    assert body == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    page = await api.http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


@pytest.mark.parametrize("changes", [
    {"env": Environment.PRODUCTION},
    {"introspection": False, "graphiql": False},
])
async def test_introspection_and_graphiql_can_be_turned_off(app_with, org, changes):
    client = app_with(**changes)

    response = await client.post("/graphql", json={"query": INTROSPECTION})
    page = await client.get("/graphql", headers={"accept": "text/html"})

    assert response.json()["data"] is None
    assert response.json()["errors"][0] == {
        "message": "GraphQL introspection has been disabled, but the requested query contained "
                   "the field '__schema'.",
        "locations": [{"line": 1, "column": 3}],
        "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}
    assert (page.status_code, page.json()) == (404, {"errors": [{
        "message": "GraphiQL is turned off on this server (BOOKINGS_GRAPHIQL).",
        "extensions": {"code": "NOT_FOUND"}}]})
    served = await client.post("/graphql", json={"query": ME}, headers=bearer(org.client))
    assert served.json() == {"data": {"me": {"email": org.client.user.email}}}


async def test_production_may_turn_introspection_back_on(app_with):
    client = app_with(env=Environment.PRODUCTION, introspection=True)
    response = await client.post("/graphql", json={"query": INTROSPECTION})
    assert response.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
