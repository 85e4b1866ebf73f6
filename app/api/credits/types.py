"""Object types of credit balances and the credit ledger.

Credits builds on people (a balance and a ledger entry show their user), and appointments on
credits: CreditTransaction.appointment names its type lazily and is resolved by
app/api/appointments/queries.py, through `appointment_of_transaction` (see app/api/supplied.py).
"""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app import global_ids as ids
from app.api.common import Node
from app.api.context import Info
from app.api.people.types import UserType
from app.api.supplied import SuppliedResolver
from app.credits.models import (
    CreditBalance,
    CreditPackage,
    CreditTransaction,
    TransactionStatus,
    TransactionType,
)

if TYPE_CHECKING:
    from app.api.appointments.types import AppointmentType

# Supplied by app/api/appointments/queries.py.
appointment_of_transaction: SuppliedResolver[[Info, int], "AppointmentType | None"] = (
    SuppliedResolver("CreditTransaction.appointment")
)


TransactionTypeEnum = strawberry.enum(
    TransactionType, name="CreditTransactionType",
    description="Why credits moved: bought, spent on or refunded for an appointment, adjusted "
    "by an ADMIN, or expired.",
)
TransactionStatusEnum = strawberry.enum(
    TransactionStatus, name="CreditTransactionStatus",
    description="PENDING purchases await payment; only COMPLETED entries change the balance.",
)


@strawberry.type(name="CreditBalance", description=(
    "A client's prepaid credits. Its `id` is stable per client, so a client cache updates every "
    "query that shows the balance from a mutation payload's `creditBalance`."))
class CreditBalanceType(Node):
    balance: int = strawberry.field(description="Never negative.")
    lifetime_purchased: int = strawberry.field(description="Purchased plus added by adjustments.")
    lifetime_used: int = strawberry.field(description="Debited plus removed by adjustments.")
    lifetime_refunded: int = strawberry.field(description="Returned by cancellations.")
    lifetime_expired: int = strawberry.field(description="Lost to expiry.")
    updated_at: datetime = strawberry.field(description="When the balance last changed.")
    user_pk: Private[int]

    @classmethod
    def from_model(cls, balance: CreditBalance) -> "CreditBalanceType":
        return cls(
            id=ids.encode("CreditBalance", balance.user_id),
            balance=balance.balance,
            lifetime_purchased=balance.lifetime_purchased,
            lifetime_used=balance.lifetime_used,
            lifetime_refunded=balance.lifetime_refunded,
            lifetime_expired=balance.lifetime_expired,
            updated_at=balance.updated_at,
            user_pk=balance.user_id,
        )

    @strawberry.field(description="Whose credits.")
    async def user(self, info: Info) -> UserType:
        return UserType.from_model(await info.context.loaders.user.load(self.user_pk))

    @strawberry.field(
        description="Credits that expire before the given time (default: 30 days from now)."
    )
    async def expiring_before(self, info: Info, at: datetime | None = None) -> int:
        return await info.context.loaders.credits_expiring.load((self.user_pk, at))


@strawberry.type(name="CreditTransaction", description="An entry of the append-only credit ledger.")
class CreditTransactionType(Node):
    type: TransactionTypeEnum = strawberry.field(description="Why the credits moved.")
    status: TransactionStatusEnum = strawberry.field(
        description="Only COMPLETED entries count in the balance."
    )
    amount: int = strawberry.field(
        description="Signed: positive adds credits, negative removes them."
    )
    balance_after: int | None = strawberry.field(
        description="Balance right after this transaction completed; null while PENDING/FAILED."
    )
    amount_paid_cents: int | None = strawberry.field(
        description="For a purchase: the money paid, in minor units (cents)."
    )
    currency: str | None = strawberry.field(description="ISO-4217 code of amountPaidCents.")
    payment_reference: str | None = strawberry.field(
        description="For a purchase: the payment's reference (receipt, provider ID)."
    )
    expires_at: datetime | None = strawberry.field(
        description="For added credits: when the unused rest expires; null: never."
    )
    description: str | None = strawberry.field(description="A reason or note, for people.")
    failure_reason: str | None = strawberry.field(description="Why a FAILED purchase failed.")
    created_at: datetime = strawberry.field(description="When the entry was recorded.")
    processed_at: datetime | None = strawberry.field(
        description="When it completed or failed; null while PENDING."
    )
    model: Private[CreditTransaction]

    @classmethod
    def from_model(cls, entry: CreditTransaction) -> "CreditTransactionType":
        return cls(
            id=ids.encode("CreditTransaction", entry.id),
            type=entry.type,
            status=entry.status,
            amount=entry.amount,
            balance_after=entry.balance_after,
            amount_paid_cents=entry.amount_paid_cents,
            currency=entry.currency,
            payment_reference=entry.payment_reference,
            expires_at=entry.expires_at,
            description=entry.description,
            failure_reason=entry.failure_reason,
            created_at=entry.created_at,
            processed_at=entry.processed_at,
            model=entry,
        )

    @strawberry.field(description="Whose credits moved.")
    async def user(self, info: Info) -> UserType:
        return UserType.from_model(await info.context.loaders.user.load(self.model.user_id))

    @strawberry.field(description="The appointment this entry paid for or refunded.")
    async def appointment(
        self, info: Info
    ) -> Annotated["AppointmentType", strawberry.lazy("app.api.appointments.types")] | None:
        if self.model.appointment_id is None:
            return None
        return await appointment_of_transaction(info, self.model.appointment_id)

    @strawberry.field(description="For a refund: the debit it returns.")
    async def reverses(self, info: Info) -> "CreditTransactionType | None":
        if self.model.reverses_id is None:
            return None
        # The debit belongs to the same client, so whoever sees this entry sees it.
        debit = await info.context.loaders.credit_transaction.load(self.model.reverses_id)
        return CreditTransactionType.from_model(debit)

    @strawberry.field(
        description="Who caused the entry; null for the system (or hidden from clients)."
    )
    async def created_by(self, info: Info) -> UserType | None:
        creator_id = self.model.created_by_id
        principal = await info.context.principal()
        # Clients see their own name here, not which staff member acted.
        if creator_id is None or not (principal.is_staff_or_admin
                                      or creator_id == principal.user_id):
            return None
        return UserType.from_model(await info.context.loaders.user.load(creator_id))


@strawberry.type(name="CreditPackage", description=(
    "Credits the organization sells online, at a price in its currency. Retired packages "
    "(`active` false) are no longer offered; they are never deleted."))
class CreditPackageType(Node):
    name: str = strawberry.field(description="What the buyer sees, e.g. \"10 sessions\".")
    credits: int = strawberry.field(description="Credits a purchase of it adds.")
    price_cents: int = strawberry.field(description="The price, in minor units of `currency`.")
    currency: str = strawberry.field(description="ISO-4217: the organization's currency.")
    validity_days: int | None = strawberry.field(
        description="Days the credits stay valid; null: the organization's creditExpiryDays.")
    active: bool = strawberry.field(description="Offered for sale.")

    @classmethod
    def from_model(cls, package: CreditPackage) -> "CreditPackageType":
        return cls(id=ids.encode("CreditPackage", package.id), name=package.name,
                   credits=package.credits, price_cents=package.price_cents,
                   currency=package.currency, validity_days=package.validity_days,
                   active=package.active)
