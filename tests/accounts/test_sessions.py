"""revokeSessions: every token issued before it stops working at its next request, with no
extra query (the version is checked against the user row every request reads anyway)."""

from datetime import UTC, datetime, timedelta

import jwt

from app.auth import read_token
from tests.accounts.support import ME, login
from tests.support import PASSWORD, counting_statements, error_codes

REVOKE = """mutation($id: ID) { revokeSessions(userId: $id) {
    user { email } userErrors { code field message } } }"""


async def test_revoking_ones_own_sessions_ends_every_token_issued_before(api, org):
    second_device = (await login(api, org, org.client.user.email, PASSWORD))["token"]

    revoked = await api.data(REVOKE, {}, as_=org.client)

    assert revoked["revokeSessions"] == {"user": {"email": org.client.user.email},
                                         "userErrors": []}
    for token in (org.client.token, second_device):
        body = await api.post(ME, token=token)
        assert error_codes(body) == ["UNAUTHENTICATED"]
        assert "session has ended" in body["errors"][0]["message"]
    fresh = (await login(api, org, org.client.user.email, PASSWORD))["token"]
    assert (await api.data(ME, token=fresh))["me"]["email"] == org.client.user.email


async def test_an_admin_ends_another_users_sessions_and_no_one_else_may(api, org):
    refused = [await api.post(REVOKE, {"id": org.client.id}, as_=member)
               for member in (org.staff, org.professional, org.other_client)]
    still_in = await api.post(ME, as_=org.client)
    revoked = await api.data(REVOKE, {"id": org.client.id}, as_=org.admin)

    assert [error_codes(body) for body in refused] == [["FORBIDDEN"]] * 3
    assert error_codes(still_in) == []
    assert revoked["revokeSessions"]["userErrors"] == []
    assert error_codes(await api.post(ME, as_=org.client)) == ["UNAUTHENTICATED"]
    assert error_codes(await api.post(ME, as_=org.admin)) == []  # only theirs


async def test_another_organizations_user_is_not_found(api, org, other_org):
    body = await api.data(REVOKE, {"id": other_org.client.id}, as_=org.admin)

    assert body["revokeSessions"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert body["revokeSessions"]["userErrors"][0]["field"] == ["userId"]
    assert error_codes(await api.post(ME, as_=other_org.client)) == []


async def test_checking_the_session_costs_no_extra_statement(api, db, org):
    with counting_statements(db) as before:
        await api.data(ME, as_=org.client)
    await api.data(REVOKE, {}, as_=org.client)
    with counting_statements(db) as after:
        body = await api.post(ME, as_=org.client)

    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert len(after) <= len(before)  # the refusal is found in the same user row read


def test_a_token_from_before_session_versions_counts_as_version_0(settings):
    now = datetime.now(UTC)
    legacy = jwt.encode({"sub": "7", "org": 3, "role": "CLIENT", "iat": now,
                         "exp": now + timedelta(hours=1)}, settings.signing_key(),
                        algorithm="HS256")

    assert read_token(legacy, secret=settings.signing_key()).session_version == 0
