"""`startCheckout` (docs/rules.md: buying credits online): a PENDING purchase of a package at
its price, and Stripe's page to pay on; refused before anything is written or Stripe is
called when anything is wrong."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from app.people.models import User
from tests.payments.stripe_standin import SECRET_KEY
from tests.payments.support import (
    CHECKOUT,
    SUCCESS_URL,
    package,
    purchases_of,
    start,
    transaction_pk,
)
from tests.support import GraphQLClient, error_codes


async def test_a_client_starts_a_checkout_of_a_package(pay, db, org, standin):
    package_id = await package(pay, org, credits=10, price_cents=45000, validityDays=180)

    started = await start(pay, org.client, package_id)

    assert started["userErrors"] == []
    [session] = standin.sessions.values()
    assert started["checkoutUrl"] == session["url"]
    purchase = started["creditTransaction"]
    assert {key: purchase[key] for key in ("type", "status", "amount", "amountPaidCents",
                                           "currency", "balanceAfter")} == {
        "type": "PURCHASE", "status": "PENDING", "amount": 10, "amountPaidCents": 45000,
        "currency": "USD", "balanceAfter": None}
    expires = datetime.fromisoformat(purchase["expiresAt"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=180))) < timedelta(minutes=5)
    [sent] = standin.requests
    params, headers = sent["params"], sent["headers"]
    assert params["mode"] == "payment"
    assert params["line_items"]["0"]["price_data"] == {
        "currency": "usd", "unit_amount": "45000", "product_data": {"name": "10 sessions"}}
    assert params["metadata"] == {"organization_id": str(org.id),
                                  "transaction_id": str(transaction_pk(started))}
    assert params["customer_email"] == org.client.user.email
    assert params["locale"] == "en"  # the buyer's language: here the organization's default
    assert params["success_url"] == SUCCESS_URL
    assert headers["idempotency-key"] == f"bookings-checkout-{org.id}-{transaction_pk(started)}"
    assert headers["authorization"] == f"Bearer {SECRET_KEY}"
    lifetime = int(params["expires_at"]) - datetime.now(UTC).timestamp()
    assert 55 * 60 < lifetime <= 60 * 60


async def test_staff_start_a_checkout_for_a_client_and_nobody_else_for_another(pay, db, org):
    package_id = await package(pay, org)

    for_client = await start(pay, org.staff, package_id, userId=org.client.id)
    by_client = await pay.post(CHECKOUT, {"input": {
        "packageId": package_id, "successUrl": SUCCESS_URL, "cancelUrl": SUCCESS_URL,
        "userId": org.other_client.id}}, as_=org.client)
    by_professional = await pay.post(CHECKOUT, {"input": {
        "packageId": package_id, "successUrl": SUCCESS_URL, "cancelUrl": SUCCESS_URL}},
        as_=org.professional)
    for_staff = await start(pay, org.admin, package_id, userId=org.staff.id)

    assert for_client["userErrors"] == []
    assert error_codes(by_client) == ["FORBIDDEN"] and error_codes(by_professional) == [
        "FORBIDDEN"]
    assert for_staff["userErrors"] == [{"code": "VALIDATION_FAILED", "field": ["input", "userId"],
                                        "message": "Only clients hold credits."}]
    assert len(await purchases_of(db, org, org.client)) == 1
    assert await purchases_of(db, org, org.other_client) == []


@pytest.mark.parametrize(("change", "code", "field"), [
    ({"successUrl": "http://app.example.com/paid"}, "VALIDATION_FAILED", "successUrl"),
    ({"cancelUrl": "ftp://app.example.com/"}, "VALIDATION_FAILED", "cancelUrl"),
    ({"successUrl": "/paid"}, "VALIDATION_FAILED", "successUrl"),
    ({"successUrl": "https://app.example.com/" + "x" * 2048}, "VALIDATION_FAILED",
     "successUrl"),
    ({"packageId": "nonsense"}, "NOT_FOUND", "packageId"),
])
async def test_bad_input_writes_nothing_and_calls_no_one(pay, db, org, standin, change, code,
                                                         field):
    package_id = await package(pay, org)

    refused = await start(pay, org.client, package_id, **change)

    assert [(error["code"], error["field"]) for error in refused["userErrors"]] == [
        (code, ["input", field])]
    assert refused["checkoutUrl"] is None and refused["creditTransaction"] is None
    assert standin.requests == [] and await purchases_of(db, org, org.client) == []


async def test_a_retired_or_free_package_is_not_sold(pay, db, org, standin):
    retired = await package(pay, org)
    await pay.data("mutation($id: ID!) { updateCreditPackage(input: {id: $id, active: false}) "
                   "{ userErrors { code } } }", {"id": retired}, as_=org.admin)
    free = await package(pay, org, price_cents=0)

    by_client = await start(pay, org.client, retired)
    by_staff = await start(pay, org.staff, retired, userId=org.client.id)
    gratis = await start(pay, org.client, free)

    assert by_client["userErrors"][0]["code"] == "NOT_FOUND"  # a client cannot see it
    assert by_staff["userErrors"][0]["code"] == "VALIDATION_FAILED"
    assert gratis["userErrors"][0]["code"] == "VALIDATION_FAILED"
    assert standin.requests == [] and await purchases_of(db, org, org.client) == []


async def test_localhost_may_be_http_in_development(pay, org):
    started = await start(pay, org.client, await package(pay, org),
                          successUrl="http://localhost:5173/paid",
                          cancelUrl="http://127.0.0.1:5173/back")
    assert started["userErrors"] == []


async def test_without_a_key_checkout_is_refused_and_nothing_written(app_with, db, org):
    unconfigured = GraphQLClient(app_with())
    refused = await start(unconfigured, org.client, await package(unconfigured, org))

    assert [error["code"] for error in refused["userErrors"]] == ["PAYMENT_UNAVAILABLE"]
    assert "BOOKINGS_STRIPE_SECRET_KEY" in refused["userErrors"][0]["message"]
    assert await purchases_of(db, org, org.client) == []


async def test_when_stripe_refuses_nothing_is_written(pay, db, org, standin):
    standin.refuse_with = 400
    refused = await start(pay, org.client, await package(pay, org))

    assert [error["code"] for error in refused["userErrors"]] == ["PAYMENT_UNAVAILABLE"]
    assert await purchases_of(db, org, org.client) == []


async def test_a_retried_checkout_with_its_key_makes_one_purchase_and_one_session(
        pay, db, org, standin):
    package_id = await package(pay, org)

    first = await start(pay, org.client, package_id, idempotencyKey="buy-1")
    again = await start(pay, org.client, package_id, idempotencyKey="buy-1")

    assert again == first
    assert len(standin.sessions) == 1 and len(standin.requests) == 1
    assert len(await purchases_of(db, org, org.client)) == 1


async def test_a_price_change_leaves_a_started_checkout_at_its_price(pay, db, org, standin):
    package_id = await package(pay, org, price_cents=45000)
    started = await start(pay, org.client, package_id)

    await pay.data("mutation($id: ID!) { updateCreditPackage(input: {id: $id, priceCents: "
                   "50000}) { userErrors { code } } }", {"id": package_id}, as_=org.admin)
    later = await start(pay, org.client, package_id)

    assert started["creditTransaction"]["amountPaidCents"] == 45000
    assert later["creditTransaction"]["amountPaidCents"] == 50000


@pytest.mark.parametrize(("buyer_locale", "page_locale"), [
    ("es-AR", "es-419"), ("es", "es"), ("es-ES", "es"), ("en-GB", "en-GB"), ("en-US", "en")])
async def test_the_payment_page_speaks_the_buyers_language(
        pay, db, org, standin, buyer_locale, page_locale):
    async with db.transaction(org.id) as session:
        await session.execute(update(User).where(User.id == org.client.user.id)
                              .values(locale=buyer_locale))
    package_id = await package(pay, org)

    assert (await start(pay, org.client, package_id))["userErrors"] == []

    [sent] = standin.requests
    assert sent["params"]["locale"] == page_locale
