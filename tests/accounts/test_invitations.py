"""Invitations: createUser without a password emails a single-use link valid 7 days;
acceptInvitation sets the password and logs the person in; resendInvitation replaces it."""

import asyncio

from sqlalchemy import text

from app import global_ids as ids
from app.db import Database
from tests.accounts.support import (
    ME,
    OTHER_STRONG_PASSWORD,
    STRONG_PASSWORD,
    emailed_token,
    expire_tokens,
    link_in,
    login,
    send_queued,
    token_in,
)
from tests.support import Tenant

INVITE = """mutation($input: CreateUserInput!) { createUser(input: $input) {
    user { id email invitationPending } userErrors { code field message } } }"""
ACCEPT = """mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) {
    token user { email role invitationPending } userErrors { code field message } } }"""
RESEND = """mutation($id: ID!) { resendInvitation(userId: $id) {
    user { email invitationPending } userErrors { code field message } } }"""
PENDING = "query($id: ID!) { node(id: $id) { ... on User { invitationPending } } }"


async def invite(api, org: Tenant, email: str = "new.person@example.com", role: str = "STAFF",
                 as_=None) -> dict:
    variables = {"input": {"email": email, "firstName": "New", "lastName": "Person",
                           "phone": "+1 555 0101", "role": role}}
    return (await api.data(INVITE, variables, as_=as_ or org.admin))["createUser"]


async def accept(api, token: str, password: str = STRONG_PASSWORD) -> dict:
    return (await api.data(ACCEPT, {"input": {"token": token, "password": password}}))[
        "acceptInvitation"]


async def test_an_invited_person_follows_the_link_sets_a_password_and_is_logged_in(api, db, org):
    invited = await invite(api, org)
    assert invited["userErrors"] == []
    assert invited["user"]["invitationPending"] is True
    refused = await login(api, org, "new.person@example.com", STRONG_PASSWORD)
    assert refused["token"] is None  # no password yet: no way in but the link

    sender = await send_queued(db, org)
    [email] = sender.sent
    assert email.to == "new.person@example.com"
    assert link_in(email.body).startswith("http://testserver/accept-invitation?token=")
    assert link_in(email.body) in email.html
    token = token_in(email.body)
    accepted = await accept(api, token)

    assert accepted["userErrors"] == []
    assert accepted["user"] == {"email": "new.person@example.com", "role": "STAFF",
                                "invitationPending": False}
    me = await api.data(ME, token=accepted["token"])
    assert me["me"]["email"] == "new.person@example.com"
    logged_in = await login(api, org, "new.person@example.com", STRONG_PASSWORD)
    assert logged_in["user"]["role"] == "STAFF"
    seen_by_staff = await api.data(PENDING, {"id": invited["user"]["id"]}, as_=org.staff)
    assert seen_by_staff["node"]["invitationPending"] is False


async def test_the_outbox_never_holds_a_usable_link(api, db, org):
    await invite(api, org)

    async with db.engine.connect() as connection:
        bodies = (await connection.execute(text(
            "SELECT body || coalesce(html_body, '') FROM notification_outbox "
            "WHERE organization_id = :org AND kind = 'INVITATION'"), {"org": org.id})).scalars()
        [body] = list(bodies)
        stored = (await connection.execute(text(
            "SELECT count(*) FROM account_tokens WHERE organization_id = :org"),
            {"org": org.id})).scalar()
    assert "token=@TOKEN@" in body
    assert stored == 0  # minted when sent, not before


async def test_an_invitation_works_once(api, db, org):
    await invite(api, org)
    token = await emailed_token(db, org, "new.person@example.com")

    first, second = await accept(api, token), await accept(api, token, OTHER_STRONG_PASSWORD)

    assert first["userErrors"] == []
    assert second == {"token": None, "user": None, "userErrors": [{
        "code": "INVALID_TOKEN", "field": ["input", "token"],
        "message": "This link is invalid or has expired; ask for a new one."}]}
    assert (await login(api, org, "new.person@example.com", STRONG_PASSWORD))["token"]


