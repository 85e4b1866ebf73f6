"""The accounts feature end to end, as a new user meets it: real `bookings serve` processes
(each with its in-process job worker) on one database, real HTTP, and a real SMTP server.

It proves that
- createUser without a password emails an invitation within seconds of the commit, with the
  same https://app.example.com/accept-invitation link in the text and the HTML part, and
  the link's token sets a password and logs the person in;
- requestPasswordReset emails a reset link; resetPassword logs in, ends the sessions opened
  before it, and its token works once;
- signUp is refused until an admin allows client sign-up, then makes a CLIENT;
- revokeSessions on one server process ends the token on another at its next request.

It also prints how long invitation emails take, from the inviting mutation's answer to the
SMTP server's receipt (and appends that line to artifacts/accounts-timing.txt when the
folder exists); only the 10 s deadline is asserted.
"""

import asyncio
import re
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.accounts.support import ME, OTHER_STRONG_PASSWORD, STRONG_PASSWORD
from tests.live_server import LiveServer, free_port
from tests.support import PASSWORD, GraphQLClient, Tenant, error_codes

REPOSITORY = Path(__file__).resolve().parents[2]
APP_URL = "https://app.example.com"
MAIL_FROM = "bookings@example.com"
DEADLINE_SECONDS = 10.0
TIMED_INVITATIONS = 5

INVITE = """mutation($input: CreateUserInput!) { createUser(input: $input) {
    user { email role invitationPending } userErrors { code field message } } }"""
ACCEPT = """mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) {
    token user { email role invitationPending } userErrors { code field message } } }"""
LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
    token user { email role } userErrors { code field message } } }"""
REQUEST_RESET = """mutation($input: RequestPasswordResetInput!) {
    requestPasswordReset(input: $input) { accepted userErrors { code field message } } }"""
RESET = """mutation($input: ResetPasswordInput!) { resetPassword(input: $input) {
    token user { email } userErrors { code field message } } }"""
SIGN_UP = """mutation($input: SignUpInput!) { signUp(input: $input) {
    token user { email role } userErrors { code field message } } }"""
SETTINGS = """mutation($input: UpdateOrganizationSettingsInput!) {
    updateOrganizationSettings(input: $input) {
      organization { settings { allowClientSignup } } userErrors { code field message } } }"""
REVOKE = "mutation { revokeSessions { user { email } userErrors { code field message } } }"


# ---- the SMTP server ----------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """A message as the SMTP server got it, and when (time.monotonic())."""

    at: float
    recipients: tuple[str, ...]
    message: EmailMessage

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()


class Inbox:
    """An aiosmtpd handler keeping every message it receives. It runs in the controller's
    thread; the tests read its list from theirs."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.port = free_port()

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's hook name
        at = time.monotonic()
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append(Received(at, tuple(envelope.rcpt_tos), message))
        return "250 Message accepted"

    def to(self, address: str) -> list[Received]:
        return [mail for mail in list(self.received) if address in mail.recipients]

    async def wait_for(self, address: str, *, since: float) -> Received:
        """The first message to `address`; fails the test if none arrives within the
        deadline counted from `since` (a time.monotonic())."""
        while not (arrived := self.to(address)):
            if time.monotonic() > since + DEADLINE_SECONDS:
                pytest.fail(f"no email to {address} within {DEADLINE_SECONDS} s")
            await asyncio.sleep(0.01)
        return arrived[0]


@pytest.fixture(scope="module")
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    yield handler
    controller.stop()


# ---- the server processes -----------------------------------------------------------


@pytest.fixture(scope="module")
def servers(database_url, settings, inbox, tmp_path_factory):
    """Two server processes on the test database, each running the job worker and sending
    mail to `inbox`. They sign tokens with the test settings' key, as the fixtures do."""
    environment = {"BOOKINGS_RUN_WORKER": "1", "BOOKINGS_SMTP_HOST": "127.0.0.1",
                   "BOOKINGS_SMTP_PORT": str(inbox.port), "BOOKINGS_SMTP_SECURITY": "none",
                   "BOOKINGS_MAIL_FROM": MAIL_FROM, "BOOKINGS_APP_URL": APP_URL}
    started: list[LiveServer] = []
    try:
        for name in ("a", "b"):  # both start at once: each takes a couple of seconds
            started.append(LiveServer(database_url, tmp_path_factory.mktemp(f"server-{name}"),
                                      secret_key=settings.signing_key(), **environment))
        for server in started:
            server.wait_ready()
        yield started
    finally:
        for server in started:
            server.stop()


