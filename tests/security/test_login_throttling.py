"""Failed logins of one account are throttled, in PostgreSQL, without revealing which accounts
exist."""

import asyncio

import httpx
import pytest
from sqlalchemy import text

from app.people.throttling import account_key
from app.web import create_app
from tests.support import PASSWORD, GraphQLClient

LOGIN = """mutation($input: LoginInput!) {
  login(input: $input) { token userErrors { code message } } }"""
WRONG = "not the password"


@pytest.fixture(scope="module")
def settings(settings):
    """A lower limit than the default 5, so the tests spend fewer (slow) password checks."""
    return settings.model_copy(update={"login_max_failures": 2})


@pytest.fixture(scope="module")
async def api(db, settings):
    transport = httpx.ASGITransport(app=create_app(db, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield GraphQLClient(client)
INVALID = {"token": None, "userErrors": [{
    "code": "VALIDATION_FAILED", "message": "Invalid organization, email or password."}]}


async def login(api, organization: str, email: str, password: str):
    """The HTTP status and body of a login (a throttled one is not a 200)."""
    response = await api.http.post("/graphql", json={"query": LOGIN, "variables": {"input": {
        "organization": organization, "email": email, "password": password}}})
    return response.status_code, response.json(), response.headers


async def fail_until_throttled(api, settings, organization: str, email: str) -> None:
    for _ in range(settings.login_max_failures):
        status, body, _ = await login(api, organization, email, WRONG)
        assert (status, body["data"]["login"]) == (200, INVALID)


def throttled(status: int, body: dict, headers) -> dict:
    """The refusal, with the seconds to wait checked and left out (they tick down)."""
    [error] = body["errors"]
    assert 0 < error["extensions"].pop("retryAfterSeconds") <= 900
    assert int(headers["retry-after"]) > 0
    return {"status": status, "data": body["data"], "error": error}


THROTTLED = {"status": 429, "data": None, "error": {
    "message": "Too many failed logins for this account; try again in 15 minutes.",
    "locations": [{"line": 2, "column": 3}], "path": ["login"],
    "extensions": {"code": "RATE_LIMITED"}}}


async def test_repeated_failures_lock_the_account_even_for_the_right_password(api, org, settings):
    email = org.staff.user.email
    await fail_until_throttled(api, settings, org.slug, email)

    assert throttled(*await login(api, org.slug, email, PASSWORD)) == THROTTLED
    # Another account of the organization is not affected.
    status, body, _ = await login(api, org.slug, org.client.user.email, PASSWORD)
    assert status == 200 and body["data"]["login"]["token"]


async def test_unknown_emails_and_organizations_are_throttled_the_same_way(api, org, settings):
    """The refusals are identical, so the throttle tells nothing about who has an account."""
    accounts = [(org.slug, org.client.user.email), (org.slug, "nobody@example.com"),
                ("no-such-organization", org.client.user.email)]
    for organization, email in accounts:
        await fail_until_throttled(api, settings, organization, email)

    refusals = [throttled(*await login(api, organization, email, PASSWORD))
                for organization, email in accounts]
    assert refusals == [THROTTLED] * 3


async def test_the_account_is_named_case_insensitively(api, org, settings):
    await fail_until_throttled(api, settings, org.slug.upper(), org.client.user.email.upper())
    assert throttled(*await login(api, f" {org.slug} ", org.client.user.email, PASSWORD)) == (
        THROTTLED)


async def test_a_success_clears_the_failures(api, org, settings):
    email = org.client.user.email
    for _ in range(settings.login_max_failures - 1):
        await login(api, org.slug, email, WRONG)
    status, body, _ = await login(api, org.slug, email, PASSWORD)
    assert status == 200 and body["data"]["login"]["token"]

    await fail_until_throttled(api, settings, org.slug, email)  # a full allowance again


async def test_the_lock_ends_with_its_window(api, db, org, settings):
    email = org.client.user.email
    await fail_until_throttled(api, settings, org.slug, email)
    async with db.engine.begin() as connection:  # as the owner: the window began long ago
        await connection.execute(text(
            "UPDATE login_attempts SET window_started_at = now() - interval '1 hour' "
            "WHERE account_key = :key"), {"key": account_key(org.slug, email)})

    status, body, _ = await login(api, org.slug, email, PASSWORD)
    assert status == 200 and body["data"]["login"]["token"]


async def test_concurrent_guesses_cannot_slip_past_the_limit(api, org, settings):
    results = await asyncio.gather(*[login(api, org.slug, org.admin.user.email, WRONG)
                                     for _ in range(3 * settings.login_max_failures)])

    checked = [body for status, body, _ in results if status == 200]
    assert len(checked) == settings.login_max_failures
    assert {status for status, _, _ in results} == {200, 429}


async def test_the_app_role_cannot_read_or_change_the_attempts(db, org):
    """Only the two SECURITY DEFINER functions touch the table; the state is not tenant data."""
    for statement in ("SELECT count(*) FROM login_attempts",
                      "DELETE FROM login_attempts"):
        async with db.transaction(org.id) as session:
            try:
                await session.execute(text(statement))
            except Exception as error:  # noqa: BLE001 - the refusal is the point
                assert "permission denied" in str(error)
            else:
                raise AssertionError(f"{statement!r} was allowed")
