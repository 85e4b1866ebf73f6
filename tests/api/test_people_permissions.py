"""The permission matrix of docs/rules.md: roles for the people and organization operations."""

import pytest

from tests.support import error_codes

ADMIN, STAFF, PROFESSIONAL, CLIENT = "admin", "staff", "professional", "client"
ROLES = [ADMIN, STAFF, PROFESSIONAL, CLIENT]


def outcome(body, field):
    """'ok', a top-level error code, or the first userError code."""
    if body.get("errors"):
        return error_codes(body)[0]
    user_errors = body["data"][field]["userErrors"]
    return user_errors[0]["code"] if user_errors else "ok"


def member(org, role):
    return getattr(org, role)


CREATE_USER = """mutation($input: CreateUserInput!) { createUser(input: $input) {
    user { id role } userErrors { code field message } } }"""


def new_user(role, email="new.person@example.com"):
    return {"input": {"email": email, "firstName": "New", "lastName": "Person",
                      "phone": "+1 555 2222", "role": role}}


@pytest.mark.parametrize(("actor", "expected"), [
    (ADMIN, "ok"), (STAFF, "ok"), (PROFESSIONAL, "FORBIDDEN"), (CLIENT, "FORBIDDEN")])
async def test_create_client(api, org, actor, expected):
    body = await api.post(CREATE_USER, new_user("CLIENT"), as_=member(org, actor))
    assert outcome(body, "createUser") == expected


@pytest.mark.parametrize("new_role", ["ADMIN", "STAFF", "PROFESSIONAL"])
@pytest.mark.parametrize(("actor", "expected"), [
    (ADMIN, "ok"), (STAFF, "FORBIDDEN"), (PROFESSIONAL, "FORBIDDEN"), (CLIENT, "FORBIDDEN")])
async def test_create_non_client_users(api, org, actor, expected, new_role):
    body = await api.post(CREATE_USER, new_user(new_role), as_=member(org, actor))
    assert outcome(body, "createUser") == expected


UPDATE_USER = """mutation($input: UpdateUserInput!) { updateUser(input: $input) {
    user { firstName role active } userErrors { code field } } }"""


@pytest.mark.parametrize(("actor", "expected"), [
    (ADMIN, "ok"), (STAFF, "FORBIDDEN"), (PROFESSIONAL, "NOT_FOUND"), (CLIENT, "NOT_FOUND")])
async def test_change_role_of_a_client(api, org, actor, expected):
    body = await api.post(UPDATE_USER, {"input": {"id": org.other_client.id, "role": "STAFF"}},
                          as_=member(org, actor))
    assert outcome(body, "updateUser") == expected


@pytest.mark.parametrize(("actor", "expected"), [
    (ADMIN, "ok"), (STAFF, "FORBIDDEN"), (PROFESSIONAL, "NOT_FOUND"), (CLIENT, "NOT_FOUND")])
async def test_deactivate_a_client(api, org, actor, expected):
    body = await api.post(UPDATE_USER, {"input": {"id": org.other_client.id, "active": False}},
                          as_=member(org, actor))
    assert outcome(body, "updateUser") == expected


async def test_admin_cannot_demote_or_deactivate_themselves(api, org):
    for change in ({"role": "CLIENT"}, {"active": False}):
        body = await api.post(UPDATE_USER, {"input": {"id": org.admin.id, **change}}, as_=org.admin)
        assert outcome(body, "updateUser") == "FORBIDDEN"


@pytest.mark.parametrize("actor", [ADMIN, CLIENT])
async def test_a_form_sent_back_unchanged_needs_no_extra_permission(api, org, actor):
    """Role and active as they are, with a new first name: only the name changes."""
    me = member(org, actor)
    body = await api.post(UPDATE_USER, {"input": {
        "id": me.id, "role": actor.upper(), "active": True, "firstName": "Same"}}, as_=me)
    assert outcome(body, "updateUser") == "ok"
    assert body["data"]["updateUser"]["user"] == {"firstName": "Same", "role": actor.upper(),
                                                  "active": True}


