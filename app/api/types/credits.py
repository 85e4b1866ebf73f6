"""GraphQL types and operations of credit balances and the credit ledger."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from app.api import ids
from app.api.context import Info
from app.api.errors import UserErrorType, run_mutation
from app.api.nodes import node_resolver
from app.api.types.common import IDEMPOTENCY_KEY, USER_ERRORS, Connection, Node
from app.api.types.people import UserType
from app.credits import service
from app.credits.ledger import Posting
from app.credits.models import CreditBalance, CreditTransaction, TransactionStatus, TransactionType
from app.pagination import count

if TYPE_CHECKING:
    from app.api.types.appointments import AppointmentType

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
    ) -> Annotated["AppointmentType", strawberry.lazy("app.api.types.appointments")] | None:
        from app.api.types.appointments import transaction_appointment

        if self.model.appointment_id is None:
            return None
        return await transaction_appointment(info, self.model.appointment_id)

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


async def user_credit_balance(info: Info, user_pk: int) -> CreditBalanceType | None:
    """`User.creditBalance`: the balance if the caller may see it, else null."""
    principal = await info.context.principal()
    if not service.can_see_credits_of(principal, user_pk):
        return None
    balance = await info.context.loaders.credit_balance.load(user_pk)
    if balance is None:
        balance = service.empty_balance(await info.context.loaders.user.load(user_pk))
    return CreditBalanceType.from_model(balance)


@node_resolver("CreditBalance")
async def resolve_credit_balance(info: Info, user_pk: int) -> CreditBalanceType:
    principal = await info.context.principal()
    async with info.context.reading() as session:
        balance = await service.get_balance(session, principal, user_pk)
    return CreditBalanceType.from_model(balance)


@node_resolver("CreditTransaction")
async def resolve_credit_transaction(info: Info, pk: int) -> CreditTransactionType:
    principal = await info.context.principal()
    async with info.context.reading() as session:
        entry = await service.get_transaction(session, principal, pk)
    return CreditTransactionType.from_model(entry)


# ---- inputs and payloads ----------------------------------------------------


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


# ---- operations -------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(description="Default: the caller's own balance.")
    async def credit_balance(
        self, info: Info, user_id: strawberry.ID | None = None
    ) -> CreditBalanceType:
        principal = await info.context.principal()
        user_pk = None if user_id is None else ids.decode(user_id, "User", field=["userId"])
        async with info.context.reading() as session:
            balance = await service.get_balance(session, principal, user_pk)
        return CreditBalanceType.from_model(balance)

    @strawberry.field(description="Ledger entries, newest first (`first` <= 100). Without "
                                  "`userId`: the caller's own, or everyone's for STAFF and ADMIN.")
    async def credit_transactions(
        self,
        info: Info,
        user_id: strawberry.ID | None = None,
        types: list[TransactionTypeEnum] | None = None,
        statuses: list[TransactionStatusEnum] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[CreditTransactionType]:
        principal = await info.context.principal()
        user_pk = None if user_id is None else ids.decode(user_id, "User", field=["userId"])
        async with info.context.reading() as session:
            page = await service.list_transactions(session, principal, user_id=user_pk, types=types,
                                                   statuses=statuses, first=first, after=after)

        async def total() -> int:
            async with info.context.reading() as session:
                statement = service.transactions_query(session, principal, user_id=user_pk,
                                                       types=types, statuses=statuses)
                return await count(session, statement)

        return Connection.from_page(page, CreditTransactionType.from_model, total)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="STAFF/ADMIN record a client's purchase, paid or PENDING.")
    async def purchase_credits(
        self, info: Info, input: PurchaseCreditsInput
    ) -> CreditTransactionPayload:
        async def action(session, principal):
            user_pk = (None if input.user_id is None
                       else ids.decode(input.user_id, "User", field=["input", "userId"]))
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
        async def action(session, principal):
            transaction_pk = ids.decode(input.transaction_id, "CreditTransaction",
                                        field=["input", "transactionId"])
            posting = await service.complete_purchase(session, principal, transaction_pk,
                                                      failure_reason=input.failure_reason)
            return CreditTransactionPayload.from_posting(posting)

        return await run_mutation(info, CreditTransactionPayload, action)

    @strawberry.mutation(description="Mark a PENDING purchase FAILED (STAFF/ADMIN), uncredited.")
    async def fail_credit_purchase(
        self, info: Info, input: SettleCreditPurchaseInput
    ) -> CreditTransactionPayload:
        async def action(session, principal):
            transaction_pk = ids.decode(input.transaction_id, "CreditTransaction",
                                        field=["input", "transactionId"])
            posting = await service.fail_purchase(session, principal, transaction_pk,
                                                  failure_reason=input.failure_reason)
            return CreditTransactionPayload.from_posting(posting)

        return await run_mutation(info, CreditTransactionPayload, action)

    @strawberry.mutation(description="ADMIN adds or removes credits, with a reason.")
    async def adjust_credits(
        self, info: Info, input: AdjustCreditsInput
    ) -> CreditTransactionPayload:
        async def action(session, principal):
            user_pk = ids.decode(input.user_id, "User", field=["input", "userId"])
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
