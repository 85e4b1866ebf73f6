"""Changing credits: purchases (paid or PENDING), settling them, and an ADMIN's adjustments."""

from datetime import timedelta

import strawberry

from app import global_ids as ids
from app.api.context import Info
from app.api.credits.inputs import (
    AdjustCreditsInput,
    CheckoutPayload,
    CreateCreditPackageInput,
    CreditPackagePayload,
    CreditTransactionPayload,
    PurchaseCreditsInput,
    SettleCreditPurchaseInput,
    StartCheckoutInput,
    UpdateCreditPackageInput,
)
from app.api.credits.types import CreditPackageType, CreditTransactionType
from app.api.errors import run_mutation
from app.api.inputs import given_changes
from app.credits import packages, service
from app.credits.models import TransactionStatus
from app.payments import checkout


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Buy a credit package online: a PENDING purchase and the "
                                     "payment provider's page to pay on.")
    async def start_checkout(self, info: Info, input: StartCheckoutInput) -> CheckoutPayload:
        settings = info.context.settings

        async def action(session, principal):
            started = await checkout.start_checkout(
                session, principal, checkout.configured_provider(settings),
                package_id=ids.decode(input.package_id, "CreditPackage", field="package_id"),
                user_id=None if input.user_id is None
                else ids.decode(input.user_id, "User", field="user_id"),
                success_url=input.success_url, cancel_url=input.cancel_url,
                lifetime=timedelta(minutes=settings.checkout_lifetime_minutes),
                allow_local_http=not settings.is_production,
                idempotency_key=input.idempotency_key)
            return CheckoutPayload(
                checkout_url=started.url,
                credit_transaction=CreditTransactionType.from_model(started.transaction))

        return await run_mutation(info, CheckoutPayload, action,
                                  fields={"package_id": ["input", "packageId"]})

    @strawberry.mutation(description="ADMIN offers a new credit package.")
    async def create_credit_package(
        self, info: Info, input: CreateCreditPackageInput
    ) -> CreditPackagePayload:
        async def action(session, principal):
            package = await packages.create_package(
                session, principal, name=input.name, credits=input.credits,
                price_cents=input.price_cents, validity_days=input.validity_days)
            return CreditPackagePayload(credit_package=CreditPackageType.from_model(package))

        return await run_mutation(info, CreditPackagePayload, action)

    @strawberry.mutation(description="ADMIN renames, reprices or retires a credit package.")
    async def update_credit_package(
        self, info: Info, input: UpdateCreditPackageInput
    ) -> CreditPackagePayload:
        async def action(session, principal):
            package = await packages.update_package(
                session, principal, ids.decode(input.id, "CreditPackage", field="package_id"),
                given_changes(input))
            return CreditPackagePayload(credit_package=CreditPackageType.from_model(package))

        return await run_mutation(info, CreditPackagePayload, action,
                                  fields={"package_id": ["input", "id"]})

    @strawberry.mutation(description="STAFF/ADMIN record a client's purchase, paid or PENDING.")
    async def purchase_credits(
        self, info: Info, input: PurchaseCreditsInput
    ) -> CreditTransactionPayload:
        async def action(session, principal):
            user_pk = (None if input.user_id is None
                       else ids.decode(input.user_id, "User", field="user_id"))
            posting = await service.purchase_credits(
                session,
                principal,
                user_id=user_pk,
                credits=input.credits,
                amount_paid_cents=input.amount_paid_cents,
                currency=input.currency,
                payment_reference=input.payment_reference,
                status=input.status or TransactionStatus.COMPLETED,
                idempotency_key=input.idempotency_key,
            )
            return CreditTransactionPayload.from_posting(posting)

        return await run_mutation(info, CreditTransactionPayload, action)

    @strawberry.mutation(description="Credit a PENDING purchase once paid (STAFF/ADMIN), once.")
    async def complete_credit_purchase(
        self, info: Info, input: SettleCreditPurchaseInput
    ) -> CreditTransactionPayload:
        return await _settle(info, input, service.complete_purchase)

    @strawberry.mutation(description="Mark a PENDING purchase FAILED (STAFF/ADMIN), uncredited.")
    async def fail_credit_purchase(
        self, info: Info, input: SettleCreditPurchaseInput
    ) -> CreditTransactionPayload:
        return await _settle(info, input, service.fail_purchase)

    @strawberry.mutation(description="ADMIN adds or removes credits, with a reason.")
    async def adjust_credits(
        self, info: Info, input: AdjustCreditsInput
    ) -> CreditTransactionPayload:
        async def action(session, principal):
            user_pk = ids.decode(input.user_id, "User", field="user_id")
            posting = await service.adjust_credits(
                session,
                principal,
                user_id=user_pk,
                amount=input.amount,
                reason=input.reason,
                expires_at=input.expires_at,
                idempotency_key=input.idempotency_key,
            )
            return CreditTransactionPayload.from_posting(posting)

        return await run_mutation(info, CreditTransactionPayload, action)


async def _settle(info: Info, input: SettleCreditPurchaseInput, settle) -> CreditTransactionPayload:
    """Completes or fails a PENDING purchase: `settle` is the service's one or the other."""

    async def action(session, principal):
        transaction_pk = ids.decode(input.transaction_id, "CreditTransaction",
                                    field="transaction_id")
        posting = await settle(session, principal, transaction_pk,
                               failure_reason=input.failure_reason)
        return CreditTransactionPayload.from_posting(posting)

    return await run_mutation(info, CreditTransactionPayload, action)
