"""`POST /webhooks/stripe` (docs/payments.md): only Stripe's signed word settles a purchase,
once per event, in the purchase's own organization; anything else changes nothing."""

import time

import pytest

from tests.payments.stripe_standin import event_of, signed
from tests.payments.support import (
    deliver,
    messages_to,
    package,
    purchases_of,
    start,
    stripe_settings,
)
from tests.support import GraphQLClient

BALANCE = "query { creditBalance { balance } }"
COMPLETED = "checkout.session.completed"


async def checkout(pay, standin, org, member=None, **package_values) -> dict:
    """A started checkout's Stripe session, as the stand-in holds it."""
    started = await start(pay, member or org.client, await package(pay, org, **package_values))
    assert started["userErrors"] == [], started
    return standin.sessions[started["checkoutUrl"].rpartition("/")[2]]


async def balance(pay, member) -> int:
    return (await pay.data(BALANCE, as_=member))["creditBalance"]["balance"]


async def test_a_paid_checkout_adds_the_credits_once_however_often_it_is_told(
        pay, http, db, org, standin):
    session = await checkout(pay, standin, org, credits=10, price_cents=45000)
    paid = event_of(session, COMPLETED, status="complete", payment_status="paid")

    answers = [await deliver(http, paid) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert [answer.json()["outcome"] for answer in answers] == ["completed", "replayed",
                                                                "replayed"]
    assert await balance(pay, org.client) == 10
    [purchase] = await purchases_of(db, org, org.client)
    assert (purchase.status.value, purchase.balance_after) == ("COMPLETED", 10)
    assert await messages_to(db, org, org.client) == [
        ("RECEIPT", f"Credits added: 10 credits - {await org_name(pay, org)}")]


async def org_name(pay, org) -> str:
    return (await pay.data("{ organization { name } }", as_=org.admin))["organization"]["name"]


async def test_an_expired_checkout_fails_its_purchase_quietly(pay, http, db, org, standin):
    session = await checkout(pay, standin, org)

    answer = await deliver(http, event_of(session, "checkout.session.expired", status="expired"))

    assert answer.json()["outcome"] == "failed"
    [purchase] = await purchases_of(db, org, org.client)
    assert (purchase.status.value, purchase.failure_reason) == (
        "FAILED", "The checkout expired unpaid.")
    assert await messages_to(db, org, org.client) == []
    assert await balance(pay, org.client) == 0


async def test_an_asynchronous_payment_settles_when_it_succeeds_or_fails(
        pay, http, db, org, standin):
    succeeds = await checkout(pay, standin, org, credits=4, price_cents=20000)
    fails = await checkout(pay, standin, org, credits=6, price_cents=30000)
    under_way = {"status": "complete", "payment_status": "unpaid"}

    waiting = [await deliver(http, event_of(session, COMPLETED, **under_way))
               for session in (succeeds, fails)]
    await deliver(http, event_of(succeeds, "checkout.session.async_payment_succeeded",
                                 status="complete", payment_status="paid"))
    await deliver(http, event_of(fails, "checkout.session.async_payment_failed", **under_way))

    assert [answer.json()["outcome"] for answer in waiting] == ["unchanged", "unchanged"]
    statuses = [purchase.status.value for purchase in await purchases_of(db, org, org.client)]
    assert statuses == ["COMPLETED", "FAILED"]
    assert await balance(pay, org.client) == 4
    assert [kind for kind, _ in await messages_to(db, org, org.client)] == [
        "RECEIPT", "PAYMENT_FAILED"]


@pytest.mark.parametrize("paid", [{"amount_total": 100}, {"currency": "eur"}])
async def test_a_payment_of_another_amount_fails_the_purchase(pay, http, db, org, standin,
                                                              paid, caplog):
    session = await checkout(pay, standin, org)

    answer = await deliver(http, event_of(session, COMPLETED, status="complete",
                                          payment_status="paid", **paid))

    assert answer.json()["outcome"] == "failed"
    [purchase] = await purchases_of(db, org, org.client)
    assert purchase.status.value == "FAILED" and "not the price" in purchase.failure_reason
    assert await balance(pay, org.client) == 0
    assert "no credits added" in caplog.text


async def test_an_event_naming_another_organizations_purchase_changes_nothing(
        pay, http, db, org, other_org, standin):
    session = await checkout(pay, standin, org)
    claimed = {**session["metadata"], "organization_id": str(other_org.id)}

    answer = await deliver(http, event_of(session, COMPLETED, status="complete",
                                          payment_status="paid", metadata=claimed))

    assert (answer.status_code, answer.json()["outcome"]) == (200, "ignored")
    [purchase] = await purchases_of(db, org, org.client)
    assert purchase.status.value == "PENDING"


@pytest.mark.parametrize("tamper", ["wrong secret", "old", "unsigned", "not json", "too large",
                                    "body changed"])
async def test_a_delivery_stripe_did_not_sign_now_is_refused_and_changes_nothing(
        pay, http, db, org, standin, tamper):
    session = await checkout(pay, standin, org)
    paid = event_of(session, COMPLETED, status="complete", payment_status="paid")
    body, headers = signed(paid)
    match tamper:
        case "wrong secret":
            body, headers = signed(paid, secret="whsec_someone_else")
        case "old":
            body, headers = signed(paid, timestamp=int(time.time()) - 600)
        case "unsigned":
            headers = {"Content-Type": "application/json"}
        case "not json":
            body, headers = signed(paid)
            body = b"{not json"
            body, headers = _signed_raw(body)
        case "too large":
            paid["data"]["object"]["padding"] = "x" * 300_000
            body, headers = signed(paid)
        case "body changed":
            body = body.replace(b'"paid"', b'"PAID"', 1)

    answer = await http.post("/webhooks/stripe", content=body, headers=headers)

    assert answer.status_code == 400, answer.text
    [purchase] = await purchases_of(db, org, org.client)
    assert purchase.status.value == "PENDING"


def _signed_raw(body: bytes) -> tuple[bytes, dict[str, str]]:
    import hashlib
    import hmac

    from tests.payments.stripe_standin import WEBHOOK_SECRET

    timestamp = int(time.time())
    signature = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + body,
                         hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={timestamp},v1={signature}"}


async def test_an_event_of_another_kind_is_acknowledged_and_ignored(pay, http, org, standin):
    session = await checkout(pay, standin, org)
    answer = await deliver(http, event_of(session, "payment_intent.created"))
    assert (answer.status_code, answer.json()["outcome"]) == (200, "ignored")


async def test_without_a_webhook_secret_events_are_not_believed(app_with, standin, org):
    http = app_with(**stripe_settings(standin, stripe_webhook_secret=None))
    answer = await deliver(http, {"id": "evt_1", "type": COMPLETED, "data": {"object": {}}})
    assert answer.status_code == 503


async def test_over_http_a_client_buys_and_the_completion_comes_three_times(
        pay, http, db, org, standin):
    """The issue's "done when": a checkout, the signed completion delivered three times,
    the purchase in the balance and the ledger once."""
    client = GraphQLClient(http)
    session = await checkout(client, standin, org, credits=8, price_cents=36000)
    paid = event_of(session, COMPLETED, status="complete", payment_status="paid")

    for _ in range(3):
        assert (await deliver(http, paid)).status_code == 200

    ledger = await client.data("{ creditTransactions { edges { node { type status amount } } } }",
                               as_=org.client)
    assert [edge["node"] for edge in ledger["creditTransactions"]["edges"]] == [
        {"type": "PURCHASE", "status": "COMPLETED", "amount": 8}]
    assert await balance(client, org.client) == 8


async def test_an_event_larger_than_the_apis_body_limit_is_still_read(pay, http, org, standin):
    session = await checkout(pay, standin, org)
    paid = event_of(session, COMPLETED, status="complete", payment_status="paid",
                    padding="x" * 150_000)  # over BOOKINGS_MAX_BODY_BYTES, under 256 kB

    answer = await deliver(http, paid)

    assert (answer.status_code, answer.json()["outcome"]) == (200, "completed")


async def test_a_price_change_between_checkout_and_payment_keeps_the_checkouts_price(
        pay, http, db, org, standin):
    started = await start(pay, org.client, package_id := await package(
        pay, org, credits=10, price_cents=45000))
    session = standin.sessions[started["checkoutUrl"].rpartition("/")[2]]
    await pay.data("mutation($id: ID!) { updateCreditPackage(input: {id: $id, priceCents: "
                   "50000}) { userErrors { code } } }", {"id": package_id}, as_=org.admin)

    answer = await deliver(http, event_of(session, COMPLETED, status="complete",
                                          payment_status="paid"))  # 45000, as started

    assert answer.json()["outcome"] == "completed"
    [purchase] = await purchases_of(db, org, org.client)
    assert (purchase.status.value, purchase.amount_paid_cents) == ("COMPLETED", 45000)
    assert await balance(pay, org.client) == 10
