"""Inputs and payloads of the credit mutations: purchases, settling them, and adjustments."""

from datetime import datetime

import strawberry

from app.api.common import IDEMPOTENCY_KEY, USER_ERRORS
from app.api.credits.types import CreditBalanceType, CreditTransactionType, TransactionStatusEnum
from app.api.errors import UserErrorType
from app.credits.ledger import Posting
from app.credits.models import TransactionStatus


@strawberry.input(description="A purchase of credits, paid or awaiting payment.")
class PurchaseCreditsInput:
    user_id: strawberry.ID | None = strawberry.field(
        default=None, description="Default: the caller (STAFF/ADMIN record purchases for clients)."
    )
    credits: int = strawberry.field(description="Credits bought (positive).")
    amount_paid_cents: int = strawberry.field(
        description="Money paid, in minor units (cents) of `currency`."
    )
    currency: str | None = strawberry.field(
        default=None, description="ISO-4217; default: the organization's currency."
    )
    payment_reference: str | None = strawberry.field(
        default=None, description="The payment's reference (receipt, provider ID)."
    )
    status: TransactionStatusEnum | None = strawberry.field(
        default=TransactionStatus.COMPLETED,
        description="PENDING: payment not yet confirmed; balance changes on completion.",
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="A PENDING purchase to complete or fail.")
class SettleCreditPurchaseInput:
    transaction_id: strawberry.ID = strawberry.field(description="The PENDING purchase.")
    failure_reason: str | None = strawberry.field(
        default=None, description="Why the payment failed (failCreditPurchase only)."
    )


@strawberry.input(description="An ADMIN's correction of a client's credits.")
class AdjustCreditsInput:
    user_id: strawberry.ID = strawberry.field(description="The client.")
    amount: int = strawberry.field(description="Signed; the balance never goes below zero.")
    reason: str = strawberry.field(description="Why; kept on the ledger entry.")
    expires_at: datetime | None = strawberry.field(
        default=None, description="For added credits only; default: they never expire."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="The ledger entry and the new balance, or why not.")
class CreditTransactionPayload:
    credit_transaction: CreditTransactionType | None = strawberry.field(
        default=None, description="The entry as recorded; null when refused."
    )
    credit_balance: CreditBalanceType | None = strawberry.field(
        default=None, description="The client's balance after it."
    )
    user_errors: list[UserErrorType] = strawberry.field(
        default_factory=list, description=USER_ERRORS
    )

    @classmethod
    def from_posting(cls, posting: Posting) -> "CreditTransactionPayload":
        return cls(credit_transaction=CreditTransactionType.from_model(posting.transaction),
                   credit_balance=CreditBalanceType.from_model(posting.balance))
