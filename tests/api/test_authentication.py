"""Logging in, and every way a token can be refused."""

import base64
import json
import time
from datetime import timedelta

import jwt
import pytest

from app import auth
from tests.support import PASSWORD, error_codes

LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) { token user { email role } userErrors { code message field } }
}
"""
ME = "{ me { email } }"


async def test_login_returns_a_token_that_authenticates(api, org):
    data = await api.data(LOGIN, {"input": {
        "organization": org.slug, "email": org.staff.user.email.upper(), "password": PASSWORD}})

    assert data["login"]["user"] == {"email": org.staff.user.email, "role": "STAFF"}
    assert data["login"]["userErrors"] == []
    me = await api.data(ME, token=data["login"]["token"])
    assert me == {"me": {"email": org.staff.user.email}}


async def test_login_payload_shows_the_user_as_they_see_themselves(api, org):
    """A login request carries no token: the payload's user is resolved as the new user,
    so their own balance and students are there, not an UNAUTHENTICATED error."""
    document = """mutation Login($input: LoginInput!) { login(input: $input) {
        user { email creditBalance { balance } students { firstName } } userErrors { code } } }"""
    body = await api.post(document, {"input": {
        "organization": org.slug, "email": org.client.user.email, "password": PASSWORD}})

    assert "errors" not in body
    assert body["data"]["login"] == {"user": {
        "email": org.client.user.email, "creditBalance": {"balance": 0},
        "students": [{"firstName": "Kid"}]},
        "userErrors": []}


async def test_login_payload_of_another_user_is_not_read_as_the_caller(api, org):
    """Logging in while sending someone else's token: the payload is the new user's view."""
    document = """mutation Login($input: LoginInput!) { login(input: $input) {
        user { email creditBalance { balance } } } }"""
    body = await api.post(document, {"input": {
        "organization": org.slug, "email": org.client.user.email, "password": PASSWORD}},
        as_=org.other_client)

    assert body["data"]["login"]["user"] == {"email": org.client.user.email,
                                             "creditBalance": {"balance": 0}}


async def test_wrong_password_and_unknown_organization_get_the_same_refusal(api, org):
    wrong_password = await api.data(LOGIN, {"input": {
        "organization": org.slug, "email": org.staff.user.email, "password": "not it"}})
    unknown_org = await api.data(LOGIN, {"input": {
        "organization": "no-such-org", "email": org.staff.user.email, "password": PASSWORD}})
    unknown_email = await api.data(LOGIN, {"input": {
        "organization": org.slug, "email": "nobody@example.com", "password": PASSWORD}})

    refusal = {"token": None, "user": None, "userErrors": [{
        "code": "VALIDATION_FAILED", "message": "Invalid organization, email or password.",
        "field": None}]}
    assert wrong_password["login"] == refusal
    assert unknown_org["login"] == refusal
    assert unknown_email["login"] == refusal


async def test_request_without_token_is_unauthenticated(api):
    body = await api.post(ME)
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert body["data"] is None


async def test_expired_token_is_refused(api, org, tenants):
    expired = tenants.token_for(org.client.user, lifetime=timedelta(seconds=-1))
    body = await api.post(ME, token=expired)
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert "expired" in body["errors"][0]["message"]


async def test_token_signed_with_another_key_is_refused(api, org):
    forged = jwt.encode({"sub": str(org.admin.user.id), "org": org.id, "role": "ADMIN",
                         "iat": 1, "exp": 4102444800}, "not-the-server-key-but-long-enough-for-hs256", algorithm="HS256")
    assert error_codes(await api.post(ME, token=forged)) == ["UNAUTHENTICATED"]


async def test_unsigned_alg_none_token_is_refused(api, org):
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    unsigned = ".".join([part({"alg": "none", "typ": "JWT"}),
                         part({"sub": str(org.admin.user.id), "org": org.id, "role": "ADMIN",
                               "iat": 1, "exp": 4102444800}), ""])
    assert error_codes(await api.post(ME, token=unsigned)) == ["UNAUTHENTICATED"]


async def test_tampered_token_is_refused(api, org, other_org):
    header, payload, signature = org.client.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["org"] = other_org.id  # move the token to another organization
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    body = await api.post(ME, token=f"{header}.{forged_payload}.{signature}")
    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_garbage_authorization_header_is_refused(api):
    body = await api.post(ME, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_deactivated_users_token_stops_working(api, org):
    deactivate = """mutation($id: ID!) { updateUser(input: {id: $id, active: false}) {
        user { active } userErrors { code } } }"""
    assert (await api.data(ME, as_=org.client)) == {"me": {"email": org.client.user.email}}

    await api.data(deactivate, {"id": org.client.id}, as_=org.admin)

    assert error_codes(await api.post(ME, as_=org.client)) == ["UNAUTHENTICATED"]
    login = await api.data(LOGIN, {"input": {
        "organization": org.slug, "email": org.client.user.email, "password": PASSWORD}})
    assert login["login"]["token"] is None


async def test_x_organization_header_must_match_the_token(api, org, other_org):
    matching = await api.data(ME, as_=org.client, headers={"X-Organization": org.slug})
    assert matching == {"me": {"email": org.client.user.email}}

    body = await api.post(ME, as_=org.client, headers={"X-Organization": other_org.slug})
    assert error_codes(body) == ["FORBIDDEN"]

    blank = await api.data(ME, as_=org.client, headers={"X-Organization": " "})
    assert blank == {"me": {"email": org.client.user.email}}  # names no organization


@pytest.mark.parametrize("order", [1, -1])
async def test_a_second_x_organization_header_naming_another_is_refused(api, org, other_org,
                                                                         tenants, order):
    headers = [("X-Organization", org.slug), ("X-Organization", other_org.slug)][::order]
    token = tenants.token_for(org.client.user)
    response = await api.http.post("/graphql", json={"query": ME},
                                   headers=[("Authorization", f"Bearer {token}"), *headers])
    assert error_codes(response.json()) == ["FORBIDDEN"]


async def test_role_comes_from_the_database_not_the_token(api, org):
    """A demoted admin loses admin rights at once, though their token says ADMIN."""
    promote = """mutation($id: ID!) { updateUser(input: {id: $id, role: ADMIN}) {
        user { role } } }"""
    demote = """mutation($id: ID!) { updateUser(input: {id: $id, role: STAFF}) {
        user { role } } }"""
    await api.data(promote, {"id": org.staff.id}, as_=org.admin)
    await api.data(demote, {"id": org.staff.id}, as_=org.admin)

    body = await api.post(promote, {"id": org.client.id}, as_=org.staff)
    assert error_codes(body) == ["FORBIDDEN"]


async def test_token_re_signed_for_another_organization_is_refused(api, org, other_org, settings):
    """Even with the signing key, naming another organization finds no such user there."""
    moved = jwt.encode({"sub": str(org.admin.user.id), "org": other_org.id, "role": "ADMIN",
                        "iat": 1, "exp": 4102444800}, settings.signing_key(), algorithm="HS256")
    body = await api.post(ME, token=moved)
    assert error_codes(body) == ["UNAUTHENTICATED"]


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
async def test_token_of_another_algorithm_is_refused(api, org, settings, algorithm):
    other = jwt.encode({"sub": str(org.admin.user.id), "org": org.id, "role": "ADMIN",
                        "iat": 1, "exp": 4102444800}, settings.signing_key(), algorithm=algorithm)
    assert error_codes(await api.post(ME, token=other)) == ["UNAUTHENTICATED"]


async def test_token_without_expiry_is_refused(api, org, settings):
    forever = jwt.encode({"sub": str(org.admin.user.id), "org": org.id, "role": "ADMIN",
                          "iat": 1}, settings.signing_key(), algorithm="HS256")
    assert error_codes(await api.post(ME, token=forever)) == ["UNAUTHENTICATED"]


async def test_a_token_that_worked_is_refused_once_it_expires(api, org, tenants, monkeypatch):
    """Verified tokens are remembered (app/auth.py), but their expiry is checked on every use."""
    token = tenants.token_for(org.client.user, lifetime=timedelta(minutes=5))
    assert await api.data(ME, token=token) == {"me": {"email": org.client.user.email}}

    later = time.time() + 301
    monkeypatch.setattr(auth.time, "time", lambda: later)
    body = await api.post(ME, token=token)
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert "expired" in body["errors"][0]["message"]
