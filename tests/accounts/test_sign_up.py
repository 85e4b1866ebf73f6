"""Sign-up: a CLIENT account when the organization allows it, throttled in PostgreSQL."""

from sqlalchemy import func, select

from app.people.models import User
from tests.accounts.support import ME, STRONG_PASSWORD
from tests.jobs.support import set_organization
from tests.support import error_codes

SIGN_UP = """mutation($input: SignUpInput!) { signUp(input: $input) {
    token user { email role } userErrors { code field message } } }"""
SETTINGS = """mutation($input: UpdateOrganizationSettingsInput!) {
    updateOrganizationSettings(input: $input) {
      organization { settings { allowClientSignup } } userErrors { code } } }"""


def new_client(org, **changes) -> dict:
    return {"input": {"organization": org.slug, "email": "family@example.com",
                      "password": STRONG_PASSWORD, "firstName": "Fam", "lastName": "Ily",
                      "phone": "+1 555 0199", **changes}}


async def users_of(db, org) -> int:
    async with db.transaction(org.id, read_only=True) as session:
        return await session.scalar(select(func.count()).select_from(User))


async def sign_up(api, variables) -> dict:
    return (await api.data(SIGN_UP, variables))["signUp"]


async def test_sign_up_is_off_by_default_and_says_the_same_for_an_unknown_organization(
        api, db, org):
    before = await users_of(db, org)

    closed = await sign_up(api, new_client(org))
    unknown = await sign_up(api, new_client(org, organization="no-such-centre"))

    assert closed == unknown == {"token": None, "user": None, "userErrors": [{
        "code": "VALIDATION_FAILED", "field": ["input", "organization"],
        "message": "This organization does not take sign-ups."}]}
    assert await users_of(db, org) == before


async def test_an_admin_opens_sign_up_and_a_family_signs_up_as_a_client(api, db, org):
    opened = await api.data(SETTINGS, {"input": {"allowClientSignup": True}}, as_=org.admin)
    assert opened["updateOrganizationSettings"]["organization"]["settings"] == {
        "allowClientSignup": True}

    signed_up = await sign_up(api, new_client(org))

    assert signed_up["userErrors"] == []
    assert signed_up["user"] == {"email": "family@example.com", "role": "CLIENT"}
    me = await api.data(ME, token=signed_up["token"])
    assert me["me"] == {"email": "family@example.com", "role": "CLIENT",
                        "invitationPending": False}


async def test_no_input_can_choose_a_role(api, db, org):
    await set_organization(db, org, allow_client_signup=True)
    before = await users_of(db, org)

    body = await api.post(SIGN_UP, {"input": {**new_client(org)["input"], "role": "ADMIN"}})

    assert error_codes(body) == ["BAD_USER_INPUT"]  # SignUpInput has no role field at all
    assert await users_of(db, org) == before


async def test_a_duplicate_email_gets_a_refusal_like_any_other(api, db, org):
    await set_organization(db, org, allow_client_signup=True)
    before = await users_of(db, org)

    duplicate = await sign_up(api, new_client(org, email=org.client.user.email.upper()))

    assert duplicate["token"] is None
    assert duplicate["userErrors"] == [{
        "code": "CONFLICT", "field": ["input", "email"],
        "message": "This email cannot be used to sign up here. If it is yours, log in or "
                   "reset your password."}]
    assert await users_of(db, org) == before


async def test_bad_input_is_refused_and_nothing_is_written(api, db, org):
    await set_organization(db, org, allow_client_signup=True)
    before = await users_of(db, org)

    refusals = [(await sign_up(api, new_client(org, **change)))["userErrors"][0]
                for change in ({"email": "not-an-email"}, {"password": "password1234"},
                               {"password": "family@example.com"}, {"firstName": "x" * 500},
                               {"organization": "x" * 500})]

    assert [(error["code"], error["field"][1]) for error in refusals] == [
        ("VALIDATION_FAILED", "email"), ("WEAK_PASSWORD", "password"),
        ("WEAK_PASSWORD", "password"), ("VALIDATION_FAILED", "firstName"),
        ("VALIDATION_FAILED", "organization")]
    assert await users_of(db, org) == before


async def post(client, variables) -> tuple[int, dict]:
    response = await client.post("/graphql", json={"query": SIGN_UP, "variables": variables})
    return response.status_code, response.json()


async def test_sign_ups_are_throttled_per_address(app_with, db, org, other_org):
    await set_organization(db, org, allow_client_signup=True)
    await set_organization(db, other_org, allow_client_signup=True)
    client = app_with(signup_max_per_address=2)
    before = await users_of(db, org)

    answers = [await post(client, new_client(org, email=f"c{n}@example.com")) for n in range(3)]
    elsewhere = await post(client, new_client(other_org, email="c@example.com"))

    assert [(status, error_codes(body)) for status, body in answers] == [
        (200, []), (200, []), (429, ["RATE_LIMITED"])]
    assert answers[2][1]["errors"][0]["extensions"]["retryAfterSeconds"] > 0
    assert error_codes(elsewhere[1]) == []  # counted per organization and address
    assert await users_of(db, org) == before + 2


async def test_sign_ups_are_throttled_per_organization(app_with, db, org):
    await set_organization(db, org, allow_client_signup=True)
    client = app_with(signup_max_per_organization=1)

    first = await post(client, new_client(org, email="first@example.com"))
    second = await post(client, new_client(org, email="second@example.com"))

    assert error_codes(first[1]) == []
    assert second[0] == 429
    assert second[1]["errors"][0]["message"].startswith(
        "Too many sign-ups for this organization")