async def test_a_professional_with_a_profile_keeps_the_role(api, org):
    """docs/rules.md: roles: a professional profile belongs to a user whose role is PROFESSIONAL."""
    body = await api.post(UPDATE_USER, {"input": {"id": org.professional.id, "role": "CLIENT"}},
                          as_=org.admin)
    assert body["data"]["updateUser"]["userErrors"] == [{"code": "CONFLICT",
                                                         "field": ["input", "role"]}]
    me = await api.data("{ me { role } }", as_=org.professional)
    assert me["me"]["role"] == "PROFESSIONAL"


@pytest.mark.parametrize(("actor", "target", "expected"), [
    (ADMIN, "other_client", "ok"),
    (ADMIN, "professional", "ok"),
    (STAFF, "other_client", "ok"),
    (STAFF, "professional", "FORBIDDEN"),
    (STAFF, "admin", "FORBIDDEN"),
    (PROFESSIONAL, "professional", "ok"),
    (PROFESSIONAL, "other_professional", "NOT_FOUND"),  # not a user they may see
    (PROFESSIONAL, "other_client", "NOT_FOUND"),
    (CLIENT, "client", "ok"),
    (CLIENT, "other_client", "NOT_FOUND"),
    (CLIENT, "professional", "NOT_FOUND"),
])
async def test_edit_names_and_phone(api, org, actor, target, expected):
    body = await api.post(UPDATE_USER, {"input": {
        "id": member(org, target).id, "firstName": "Renamed", "phone": "+1 555 9999"}},
        as_=member(org, actor))
    assert outcome(body, "updateUser") == expected
    if expected == "ok":
        assert body["data"]["updateUser"]["user"]["firstName"] == "Renamed"


USERS = "{ users(first: 100) { totalCount edges { node { email role } } } }"


@pytest.mark.parametrize(("actor", "visible"), [
    (ADMIN, {"admin", "staff", "professional", "other_professional", "client", "other_client"}),
    (STAFF, {"admin", "staff", "professional", "other_professional", "client", "other_client"}),
    (PROFESSIONAL, {"professional"}),  # and the clients they have appointments with
    (CLIENT, {"client"}),
])
async def test_who_sees_which_users(api, org, actor, visible):
    data = await api.data(USERS, as_=member(org, actor))
    emails = {edge["node"]["email"] for edge in data["users"]["edges"]}
    assert emails == {member(org, name).user.email for name in visible}
    assert data["users"]["totalCount"] == len(visible)


NODE_USER = "query($id: ID!) { node(id: $id) { ... on User { email } } }"


@pytest.mark.parametrize(("actor", "expected"), [
    (ADMIN, "ok"), (STAFF, "ok"), (PROFESSIONAL, "NOT_FOUND"), (CLIENT, "NOT_FOUND")])
async def test_see_another_client(api, org, actor, expected):
    body = await api.post(NODE_USER, {"id": org.other_client.id}, as_=member(org, actor))
    assert (error_codes(body) or ["ok"])[0] == expected


LICENSES = "{ professionals { edges { node { user { email } licenseNumber } } } }"


@pytest.mark.parametrize("actor", ROLES + ["other_professional"])
async def test_license_number_is_for_the_professional_staff_and_admin(api, org, actor):
    data = await api.data(LICENSES, as_=member(org, actor))
    licenses = {edge["node"]["user"]["email"]: edge["node"]["licenseNumber"]
                for edge in data["professionals"]["edges"]}

    may_see_all = actor in (ADMIN, STAFF)
    assert licenses[org.professional.user.email] == (
        "LIC-123" if may_see_all or actor == PROFESSIONAL else None)
    assert licenses[org.other_professional.user.email] == (
        "LIC-456" if may_see_all or actor == "other_professional" else None)


STUDENTS_OF_CLIENT = "query($id: ID!) { node(id: $id) { ... on User { students { firstName } } } }"


