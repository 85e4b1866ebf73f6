"""Registering webhook endpoints (docs/webhooks.md): the secret is shown once and rotates,
bad input is refused with a clear userError and stores nothing, and the SSRF guard of
production refuses plain http and private addresses."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from standardwebhooks.webhooks import Webhook

from app.auth import Principal
from app.errors import Conflict, ValidationFailed
from app.webhooks import endpoints
from app.webhooks.models import WebhookEndpoint
from tests.appointments.support import give_credits
from tests.webhooks.support import CREATE, Receiver, register, run_event_jobs

LIST = "{ webhookEndpoints { id url events active createdAt } }"
ROTATE = """mutation($id: ID!, $hours: Int! = 24) {
    rotateWebhookSecret(id: $id, keepOldSecretHours: $hours) {
      webhookEndpoint { id oldSecretSignsUntil } secret userErrors { code field message } } }"""
DELETE = """mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { deletedId
    userErrors { code } } }"""
UPDATE = """mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) {
    webhookEndpoint { url events active } userErrors { code field message } } }"""


async def endpoint_count(db, org) -> int:
    async with db.transaction(org.id, read_only=True) as session:
        return await session.scalar(select(func.count()).select_from(WebhookEndpoint))


async def create(api, org, url: str, events: list[str]) -> dict:
    return (await api.data(CREATE, {"input": {"url": url, "events": events}},
                           as_=org.admin))["createWebhookEndpoint"]


async def test_the_secret_is_shown_once_and_never_read_back(api, org):
    made = await register(api, org, "http://127.0.0.1:9/hooks", ["appointment.booked"])
    listed = await api.post(LIST, as_=org.admin)

    assert made["secret"].startswith("whsec_")
    assert made["secret"] not in str(listed)
    assert listed["data"]["webhookEndpoints"] == [{
        "id": made["id"], "url": "http://127.0.0.1:9/hooks", "events": ["appointment.booked"],
        "active": True, "createdAt": listed["data"]["webhookEndpoints"][0]["createdAt"]}]


async def rotate(api, org, endpoint_id: str, **arguments) -> dict:
    return (await api.data(ROTATE, {"id": endpoint_id, **arguments}, as_=org.admin))[
        "rotateWebhookSecret"]


async def signed_delivery(db, org, receiver: Receiver):
    """A credits event's delivery, as the receiver got it."""
    receiver.received.clear()
    await give_credits(db, org, org.client, 1)
    await run_event_jobs(db, org)
    [received] = receiver.received
    return received


def verifies(secret: str, received) -> bool:
    try:
        Webhook(secret).verify(received.body, received.headers)
    except Exception as refused:  # noqa: BLE001 - the library's own verification error
        assert "signature" in str(refused).lower()
        return False
    return True


async def test_after_a_rotation_both_secrets_sign_until_the_rollover_ends(api, db, org):
    receiver = Receiver().start()
    try:
        made = await register(api, org, receiver.url)
        rotated = await rotate(api, org, made["id"])
        during = await signed_delivery(db, org, receiver)
        async with db.transaction(org.id) as session:  # the 24 hours pass
            await session.execute(text(
                "UPDATE webhook_endpoints SET old_secret_expires_at = now() - interval '1 s'"))
        after = await signed_delivery(db, org, receiver)
    finally:
        receiver.stop()

    assert rotated["userErrors"] == []
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != made["secret"]
    signs_until = datetime.fromisoformat(rotated["webhookEndpoint"]["oldSecretSignsUntil"])
    assert abs(signs_until - (datetime.now(UTC) + timedelta(hours=24))) < timedelta(minutes=5)
    assert len(during.headers["webhook-signature"].split()) == 2
    assert verifies(rotated["secret"], during) and verifies(made["secret"], during)
    assert len(after.headers["webhook-signature"].split()) == 1
    assert verifies(rotated["secret"], after) and not verifies(made["secret"], after)
    listed = await api.data("{ webhookEndpoints { oldSecretSignsUntil } }", as_=org.admin)
    assert listed["webhookEndpoints"] == [{"oldSecretSignsUntil": None}]


async def test_a_rotation_without_rollover_ends_the_old_secret_at_once(api, db, org):
    receiver = Receiver().start()
    try:
        made = await register(api, org, receiver.url)
        rotated = await rotate(api, org, made["id"], hours=0)
        received = await signed_delivery(db, org, receiver)
    finally:
        receiver.stop()

    assert rotated["webhookEndpoint"]["oldSecretSignsUntil"] is None
    assert verifies(rotated["secret"], received) and not verifies(made["secret"], received)


async def test_a_second_rotation_ends_the_first_secret_only_the_latest_two_sign(api, db, org):
    receiver = Receiver().start()
    try:
        first = await register(api, org, receiver.url)
        second = await rotate(api, org, first["id"])
        third = await rotate(api, org, first["id"], hours=1)
        received = await signed_delivery(db, org, receiver)
    finally:
        receiver.stop()

    assert [verifies(made["secret"], received) for made in (first, second, third)] == [
        False, True, True]