@pytest.fixture
async def a(servers):
    """A GraphQL client of server process A."""
    async with httpx.AsyncClient(base_url=servers[0].url, timeout=30) as http:
        yield GraphQLClient(http)


@pytest.fixture
async def b(servers):
    """A GraphQL client of server process B."""
    async with httpx.AsyncClient(base_url=servers[1].url, timeout=30) as http:
        yield GraphQLClient(http)


# ---- helpers ------------------------------------------------------------------------


def emailed_link(mail: Received, path: str) -> str:
    """The one `{APP_URL}/{path}?token=...` link of the email, the same in its text and its
    HTML part; returns the token."""
    pattern = re.compile(re.escape(f"{APP_URL}/{path}?token=") + r"([A-Za-z0-9_-]+)")
    assert mail.message.get_content_type() == "multipart/alternative"
    assert mail.message["From"] == MAIL_FROM
    in_text = pattern.findall(mail.text)
    in_html = pattern.findall(mail.html)
    assert len(in_text) == 1, mail.text
    assert in_html == in_text, mail.html
    return in_text[0]


async def invite(api: GraphQLClient, org: Tenant, email: str) -> tuple[dict, float]:
    """createUser without a password, as the admin; returns the payload and the moment its
    answer arrived (the commit is behind it)."""
    variables = {"input": {"email": email, "firstName": "New", "lastName": "Person",
                           "phone": "+1 555 0101", "role": "STAFF"}}
    payload = (await api.data(INVITE, variables, as_=org.admin))["createUser"]
    return payload, time.monotonic()


async def login(api: GraphQLClient, org: Tenant, email: str, password: str) -> dict:
    variables = {"input": {"organization": org.slug, "email": email, "password": password}}
    return (await api.data(LOGIN, variables))["login"]


async def me(api: GraphQLClient, token: str) -> dict:
    return await api.post(ME, token=token)


def new_client(org: Tenant) -> dict:
    return {"input": {"organization": org.slug, "email": f"family@{org.slug}.example",
                      "password": STRONG_PASSWORD, "firstName": "Fam", "lastName": "Ily",
                      "phone": "+1 555 0199"}}


def report_timing(line: str) -> None:
    print(f"\n{line}")
    artifacts = REPOSITORY / "artifacts"
    if artifacts.is_dir():
        with (artifacts / "accounts-timing.txt").open("a") as file:
            file.write(f"{datetime.now(UTC).isoformat(timespec='seconds')} {line}\n")


# ---- the tests ----------------------------------------------------------------------


async def test_an_invited_person_follows_the_emailed_link_and_is_logged_in(a, inbox, org):
    email = f"invitee@{org.slug}.example"

    invited, answered = await invite(a, org, email)
    assert invited == {"user": {"email": email, "role": "STAFF", "invitationPending": True},
                       "userErrors": []}
    mail = await inbox.wait_for(email, since=answered)
    token = emailed_link(mail, "accept-invitation")
    accepted = (await a.data(ACCEPT, {"input": {"token": token,
                                                "password": STRONG_PASSWORD}}))["acceptInvitation"]

    assert accepted["userErrors"] == []
    assert accepted["user"] == {"email": email, "role": "STAFF", "invitationPending": False}
    assert (await me(a, accepted["token"]))["data"]["me"]["email"] == email
    logged_in = await login(a, org, email, STRONG_PASSWORD)
    assert logged_in["userErrors"] == []
    assert logged_in["user"] == {"email": email, "role": "STAFF"}


