"""Bad input gets a clear error and changes nothing; the server keeps serving."""

import pytest
from sqlalchemy import func, select

from app.people.models import User
from tests.support import error_codes

CREATE_USER = """mutation($input: CreateUserInput!) { createUser(input: $input) {
    user { id } userErrors { code field message } } }"""

VALID_USER = {"email": "valid@example.com", "firstName": "Val", "lastName": "Id",
              "phone": "+1 555 3333", "role": "CLIENT"}


async def count_users(db, org) -> int:
    async with db.transaction(org.id, read_only=True) as session:
        return await session.scalar(select(func.count()).select_from(User))


@pytest.mark.parametrize(("change", "code", "field"), [
    ({"phone": "   "}, "VALIDATION_FAILED", ["input", "phone"]),
    ({"phone": "call me"}, "VALIDATION_FAILED", ["input", "phone"]),
    ({"email": "not-an-email"}, "VALIDATION_FAILED", ["input", "email"]),
    ({"email": "two@@example.com"}, "VALIDATION_FAILED", ["input", "email"]),
    ({"firstName": ""}, "VALIDATION_FAILED", ["input", "firstName"]),
    ({"password": "short"}, "WEAK_PASSWORD", ["input", "password"]),
])
async def test_invalid_user_is_refused_and_nothing_is_written(api, db, org, change, code, field):
    before = await count_users(db, org)

    body = await api.data(CREATE_USER, {"input": {**VALID_USER, **change}}, as_=org.admin)

    [error] = body["createUser"]["userErrors"]
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]
    assert body["createUser"]["user"] is None
    assert await count_users(db, org) == before


async def test_missing_phone_is_a_graphql_validation_error(api, db, org):
    before = await count_users(db, org)
    user = {key: value for key, value in VALID_USER.items() if key != "phone"}

    body = await api.post(CREATE_USER, {"input": user}, as_=org.admin)

    assert "phone" in body["errors"][0]["message"]
    assert await count_users(db, org) == before


async def test_duplicate_email_differing_only_in_case_is_refused(api, db, org):
    before = await count_users(db, org)
    body = await api.data(CREATE_USER, {"input": {
        **VALID_USER, "email": org.client.user.email.upper()}}, as_=org.admin)

    assert body["createUser"]["userErrors"] == [{
        "code": "CONFLICT", "field": ["input", "email"],
        "message": "A user with this email already exists in the organization."}]
    assert await count_users(db, org) == before


UPDATE_SETTINGS = """mutation($input: UpdateOrganizationSettingsInput!) {
  updateOrganizationSettings(input: $input) { organization { timeZone } userErrors { code field } } }"""


@pytest.mark.parametrize(("change", "field"), [
    ({"timeZone": "Mars/Olympus_Mons"}, "timeZone"),
    ({"timeZone": "EST5EDT "}, "timeZone"),
    ({"currency": "dollars"}, "currency"),
    ({"bookingWindowDays": 0}, "bookingWindowDays"),
    ({"minimumNoticeMinutes": -5}, "minimumNoticeMinutes"),
    ({"reminderLeadHours": [24, -1]}, "reminderLeadHours"),
    ({"name": None}, "name"),
])
async def test_invalid_settings_are_refused_and_nothing_changes(api, org, change, field):
    body = await api.data(UPDATE_SETTINGS, {"input": {"name": "Changed", **change}}, as_=org.admin)

    assert body["updateOrganizationSettings"] == {
        "organization": None, "userErrors": [{"code": "VALIDATION_FAILED", "field": ["input", field]}]}
    organization = await api.data("{ organization { name timeZone } }", as_=org.admin)
    assert organization == {"organization": {"name": f"Centre {org.slug}",
                                             "timeZone": "America/New_York"}}


