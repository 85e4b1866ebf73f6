"""Inputs and payloads of the credit mutations: purchases, settling them, and adjustments."""

from datetime import datetime

import strawberry

from app.api.common import IDEMPOTENCY_KEY, USER_ERRORS
from app.api.credits.types import (
    CreditBalanceType,
    CreditPackageType,
    CreditTransactionType,
    TransactionStatusEnum,
)
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


@strawberry.input(description="A new credit package, offered at once.")
class CreateCreditPackageInput:
    name: str = strawberry.field(description="1 to 100 characters.")
    credits: int = strawberry.field(description="Credits a purchase adds (1 to 100000).")
    price_cents: int = strawberry.field(
        description="The price in minor units of the organization's currency (0 or more).")
    validity_days: int | None = strawberry.field(
        default=None, description="Days the credits stay valid (1 to 3650); null: the "
                                  "organization's creditExpiryDays.")


@strawberry.input(description="Changes to a credit package; what is left out stays as it is.")
class UpdateCreditPackageInput:
    id: strawberry.ID = strawberry.field(description="The package.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="1 to 100 characters.")
    price_cents: int | None = strawberry.field(
        default=strawberry.UNSET, description="For checkouts started from now on.")
    validity_days: int | None = strawberry.field(
        default=strawberry.UNSET, description="null: the organization's creditExpiryDays.")
    active: bool | None = strawberry.field(
        default=strawberry.UNSET, description="false retires the package; true offers it again.")


@strawberry.type(description="The package made or changed, or why not.")
class CreditPackagePayload:
    credit_package: CreditPackageType | None = strawberry.field(
        default=None, description="The package as saved; null when refused.")
    user_errors: list[UserErrorType] = strawberry.field(
        default_factory=list, description=USER_ERRORS
    )


@strawberry.input(description="Buying a credit package online.")
class StartCheckoutInput:
    package_id: strawberry.ID = strawberry.field(description="An active, priced package.")
    success_url: str = strawberry.field(description=(
        "Where the payment provider sends the buyer afterwards (https, or http on "
        "localhost in development)."))
    cancel_url: str = strawberry.field(description="Where the buyer goes if they do not pay.")
    user_id: strawberry.ID | None = strawberry.field(
        default=None, description="The client who buys; default: the caller (STAFF and ADMIN "
                                  "start checkouts for clients).")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description=(
    "`checkoutUrl` is the payment provider's hosted page. `creditTransaction` is the PENDING "
    "purchase that the provider's signed webhook completes or fails."))
class CheckoutPayload:
    checkout_url: str | None = strawberry.field(
        default=None, description="Send the buyer here to pay; null when refused.")
    credit_transaction: CreditTransactionType | None = strawberry.field(
        default=None, description="The PENDING purchase; null when refused.")
    user_errors: list[UserErrorType] = strawberry.field(
        default_factory=list, description=USER_ERRORS
    )