async def test_a_forgotten_password_is_reset_from_the_emailed_link(a, inbox, org):
    email = org.client.user.email
    before_reset = (await login(a, org, email, PASSWORD))["token"]
    assert error_codes(await me(a, before_reset)) == []

    requested = (await a.data(REQUEST_RESET, {"input": {"organization": org.slug,
                                                        "email": email}}))
    answered = time.monotonic()
    assert requested["requestPasswordReset"] == {"accepted": True, "userErrors": []}
    token = emailed_link(await inbox.wait_for(email, since=answered), "reset-password")
    reset = (await a.data(RESET, {"input": {"token": token, "newPassword": STRONG_PASSWORD}}))[
        "resetPassword"]
    again = (await a.data(RESET, {"input": {"token": token,
                                            "newPassword": OTHER_STRONG_PASSWORD}}))["resetPassword"]

    assert reset["userErrors"] == []
    assert reset["user"] == {"email": email}
    for old_token in (before_reset, org.client.token):
        assert error_codes(await me(a, old_token)) == ["UNAUTHENTICATED"]
    assert again == {"token": None, "user": None, "userErrors": [{
        "code": "INVALID_TOKEN", "field": ["input", "token"],
        "message": "This link is invalid or has expired; ask for a new one."}]}
    assert (await me(a, reset["token"]))["data"]["me"]["email"] == email
    assert (await login(a, org, email, PASSWORD))["token"] is None
    assert (await login(a, org, email, STRONG_PASSWORD))["token"]


async def test_sign_up_is_refused_until_an_admin_allows_it_then_makes_a_client(a, org):
    closed = (await a.data(SIGN_UP, new_client(org)))["signUp"]
    assert closed["token"] is None
    assert [(error["code"], error["field"]) for error in closed["userErrors"]] == [
        ("VALIDATION_FAILED", ["input", "organization"])]

    opened = await a.data(SETTINGS, {"input": {"allowClientSignup": True}}, as_=org.admin)
    assert opened["updateOrganizationSettings"] == {
        "organization": {"settings": {"allowClientSignup": True}}, "userErrors": []}
    signed_up = (await a.data(SIGN_UP, new_client(org)))["signUp"]

    assert signed_up["userErrors"] == []
    assert signed_up["user"] == {"email": f"family@{org.slug}.example", "role": "CLIENT"}
    assert (await me(a, signed_up["token"]))["data"]["me"]["role"] == "CLIENT"


async def test_sessions_revoked_on_one_server_end_at_once_on_another(a, b, org):
    token = (await login(b, org, org.client.user.email, PASSWORD))["token"]
    for _ in range(3):  # B has served this token, more than once, before the revocation
        assert error_codes(await me(b, token)) == []

    revoked = await a.data(REVOKE, token=token)
    refused = await me(b, token)

    assert revoked["revokeSessions"] == {"user": {"email": org.client.user.email},
                                         "userErrors": []}
    assert error_codes(refused) == ["UNAUTHENTICATED"]
    assert "session has ended" in refused["errors"][0]["message"]
    fresh = (await login(b, org, org.client.user.email, PASSWORD))["token"]
    assert error_codes(await me(b, fresh)) == []


async def test_invitation_emails_arrive_within_the_deadline_and_their_delay_is_reported(
        a, inbox, org):
    delays = []
    for number in range(TIMED_INVITATIONS):  # one at a time: the delay of an idle server
        email = f"timed-{number}@{org.slug}.example"
        invited, answered = await invite(a, org, email)
        assert invited["userErrors"] == []
        mail = await inbox.wait_for(email, since=answered)
        delays.append(mail.at - answered)

    assert [len(inbox.to(f"timed-{n}@{org.slug}.example"))
            for n in range(TIMED_INVITATIONS)] == [1] * TIMED_INVITATIONS
    report_timing(
        f"invitation email, mutation answer to SMTP receipt, {TIMED_INVITATIONS} invitations: "
        f"median {statistics.median(delays) * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms "
        f"(each: {', '.join(f'{delay * 1000:.0f}' for delay in delays)} ms)")
