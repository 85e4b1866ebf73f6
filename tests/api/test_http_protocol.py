"""GraphQL over HTTP as its specification says: media types, status codes, GET, error codes.

tests/clients runs graphql-http's own audit suite against a live server; these pin the
details with plain HTTP.
"""

import pytest

from app.api.http import GRAPHQL_RESPONSE, JSON, Refusal, negotiate

ME = "{ me { email } }"
NEW = {"accept": GRAPHQL_RESPONSE}


@pytest.mark.parametrize(("accept", "expected"), [
    (None, JSON),
    ("*/*", JSON),
    ("application/*", JSON),
    (JSON, JSON),
    (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
    (f"{GRAPHQL_RESPONSE}, {JSON};q=0.9", GRAPHQL_RESPONSE),  # what Apollo Client 4 sends
    (f"{JSON}, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
    (f"{JSON}, {GRAPHQL_RESPONSE};q=0.5", JSON),
    (f"text/html, {GRAPHQL_RESPONSE};q=0.1", GRAPHQL_RESPONSE),
    ("text/html, */*;q=0.8", JSON),
])
def test_the_answer_takes_the_media_type_the_client_prefers(accept, expected):
    assert negotiate(accept) == expected


@pytest.mark.parametrize("accept", ["text/html", f"{JSON};q=0, text/plain", "image/*"])
def test_a_client_that_takes_neither_type_is_told_so(accept):
    with pytest.raises(Refusal) as refused:
        negotiate(accept)
    assert refused.value.status == 406


def bearer(member) -> dict[str, str]:
    return {"authorization": f"Bearer {member.token}"}


async def test_a_query_answers_in_the_new_media_type_when_asked(api, org):
    response = await api.http.post("/graphql", json={"query": ME},
                                   headers={**NEW, **bearer(org.client)})
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert response.json() == {"data": {"me": {"email": org.client.user.email}}}
    assert response.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize(("document", "variables", "code"), [
    ("{ me { email }", None, "GRAPHQL_PARSE_FAILED"),
    ("{ me { nope } }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("query($at: DateTime!) { creditBalance { expiringBefore(at: $at) } }", {"at": "soon"},
     "BAD_USER_INPUT"),
    ("query($at: DateTime!) { creditBalance { expiringBefore(at: $at) } }", {}, "BAD_USER_INPUT"),
    ("query A { me { email } } query B { me { email } }", None, "GRAPHQL_VALIDATION_FAILED"),
])
async def test_a_request_that_ran_nothing_is_400_without_data_in_the_new_media_type(
        api, org, document, variables, code):
    new = await api.http.post("/graphql", json={"query": document, "variables": variables},
                              headers={**NEW, **bearer(org.client)})
    old = await api.http.post("/graphql", json={"query": document, "variables": variables},
                              headers=bearer(org.client))

    assert new.status_code == 400
    assert "data" not in new.json()
    assert [error["extensions"]["code"] for error in new.json()["errors"]] == [code]
    # application/json keeps the 200 and the null data its older clients expect.
    assert (old.status_code, old.json()["data"]) == (200, None)
    assert old.json()["errors"] == new.json()["errors"]


async def test_a_field_error_is_still_200_with_data(api, org):
    response = await api.http.post("/graphql", json={"query": ME}, headers=NEW)
    assert response.status_code == 200
    assert response.json()["data"] is None
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_query_runs_over_get_with_json_variables(api, org):
    response = await api.http.get("/graphql", params={
        "query": "query Me($first: Int) { me { email } professionals(first: $first) { totalCount } }",
        "variables": '{"first": 1}', "operationName": "Me"}, headers=bearer(org.client))
    assert response.status_code == 200
    assert response.json()["data"]["me"] == {"email": org.client.user.email}
    assert response.headers["cache-control"] == "private, no-store"  # it carried a token


async def test_a_public_get_may_be_cached(api):
    response = await api.http.get("/graphql", params={"query": "{ __typename }"})
    assert response.json() == {"data": {"__typename": "Query"}}
    assert "cache-control" not in response.headers


async def test_a_mutation_over_get_is_405_and_changes_nothing(api, org):
    mutation = 'mutation { updateUser(input: {id: "%s", firstName: "Got"}) { user { id } } }'
    response = await api.http.get("/graphql", params={"query": mutation % org.client.id},
                                  headers={**NEW, **bearer(org.client)})

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {"errors": [{
        "message": "A GET request may only run a query; send mutations with POST.",
        "extensions": {"code": "BAD_REQUEST"}}]}
    assert (await api.data(ME.replace("email", "firstName"), as_=org.client))["me"] != {
        "firstName": "Got"}


@pytest.mark.parametrize(("request_options", "status", "message"), [
    ({"content": b'{"query": "{ __typename }"}'}, 415, "Content-Type: application/json"),
    ({"content": b'{"query": "{ __typename }"}', "headers": {"content-type": "text/plain"}}, 415,
     "Content-Type: application/json"),
    ({"content": b'{"query": "{ __typename }"}',
      "headers": {"content-type": "application/json; charset=latin-1"}}, 415, "UTF-8"),
    ({"content": b"", "headers": {"content-type": "application/json"}}, 400, "empty"),
    ({"content": b'{"query": ', "headers": {"content-type": "application/json"}}, 400,
     "not valid JSON"),
    ({"json": {"qeury": "{ __typename }"}}, 400, "No GraphQL document"),
    ({"json": {"query": {"obj": "ect"}}}, 400, "`query` must be a string"),
    ({"json": {"query": "{ __typename }", "variables": "x"}}, 400, "`variables` must be an object"),
    ({"json": {"query": "{ __typename }", "extensions": []}}, 400, "`extensions` must be an object"),
    ({"json": {"query": "{ __typename }", "operationName": 0}}, 400,
     "`operationName` must be a string"),
    ({"json": {"query": "{ __typename }"}, "headers": {"accept": "text/html"}}, 406, "Accept"),
])
async def test_a_malformed_request_is_refused_with_a_code_and_a_reason(api, request_options,
                                                                     status, message):
    response = await api.http.post("/graphql", **request_options)
    assert response.status_code == status
    (error,) = response.json()["errors"]
    assert message in error["message"]
    assert error["extensions"] == {"code": "BAD_REQUEST"}


async def test_get_with_bad_json_variables_is_400(api):
    response = await api.http.get("/graphql", params={"query": "{ __typename }",
                                                      "variables": "{nope"})
    assert response.status_code == 400
    assert "`variables` parameter must be JSON" in response.json()["errors"][0]["message"]


async def test_a_subscription_over_http_is_refused(api, org):
    response = await api.http.post("/graphql", json={
        "query": "subscription { timeSlotChanged(professionalIds: []) { id } }"},
        headers=bearer(org.client))
    assert response.status_code == 400
    assert "websocket" in response.json()["errors"][0]["message"]


async def test_a_browser_opening_the_url_gets_graphiql_not_an_error(api):
    page = await api.http.get("/graphql", headers={"accept": "text/html,*/*;q=0.8"})
    assert page.status_code == 200 and "<title>Bookings GraphiQL</title>" in page.text
    # With an operation in the URL, even a browser gets the answer.
    answer = await api.http.get("/graphql", params={"query": "{ __typename }"},
                                headers={"accept": "text/html,*/*;q=0.8"})
    assert answer.json() == {"data": {"__typename": "Query"}}


async def test_the_balance_has_a_stable_id_that_node_resolves(api, org):
    query = "query($id: ID!) { node(id: $id) { id ... on CreditBalance { balance } } }"
    first = await api.data("{ creditBalance { id balance } }", as_=org.client)
    again = await api.data("{ me { creditBalance { id } } }", as_=org.client)
    by_staff = await api.data("query($id: ID!) { creditBalance(userId: $id) { id } }",
                              {"id": org.client.id}, as_=org.staff)

    balance_id = first["creditBalance"]["id"]
    assert again["me"]["creditBalance"]["id"] == balance_id == by_staff["creditBalance"]["id"]
    assert (await api.data(query, {"id": balance_id}, as_=org.client))["node"] == {
        "id": balance_id, "balance": first["creditBalance"]["balance"]}
    other = await api.post(query, {"id": balance_id}, as_=org.other_client)
    assert other["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_other_methods_are_405(api):
    response = await api.http.head("/graphql", params={"query": "{ __typename }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