async def test_unknown_professional_time_zone_is_refused(api, org):
    from app import global_ids as ids

    body = await api.data("""mutation($input: UpdateProfessionalInput!) {
        updateProfessional(input: $input) { professional { timeZone } userErrors { code field } } }""",
        {"input": {"id": ids.encode("Professional", org.professional_profile.id),
                   "timeZone": "Nowhere/Land"}}, as_=org.admin)
    assert body["updateProfessional"]["userErrors"] == [
        {"code": "VALIDATION_FAILED", "field": ["input", "timeZone"]}]


@pytest.mark.parametrize("first", [101, -1])
async def test_page_size_outside_limits_is_refused(api, org, first):
    body = await api.post("query($first: Int) { users(first: $first) { totalCount } }",
                          {"first": first}, as_=org.admin)
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert "first" in body["errors"][0]["message"]


async def test_malformed_cursor_is_refused(api, org):
    body = await api.post('{ users(after: "bm90LWEtY3Vyc29y") { totalCount } }', as_=org.admin)
    assert error_codes(body) == ["VALIDATION_FAILED"]


async def test_a_cursor_of_another_list_is_refused(api, org):
    users = await api.data("{ users(first: 1) { pageInfo { endCursor } } }", as_=org.admin)
    cursor = users["users"]["pageInfo"]["endCursor"]

    body = await api.post("query($after: String) { professionals(first: 1, after: $after) "
                          "{ totalCount } }", {"after": cursor}, as_=org.admin)
    same_list = await api.data("query($after: String) { users(first: 1, after: $after) "
                               "{ edges { node { id } } } }", {"after": cursor}, as_=org.admin)

    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert "another list" in body["errors"][0]["message"]
    assert len(same_list["users"]["edges"]) == 1


@pytest.mark.parametrize("bad_id", ["", "garbage", "VXNlcjp4", "VXNlcjotMQ", "Tm9wZToxMjM"])
async def test_malformed_id_is_not_found(api, org, bad_id):
    node = await api.post("query($id: ID!) { node(id: $id) { id } }", {"id": bad_id}, as_=org.admin)
    update = await api.data("""mutation($id: ID!) { updateUser(input: {id: $id, firstName: "X"}) {
        userErrors { code field } } }""", {"id": bad_id}, as_=org.admin)

    assert error_codes(node) == ["NOT_FOUND"]
    assert update["updateUser"]["userErrors"] == [{"code": "NOT_FOUND", "field": ["input", "id"]}]


@pytest.mark.parametrize("spoil", [lambda id_: id_ + "!!!", lambda id_: id_[:3] + " " + id_[3:],
                                   lambda id_: id_ + "\n", lambda id_: id_[:3] + "\t" + id_[3:],
                                   lambda id_: id_ + "====", lambda id_: id_ + "="])
async def test_a_real_id_with_stray_characters_is_not_found(api, org, spoil):
    """Base64 decoders skip what is not base64; an ID is only ever the exact text we gave."""
    bad_id = spoil(org.client.id)
    node = await api.post("query($id: ID!) { node(id: $id) { id } }", {"id": bad_id}, as_=org.admin)
    update = await api.data("""mutation($id: ID!) { updateUser(input: {id: $id, firstName: "X"}) {
        userErrors { code field } } }""", {"id": bad_id}, as_=org.admin)

    assert error_codes(node) == ["NOT_FOUND"]
    assert update["updateUser"]["userErrors"] == [{"code": "NOT_FOUND", "field": ["input", "id"]}]
    me = await api.data("{ me { firstName } }", as_=org.client)
    assert me["me"]["firstName"] != "X"


@pytest.mark.parametrize("body", [b"42", b'"query"', b"null", b"true"])
async def test_a_json_body_that_is_not_an_object_is_a_400(api, org, body):
    response = await api.http.post("/graphql", content=body, headers={
        "content-type": "application/json"})
    assert response.status_code == 400
    assert "JSON object" in response.json()["errors"][0]["message"]


