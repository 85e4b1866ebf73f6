"""Forgotten and changed passwords: requestPasswordReset answers the same for every
account, the emailed link works once for an hour, only the newest works, and resetting
ends every other session."""

import base64
import hashlib

import pytest
from sqlalchemy import text

from app.errors import WeakPassword
from app.people.passwords import check_password
from tests.accounts.support import (
    ME,
    OTHER_STRONG_PASSWORD,
    STRONG_PASSWORD,
    emailed_token,
    expire_tokens,
    link_in,
    login,
    send_queued,
)
from tests.support import PASSWORD, GraphQLClient, error_codes

REQUEST = """mutation($input: RequestPasswordResetInput!) { requestPasswordReset(input: $input) {
    accepted userErrors { code field message } } }"""
RESET = """mutation($input: ResetPasswordInput!) { resetPassword(input: $input) {
    token user { email } userErrors { code field message } } }"""
CHANGE = """mutation($input: ChangePasswordInput!) { changePassword(input: $input) {
    user { email } userErrors { code field message } } }"""


async def request_reset(api, organization: str, email: str) -> dict:
    return (await api.data(REQUEST, {"input": {"organization": organization, "email": email}}))[
        "requestPasswordReset"]


async def reset(api, token: str, password: str = STRONG_PASSWORD) -> dict:
    return (await api.data(RESET, {"input": {"token": token, "newPassword": password}}))[
        "resetPassword"]


async def test_every_request_gets_the_same_answer_and_only_real_accounts_get_mail(api, db, org):
    email = org.client.user.email
    answers = [await request_reset(api, org.slug, address) for address in (
        email, email.upper(), "nobody@example.com")]
    unknown_organization = await request_reset(api, "no-such-centre", email)

    assert answers == [{"accepted": True, "userErrors": []}] * 3
    assert unknown_organization == answers[0]
    sent = (await send_queued(db, org)).sent
    assert [message.to for message in sent] == [email, email]
    assert link_in(sent[0].body).startswith("http://testserver/reset-password?token=")


async def test_a_reset_sets_the_password_ends_other_sessions_and_logs_in(api, db, org):
    old_session = org.client.token
    await request_reset(api, org.slug, org.client.user.email)
    token = await emailed_token(db, org, org.client.user.email)

    done = await reset(api, token)
    again = await reset(api, token, OTHER_STRONG_PASSWORD)

    assert done["userErrors"] == []
    assert (await api.data(ME, token=done["token"]))["me"]["email"] == org.client.user.email
    assert error_codes(await api.post(ME, token=old_session)) == ["UNAUTHENTICATED"]
    assert (await login(api, org, org.client.user.email, PASSWORD))["token"] is None
    assert (await login(api, org, org.client.user.email, STRONG_PASSWORD))["token"]
    assert again["userErrors"][0]["code"] == "INVALID_TOKEN"


async def test_only_the_newest_link_works(api, db, org):
    await request_reset(api, org.slug, org.client.user.email)
    first = await emailed_token(db, org, org.client.user.email)
    await request_reset(api, org.slug, org.client.user.email)
    second = await emailed_token(db, org, org.client.user.email)

    assert (await reset(api, first))["userErrors"][0]["code"] == "INVALID_TOKEN"
    assert (await reset(api, second))["userErrors"] == []


async def test_an_expired_link_changes_nothing(api, db, org):
    await request_reset(api, org.slug, org.client.user.email)
    token = await emailed_token(db, org, org.client.user.email)
    await expire_tokens(db, org)

    refused = await reset(api, token)

    assert refused["userErrors"][0]["code"] == "INVALID_TOKEN"
    assert (await login(api, org, org.client.user.email, PASSWORD))["token"]
    assert (await api.data(ME, as_=org.client))["me"]["email"] == org.client.user.email


async def test_a_reset_fulfils_a_pending_invitation(api, db, org):
    invited = org.client.user.email
    async with db.engine.begin() as connection:  # as if they had never set a password
        await connection.execute(text(
            "UPDATE users SET password_hash = NULL WHERE organization_id = :org AND id = :id"),
            {"org": org.id, "id": org.client.user.id})
    await request_reset(api, org.slug, invited)

    done = await reset(api, await emailed_token(db, org, invited))

    assert done["userErrors"] == []
    pending = await api.data("query($id: ID!) { node(id: $id) { ... on User { invitationPending } } }",
                             {"id": org.client.id}, as_=org.admin)
    assert pending["node"]["invitationPending"] is False


async def test_malformed_input_is_refused_and_nothing_is_sent(api, db, org):
    refused = await request_reset(api, org.slug, "not an email")

    assert refused["accepted"] is False
    assert refused["userErrors"][0]["code"] == "VALIDATION_FAILED"
    assert refused["userErrors"][0]["field"] == ["input", "email"]
    assert (await send_queued(db, org)).sent == []


async def test_requests_past_the_throttle_are_answered_alike_and_send_nothing(app_with, db, org):
    api = GraphQLClient(app_with(password_reset_max_requests=2))

    answers = [await request_reset(api, org.slug, org.client.user.email) for _ in range(4)]

    assert answers == [{"accepted": True, "userErrors": []}] * 4
    assert len((await send_queued(db, org)).sent) == 2


async def test_change_password_needs_the_current_one_and_keeps_sessions(api, db, org):
    def change(current: str, new: str) -> dict:
        return {"input": {"currentPassword": current, "newPassword": new}}

    wrong = await api.data(CHANGE, change("not my password", STRONG_PASSWORD), as_=org.client)
    weak = await api.data(CHANGE, change(PASSWORD, "password123"), as_=org.client)
    changed = await api.data(CHANGE, change(PASSWORD, STRONG_PASSWORD), as_=org.client)

    assert wrong["changePassword"]["userErrors"] == [{
        "code": "VALIDATION_FAILED", "field": ["input", "currentPassword"],
        "message": "The current password is not right."}]
    assert weak["changePassword"]["userErrors"][0]["code"] == "WEAK_PASSWORD"
    assert weak["changePassword"]["userErrors"][0]["field"] == ["input", "newPassword"]
    assert changed["changePassword"] == {"user": {"email": org.client.user.email},
                                         "userErrors": []}
    assert (await login(api, org, org.client.user.email, PASSWORD))["token"] is None
    assert (await login(api, org, org.client.user.email, STRONG_PASSWORD))["token"]
    assert (await api.data(ME, as_=org.client))["me"]["email"] == org.client.user.email


@pytest.mark.parametrize("weak", ["nine char", "a@example.com", "A@EXAMPLE.COM", "a",
                                  "qwertyuiop", "1234567890", "x" * 257])
def test_the_password_rules_refuse(weak):
    with pytest.raises(WeakPassword) as refused:
        check_password(weak, email="a@example.com", field="new_password")

    assert refused.value.field == "new_password"


def test_the_password_rules_accept_a_long_uncommon_password():
    assert check_password("tulip river 1987", email="a@example.com",
                          field="password") == "tulip river 1987"


async def test_a_link_carries_32_random_bytes_and_the_database_only_their_hash(api, db, org):
    await request_reset(api, org.slug, org.client.user.email)
    token = await emailed_token(db, org, org.client.user.email)

    async with db.engine.connect() as connection:
        stored = (await connection.execute(text(
            "SELECT token_hash FROM account_tokens WHERE organization_id = :org"),
            {"org": org.id})).scalar_one()
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    assert bytes(stored) == hashlib.sha256(token.encode()).digest()
