"""Shared steps of the payment tests: an app wired to the Stripe stand-in, packages,
checkouts, and webhook deliveries."""

from typing import Any

import httpx
from sqlalchemy import select

from app import global_ids as ids
from app.credits.models import CreditTransaction
from app.notifications.models import OutboxMessage
from tests.payments.stripe_standin import SECRET_KEY, WEBHOOK_SECRET, StripeStandIn, signed
from tests.support import GraphQLClient, Member, Tenant

CHECKOUT = """
mutation Checkout($input: StartCheckoutInput!) {
  startCheckout(input: $input) {
    checkoutUrl
    creditTransaction { id type status amount amountPaidCents currency balanceAfter expiresAt }
    userErrors { code field message }
  }
}"""
CREATE_PACKAGE = """
mutation Create($input: CreateCreditPackageInput!) {
  createCreditPackage(input: $input) { creditPackage { id } userErrors { code } }
}"""
SUCCESS_URL, CANCEL_URL = "https://app.example.com/paid", "https://app.example.com/cancelled"


def stripe_settings(standin: StripeStandIn | None, **changes: Any) -> dict[str, Any]:
    if standin is None:
        return changes
    return {"stripe_secret_key": SECRET_KEY, "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_api_base": standin.url, **changes}


async def package(api: GraphQLClient, org: Tenant, *, credits: int = 10,
                  price_cents: int = 45000, **values: Any) -> str:
    made = await api.data(CREATE_PACKAGE, {"input": {
        "name": f"{credits} sessions", "credits": credits, "priceCents": price_cents, **values}},
        as_=org.admin)
    return made["createCreditPackage"]["creditPackage"]["id"]


async def start(api: GraphQLClient, member: Member, package_id: str, **values: Any) -> dict:
    return (await api.data(CHECKOUT, {"input": {
        "packageId": package_id, "successUrl": SUCCESS_URL, "cancelUrl": CANCEL_URL, **values}},
        as_=member))["startCheckout"]


async def deliver(http: httpx.AsyncClient, event: dict, **signing: Any) -> httpx.Response:
    body, headers = signed(event, **signing)
    return await http.post("/webhooks/stripe", content=body, headers=headers)


async def purchases_of(db, org: Tenant, member: Member) -> list[CreditTransaction]:
    async with db.transaction(org.id, read_only=True) as session:
        return list(await session.scalars(
            select(CreditTransaction).where(CreditTransaction.user_id == member.user.id)
            .order_by(CreditTransaction.id)))


async def messages_to(db, org: Tenant, member: Member) -> list[tuple[str, str]]:
    async with db.transaction(org.id, read_only=True) as session:
        return [(message.kind.value, message.subject) for message in await session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient_user_id == member.user.id)
            .order_by(OutboxMessage.id))]


def transaction_pk(started: dict) -> int:
    return ids.decode(started["creditTransaction"]["id"], "CreditTransaction")