NUL_DOCUMENTS = [
    ('mutation($name: String!) { updateUser(input: {id: "%s", firstName: $name}) { user { id } } }',
     {"name": "Ann\x00"}),
    ('mutation { updateUser(input: {id: "%s", firstName: "Ann\\u0000"}) { user { id } } }', None),
    ('mutation { updateUser(input: {id: "%s", firstName: "Ann\\u{0}"}) { user { id } } }', None),
    ('mutation { updateUser(input: {id: "%s", firstName: """Ann\x00"""}) { user { id } } }', None),
]


@pytest.mark.parametrize(("document", "variables"), NUL_DOCUMENTS)
async def test_text_with_a_nul_character_is_refused_and_nothing_changes(api, org, document,
                                                                        variables):
    """PostgreSQL text cannot hold U+0000: refused up front with a clear message."""
    response = await api.http.post("/graphql", json={
        "query": document % org.client.id, "variables": variables},
        headers={"Authorization": f"Bearer {org.client.token}"})

    assert response.status_code == 400
    assert "NUL character" in response.json()["errors"][0]["message"]
    me = await api.data("{ me { firstName } }", as_=org.client)
    assert me["me"]["firstName"] != "Ann"


@pytest.mark.parametrize(("document", "variables"), [
    ("query($at: DateTime!) { creditBalance { expiringBefore(at: $at) } }",
     {"at": "9999-12-31T23:59:59-05:00"}),
    ("query($at: DateTime!) { creditBalance { expiringBefore(at: $at) } }",
     {"at": "0001-01-01T00:00:00+05:00"}),
    ('{ creditBalance { expiringBefore(at: "9999-12-31T23:59:59-05:00") } }', None),
    (('query($id: ID!) { availability(professionalIds: [$id], from: "9999-12-30", '
      'to: "9999-12-31") { timeZone } }'), "professional"),
    (("query($from: Date!) { organization { name } professionals { totalCount } "
      "a: availability(professionalIds: [], from: $from, to: $from) { timeZone } }"),
     {"from": "0001-01-01"}),
])
async def test_dates_beyond_the_supported_years_are_refused_clearly(api, org, document, variables):
    if variables == "professional":
        variables = {"id": org.professional_id}
    body = await api.post(document, variables, as_=org.client)

    assert body.get("data") is None
    assert "must fall in the years 1900 to 2999" in body["errors"][0]["message"]
    assert "INTERNAL_SERVER_ERROR" not in str(body)


async def test_id_of_another_type_is_not_found(api, org):
    body = await api.data("""mutation($id: ID!) { updateUser(input: {id: $id, firstName: "X"}) {
        userErrors { code } } }""", {"id": org.professional_id}, as_=org.admin)
    assert body["updateUser"]["userErrors"] == [{"code": "NOT_FOUND"}]


async def test_query_over_the_depth_limit_is_refused(api, org):
    nested = "guardian { students { " * 6
    deep = "{ me { students { " + nested + "id" + " } }" * 6 + " } } }"
    body = await api.post(deep, as_=org.client)
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    assert "data" not in body or body["data"] is None


async def test_too_many_aliases_are_refused(api, org):
    aliases = " ".join(f"a{i}: me {{ id }}" for i in range(40))
    body = await api.post(f"{{ {aliases} }}", as_=org.client)
    assert "aliases" in body["errors"][0]["message"]


async def test_server_keeps_serving_after_bad_requests(api, org):
    response = await api.http.post("/graphql", content=b"{not json", headers={
        "content-type": "application/json"})
    assert response.status_code == 400
    assert (await api.data("{ me { email } }", as_=org.client))["me"]["email"] == org.client.user.email


async def test_unexpected_errors_are_masked(api, org, monkeypatch):
    from app.people import service

    async def broken(*args, **kwargs):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(service, "get_me", broken)
    body = await api.post("{ me { email } }", as_=org.client)

    assert body["errors"][0]["message"] == "Unexpected error."
    assert error_codes(body) == ["INTERNAL_SERVER_ERROR"]
    assert "hunter2" not in str(body)