async def test_unknown_used_expired_and_replaced_tokens_get_one_answer(api, db, org):
    await invite(api, org, "used@example.com")
    await invite(api, org, "expired@example.com")
    await invite(api, org, "replaced@example.com")
    sent = {message.to: message for message in (await send_queued(db, org)).sent}
    tokens = {to: token_in(message.body) for to, message in sent.items()}
    await accept(api, tokens["used@example.com"])
    invited = await invite_lookup(db, org, "replaced@example.com")
    await api.data(RESEND, {"id": invited}, as_=org.admin)
    await expire_tokens(db, org)

    answers = [await accept(api, token) for token in (
        "no-such-token", tokens["used@example.com"], tokens["expired@example.com"],
        tokens["replaced@example.com"], "x" * 5000)]

    assert len({repr(answer) for answer in answers}) == 1
    assert answers[0]["userErrors"][0]["code"] == "INVALID_TOKEN"


async def invite_lookup(db: Database, org: Tenant, email: str) -> str:
    async with db.engine.connect() as connection:
        user_id = (await connection.execute(text(
            "SELECT id FROM users WHERE organization_id = :org AND email = :email"),
            {"org": org.id, "email": email})).scalar_one()
    return ids.encode("User", user_id)


async def test_resending_kills_the_earlier_link_at_once_and_the_new_one_works(api, db, org):
    invited = await invite(api, org)
    first = await emailed_token(db, org, "new.person@example.com")

    resent = (await api.data(RESEND, {"id": invited["user"]["id"]},
                             as_=org.admin))["resendInvitation"]
    refused = await accept(api, first)
    second = await emailed_token(db, org, "new.person@example.com")
    accepted = await accept(api, second)

    assert resent == {"user": {"email": "new.person@example.com", "invitationPending": True},
                      "userErrors": []}
    assert refused["userErrors"][0]["code"] == "INVALID_TOKEN"
    assert accepted["userErrors"] == []


async def test_an_accepted_invitation_cannot_be_resent(api, db, org):
    resent = (await api.data(RESEND, {"id": org.client.id}, as_=org.admin))["resendInvitation"]

    assert resent["user"] is None
    assert resent["userErrors"][0]["code"] == "CONFLICT"
    assert resent["userErrors"][0]["field"] == ["userId"]


async def test_a_weak_password_is_refused_and_the_link_still_works(api, db, org):
    await invite(api, org)
    token = await emailed_token(db, org, "new.person@example.com")

    answers = [await accept(api, token, password) for password in (
        "short", "new.person@example.com", "NEW.PERSON", "password1234", "x" * 300)]
    accepted = await accept(api, token)

    assert [answer["userErrors"][0]["code"] for answer in answers] == ["WEAK_PASSWORD"] * 5
    assert {tuple(answer["userErrors"][0]["field"]) for answer in answers} == {
        ("input", "password")}
    assert accepted["userErrors"] == []


async def test_an_invitation_for_an_email_in_use_is_a_conflict(api, db, org):
    refused = await invite(api, org, email=org.client.user.email.upper(), role="CLIENT")

    assert refused["userErrors"][0]["code"] == "CONFLICT"
    assert (await send_queued(db, org)).sent == []


async def test_staff_invite_and_reinvite_clients_only(api, db, org):
    refused = await api.post(INVITE, {"input": {
        "email": "a@example.com", "firstName": "A", "lastName": "B", "phone": "+1 555 0101",
        "role": "ADMIN"}}, as_=org.staff)
    allowed = await invite(api, org, role="CLIENT", as_=org.staff)
    resent = await api.data(RESEND, {"id": allowed["user"]["id"]}, as_=org.staff)

    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert allowed["user"]["invitationPending"] is True
    assert resent["resendInvitation"]["userErrors"] == []
    assert len((await send_queued(db, org)).sent) == 2


async def test_two_people_racing_with_one_link_only_one_gets_in(api, db, org):
    await invite(api, org)
    token = await emailed_token(db, org, "new.person@example.com")

    answers = await asyncio.gather(*(accept(api, token, f"racing passphrase number {n}")
                                     for n in range(4)))

    winners = [answer for answer in answers if answer["token"]]
    assert len(winners) == 1
    assert sorted(answer["userErrors"][0]["code"] for answer in answers if not answer["token"]) \
        == ["INVALID_TOKEN"] * 3