@pytest.mark.parametrize(("actor", "expected"), [
    (ADMIN, [{"firstName": "Kid"}]), (STAFF, [{"firstName": "Kid"}]),
    (CLIENT, [{"firstName": "Kid"}])])
async def test_students_visible_to_guardian_staff_and_admin(api, org, actor, expected):
    data = await api.data(STUDENTS_OF_CLIENT, {"id": org.client.id}, as_=member(org, actor))
    assert data["node"]["students"] == expected


CREATE_STUDENT = """mutation($input: CreateStudentInput!) { createStudent(input: $input) {
    student { firstName guardian { email } } userErrors { code field } } }"""


@pytest.mark.parametrize(("actor", "guardian", "expected"), [
    (ADMIN, "client", "ok"),
    (STAFF, "client", "ok"),
    (PROFESSIONAL, "client", "FORBIDDEN"),
    (CLIENT, None, "ok"),
    (CLIENT, "client", "ok"),
    (CLIENT, "other_client", "FORBIDDEN"),
])
async def test_create_student(api, org, actor, guardian, expected):
    payload = {"firstName": "New", "lastName": "Student"}
    if guardian:
        payload["guardianId"] = member(org, guardian).id
    body = await api.post(CREATE_STUDENT, {"input": payload}, as_=member(org, actor))
    assert outcome(body, "createStudent") == expected
    if expected == "ok":
        assert body["data"]["createStudent"]["student"]["guardian"]["email"] == org.client.user.email


async def test_student_guardian_must_be_a_client(api, org):
    body = await api.post(CREATE_STUDENT, {"input": {
        "guardianId": org.staff.id, "firstName": "A", "lastName": "B"}}, as_=org.admin)
    assert body["data"]["createStudent"]["userErrors"] == [
        {"code": "VALIDATION_FAILED", "field": ["input", "guardianId"]}]


CREATE_PROFESSIONAL = """mutation($input: CreateProfessionalInput!) { createProfessional(input: $input) {
    professional { id creditCost sessionMinutes timeZone user { email } } userErrors { code field } } }"""


async def _new_professional_user(api, org):
    body = await api.data(CREATE_USER, new_user("PROFESSIONAL", "newpro@example.com"), as_=org.admin)
    return body["createUser"]["user"]["id"]


@pytest.mark.parametrize(("actor", "expected"), [
    (ADMIN, "ok"), (STAFF, "ok"), (PROFESSIONAL, "FORBIDDEN"), (CLIENT, "FORBIDDEN")])
async def test_create_someone_elses_professional_profile(api, org, actor, expected):
    user_id = await _new_professional_user(api, org)
    body = await api.post(CREATE_PROFESSIONAL, {"input": {"userId": user_id, "creditCost": 3}},
                          as_=member(org, actor))
    assert outcome(body, "createProfessional") == expected


async def test_professional_creates_own_profile_but_not_its_cost(api, org, tenants):
    from app.people import repository as people

    user_id = await _new_professional_user(api, org)
    async with tenants.db.transaction(org.id, read_only=True) as session:
        user = await people.find_user_by_email(session, "newpro@example.com")
    token = tenants.token_for(user)

    priced = await api.post(CREATE_PROFESSIONAL, {"input": {"userId": user_id, "creditCost": 5}},
                            token=token)
    own = await api.post(CREATE_PROFESSIONAL, {"input": {"userId": user_id, "title": "Dr."}},
                         token=token)

    assert outcome(priced, "createProfessional") == "FORBIDDEN"
    assert own["data"]["createProfessional"] == {"professional": {
        "id": own["data"]["createProfessional"]["professional"]["id"], "creditCost": 1,
        "sessionMinutes": 60, "timeZone": "America/New_York",
        "user": {"email": "newpro@example.com"}}, "userErrors": []}


