"""Changing credits: purchases (paid or PENDING), settling them, and an ADMIN's adjustments."""

import strawberry

from app.api import ids
from app.api.context import Info
from app.api.credits.inputs import (
    AdjustCreditsInput,
    CreditTransactionPayload,
    PurchaseCreditsInput,
    SettleCreditPurchaseInput,
)
from app.api.errors import run_mutation
from app.credits import service
from app.credits.models import TransactionStatus


@strawberry.type
class Mutation:
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