@pytest.mark.parametrize("hours", [-1, 169])
async def test_a_rollover_out_of_range_is_refused_and_rotates_nothing(api, db, org, hours):
    receiver = Receiver().start()
    try:
        made = await register(api, org, receiver.url)
        refused = await rotate(api, org, made["id"], hours=hours)
        received = await signed_delivery(db, org, receiver)
    finally:
        receiver.stop()

    assert (refused["secret"], refused["webhookEndpoint"]) == (None, None)
    [error] = refused["userErrors"]
    assert (error["code"], error["field"]) == ("VALIDATION_FAILED", ["keepOldSecretHours"])
    assert "between 0 and 168" in error["message"]
    assert verifies(made["secret"], received)
    assert len(received.headers["webhook-signature"].split()) == 1


async def test_an_update_changes_only_what_it_names_and_a_delete_ends_the_endpoint(
        api, db, org):
    made = await register(api, org, "http://127.0.0.1:9/hooks", ["credits.adjusted"])

    changed = (await api.data(UPDATE, {"input": {"id": made["id"], "events": [
        "credits.expired", "credits.expired", "appointment.booked"]}}, as_=org.admin))[
        "updateWebhookEndpoint"]
    deleted = (await api.data(DELETE, {"id": made["id"]}, as_=org.admin))["deleteWebhookEndpoint"]
    again = (await api.data(DELETE, {"id": made["id"]}, as_=org.admin))["deleteWebhookEndpoint"]

    assert changed == {"webhookEndpoint": {"url": "http://127.0.0.1:9/hooks", "active": True,
                                           "events": ["credits.expired", "appointment.booked"]},
                       "userErrors": []}
    assert deleted == {"deletedId": made["id"], "userErrors": []}
    assert again["userErrors"] == [{"code": "NOT_FOUND"}]
    assert await endpoint_count(db, org) == 0


@pytest.mark.parametrize(("url", "events", "field", "says"), [
    ("http://127.0.0.1:9/hooks", ["appointment.bookd"], "events", "Unknown event type"),
    ("http://127.0.0.1:9/hooks", [], "events", "at least one"),
    ("ftp://example.com/hooks", ["*"], "url", "http(s)"),
    ("javascript:alert(1)", ["*"], "url", "http(s)"),
    ("https://user:password@example.com/hooks", ["*"], "url", "credentials"),
    ("https://" + "a" * 2100 + ".example.com/", ["*"], "url", "2048"),
])
async def test_bad_input_is_refused_with_a_clear_error_and_stores_nothing(
        api, db, org, url, events, field, says):
    answer = await create(api, org, url, events)

    [error] = answer["userErrors"]
    assert (error["code"], error["field"]) == ("VALIDATION_FAILED", ["input", field])
    assert says in error["message"]
    assert (answer["webhookEndpoint"], answer["secret"]) == (None, None)
    assert await endpoint_count(db, org) == 0


@pytest.mark.parametrize(("url", "says"), [
    ("http://hooks.example.com/", "must be https"),
    ("https://127.0.0.1/hooks", "not a public address"),
    ("https://localhost/hooks", "not a public address"),
    ("https://10.1.2.3/hooks", "not a public address"),
    ("https://169.254.169.254/latest", "not a public address"),  # cloud metadata
    ("https://[::ffff:192.168.0.1]/hooks", "not a public address"),
    ("https://does-not-exist.invalid/hooks", "does not resolve"),
])
async def test_production_refuses_plain_http_and_private_addresses(db, org, url, says):
    admin = Principal(user_id=org.admin.user.id, organization_id=org.id, role=org.admin.role)
    async with db.transaction(org.id) as session:
        with pytest.raises(ValidationFailed, match=says) as refused:
            await endpoints.create_endpoint(session, admin, url=url, events=["*"],
                                            production=True)

    assert refused.value.field == "url"
    assert await endpoint_count(db, org) == 0


async def test_production_accepts_https_on_a_public_address(db, org):
    admin = Principal(user_id=org.admin.user.id, organization_id=org.id, role=org.admin.role)
    async with db.transaction(org.id) as session:
        endpoint, secret = await endpoints.create_endpoint(
            session, admin, url="https://93.184.215.14/hooks", events=["*"], production=True)

    assert endpoint.url == "https://93.184.215.14/hooks" and secret.startswith("whsec_")


async def test_an_organization_has_at_most_twenty_endpoints_even_when_admins_race(api, db, org):
    for number in range(endpoints.MAX_ENDPOINTS - 2):
        await register(api, org, f"http://127.0.0.1:9/hooks/{number}")
    admin = Principal(user_id=org.admin.user.id, organization_id=org.id, role=org.admin.role)

    async def add(number: int) -> str:
        try:
            async with db.transaction(org.id) as session:
                await endpoints.create_endpoint(session, admin, events=["*"], production=False,
                                                url=f"http://127.0.0.1:9/race/{number}")
        except Conflict:
            return "refused"
        return "added"

    outcomes = await asyncio.gather(*(add(number) for number in range(4)))
    over = await create(api, org, "http://127.0.0.1:9/one-more", ["*"])

    assert sorted(outcomes) == ["added", "added", "refused", "refused"]
    assert await endpoint_count(db, org) == endpoints.MAX_ENDPOINTS
    assert over["userErrors"][0]["code"] == "CONFLICT"
    assert "at most 20" in over["userErrors"][0]["message"]