async def test_second_profile_for_one_user_is_a_conflict(api, org):
    body = await api.post(CREATE_PROFESSIONAL, {"input": {"userId": org.professional.id}},
                          as_=org.admin)
    assert body["data"]["createProfessional"]["userErrors"] == [
        {"code": "CONFLICT", "field": ["input", "userId"]}]


async def test_profile_only_for_professional_role(api, org):
    body = await api.post(CREATE_PROFESSIONAL, {"input": {"userId": org.client.id}}, as_=org.admin)
    assert body["data"]["createProfessional"]["userErrors"] == [
        {"code": "VALIDATION_FAILED", "field": ["input", "userId"]}]


UPDATE_PROFESSIONAL = """mutation($input: UpdateProfessionalInput!) { updateProfessional(input: $input) {
    professional { bio creditCost } userErrors { code field } } }"""


@pytest.mark.parametrize(("actor", "profile", "change", "expected"), [
    (ADMIN, "professional", {"creditCost": 3}, "ok"),
    (STAFF, "professional", {"creditCost": 3}, "ok"),
    (PROFESSIONAL, "professional", {"bio": "Updated"}, "ok"),
    (PROFESSIONAL, "professional", {"creditCost": 3}, "FORBIDDEN"),
    (PROFESSIONAL, "other_professional", {"bio": "Updated"}, "FORBIDDEN"),
    (CLIENT, "professional", {"bio": "Updated"}, "FORBIDDEN"),
])
async def test_update_professional(api, org, actor, profile, change, expected):
    from app import global_ids as ids

    profile_model = (org.professional_profile if profile == "professional" else None)
    if profile_model is None:
        data = await api.data("{ professionals { edges { node { id user { email } } } } }",
                              as_=org.admin)
        profile_id = next(edge["node"]["id"] for edge in data["professionals"]["edges"]
                          if edge["node"]["user"]["email"] == org.other_professional.user.email)
    else:
        profile_id = ids.encode("Professional", profile_model.id)
    body = await api.post(UPDATE_PROFESSIONAL, {"input": {"id": profile_id, **change}},
                          as_=member(org, actor))
    assert outcome(body, "updateProfessional") == expected


UPDATE_SETTINGS = """mutation($input: UpdateOrganizationSettingsInput!) {
  updateOrganizationSettings(input: $input) {
    organization { name settings { bookingWindowDays creditExpiryDays reminderLeadHours } }
    userErrors { code field } } }"""


@pytest.mark.parametrize(("actor", "expected"), [
    (ADMIN, "ok"), (STAFF, "FORBIDDEN"), (PROFESSIONAL, "FORBIDDEN"), (CLIENT, "FORBIDDEN")])
async def test_change_organization_settings(api, org, actor, expected):
    body = await api.post(UPDATE_SETTINGS, {"input": {"bookingWindowDays": 14}},
                          as_=member(org, actor))
    assert outcome(body, "updateOrganizationSettings") == expected


async def test_admin_changes_settings_and_clears_credit_expiry(api, org):
    first = await api.data(UPDATE_SETTINGS, {"input": {
        "name": "Renamed Centre", "creditExpiryDays": 90, "reminderLeadHours": [2, 24, 2]}},
        as_=org.admin)
    cleared = await api.data(UPDATE_SETTINGS, {"input": {"creditExpiryDays": None}}, as_=org.admin)

    assert first["updateOrganizationSettings"]["organization"] == {
        "name": "Renamed Centre",
        "settings": {"bookingWindowDays": 30, "creditExpiryDays": 90, "reminderLeadHours": [24, 2]}}
    assert cleared["updateOrganizationSettings"]["organization"]["settings"]["creditExpiryDays"] is None


@pytest.mark.parametrize("actor", ROLES)
async def test_everyone_sees_the_organization(api, org, actor):
    data = await api.data("{ organization { slug settings { bookingWindowDays } } }",
                          as_=member(org, actor))
    assert data == {"organization": {"slug": org.slug, "settings": {"bookingWindowDays": 30}}}
