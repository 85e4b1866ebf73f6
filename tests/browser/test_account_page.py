"""An invitation, followed the way a developer on the demo lives it: no frontend and no SMTP.

`bookings serve` runs in development (no BOOKINGS_ENV, no BOOKINGS_APP_URL) with its job
worker and INFO logs. An admin invites someone over HTTP; the log sender writes the email's
text to the log, and the link in it is this very server's /accept-invitation page
(app/account_pages.py). Chromium (account_page.mjs) opens that link, sets a password in the
page's form and reads "Done: ..." (so the page's Content-Security-Policy lets its own script
run); the same link a second time says the link is no longer valid. Then the person logs in
over HTTP with the password typed in the browser.
"""

import asyncio
import json
import os
import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.browser.test_graphiql import CHROMIUM
from tests.live_server import LiveServer
from tests.node_projects import missing, node_project

HERE = Path(__file__).resolve().parent
INVITED = "invited@example.com"
PASSWORD = "blue harbour lantern 58"
LINK_DEADLINE_SECONDS = 15.0
DONE = f"Done: {INVITED} can log in with the new password."
INVALID_TOKEN = "This link is invalid or has expired; ask for a new one."

INVITE = """mutation($input: CreateUserInput!) { createUser(input: $input) {
    user { email role invitationPending } userErrors { code field message } } }"""
LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
    token user { email role } userErrors { code field message } } }"""


async def graphql(http: httpx.AsyncClient, query: str, variables: dict, *,
                  token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post("/graphql", json={"query": query, "variables": variables},
                               headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def invitation_link(server: LiveServer, *, since: float) -> str:
    """The one accept-invitation link the server has logged; fails after the deadline."""
    pattern = re.compile(
        rf"http://127\.0\.0\.1:{server.port}/accept-invitation\?token=[A-Za-z0-9_-]+")
    deadline = since + LINK_DEADLINE_SECONDS
    while not (links := set(pattern.findall(server.log()))):
        if time.monotonic() > deadline:
            pytest.fail(f"no invitation link in the server log within {LINK_DEADLINE_SECONDS} s:"
                        f"\n{server.log()}")
        await asyncio.sleep(0.1)
    assert len(links) == 1, links
    return links.pop()


async def test_an_invited_person_sets_a_password_on_the_page_the_logged_link_opens(
        database_url, settings, org, tmp_path, monkeypatch):
    node = node_project(HERE)
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    # Development as a developer has it, whatever this shell exports: no frontend, no SMTP.
    for name in ("BOOKINGS_ENV", "BOOKINGS_APP_URL", "BOOKINGS_SMTP_HOST", "BOOKINGS_LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    server = LiveServer(database_url, tmp_path, secret_key=settings.signing_key(),
                        BOOKINGS_RUN_WORKER="1", BOOKINGS_LOG_LEVEL="INFO")
    try:
        await asyncio.to_thread(server.wait_ready)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            login_input = {"organization": org.slug, "email": INVITED, "password": PASSWORD}
            invited = (await graphql(http, INVITE, {"input": {
                "email": INVITED, "firstName": "Ivy", "lastName": "Invited",
                "phone": "+1 555 0100", "role": "STAFF"}}, token=org.admin.token))["createUser"]
            assert invited == {"user": {"email": INVITED, "role": "STAFF",
                                        "invitationPending": True}, "userErrors": []}
            link = await invitation_link(server, since=time.monotonic())

            # No password works yet: the one the browser sets is what lets them in below.
            refused = (await graphql(http, LOGIN, {"input": login_input}))["login"]
            assert refused["token"] is None, refused

            browser = await asyncio.to_thread(
                subprocess.run, [node, str(HERE / "account_page.mjs")], capture_output=True,
                text=True, timeout=120, check=False,
                env={**os.environ, "LINK": link, "PASSWORD": PASSWORD,
                     "CHROMIUM": str(CHROMIUM)})
            assert browser.returncode == 0, f"{browser.stdout}\n{browser.stderr}"
            seen = json.loads(browser.stdout)

            logged_in = (await graphql(http, LOGIN, {"input": login_input}))["login"]
    finally:
        server.stop()

    first, second = seen["first"], seen["second"]
    context = f"{json.dumps(seen, indent=2)}\nbrowser stderr:\n{browser.stderr}"
    assert seen["problems"] == [], context  # console errors, CSP refusals, outside requests
    assert first["httpStatus"] == 200, context
    assert first["title"] == "Accept your invitation", context
    assert "script-src 'self'" in first["contentSecurityPolicy"], context
    assert first["referrerPolicy"] == "no-referrer", context
    assert first["output"] == DONE, context  # the page's own script ran, under its CSP
    assert first["formHidden"] is True, context
    assert second["output"] == INVALID_TOKEN, context  # the token worked once
    assert second["formHidden"] is False, context

    assert logged_in["userErrors"] == [], logged_in
    assert logged_in["user"] == {"email": INVITED, "role": "STAFF"}, logged_in
    assert re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+", logged_in["token"] or ""), logged_in
