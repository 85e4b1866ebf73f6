"""Reading credits: the `creditBalance` and `creditTransactions` queries, balances and ledger
entries by global ID (`node`), and User.creditBalance, which people's types leave to this domain.
"""

import strawberry

from app import global_ids as ids
from app.api.common import Connection
from app.api.context import Info
from app.api.credits.types import (
    CreditBalanceType,
    CreditPackageType,
    CreditTransactionType,
    TransactionStatusEnum,
    TransactionTypeEnum,
)
from app.api.nodes import node_resolver
from app.api.people.types import credit_balance_of_user
from app.credits import packages, service
from app.pagination import count

# ---- fields of User (see app/api/people/types.py) ---------------------------


@credit_balance_of_user.supply
async def user_credit_balance(info: Info, user_pk: int) -> CreditBalanceType | None:
    """`User.creditBalance`: the balance if the caller may see it, else null."""
    principal = await info.context.principal()
    if not service.can_see_credits_of(principal, user_pk):
        return None
    balance = await info.context.loaders.credit_balance.load(user_pk)
    if balance is None:
        balance = service.empty_balance(await info.context.loaders.user.load(user_pk))
    return CreditBalanceType.from_model(balance)


# ---- node resolvers ---------------------------------------------------------


@node_resolver("CreditBalance")
async def resolve_credit_balance(info: Info, user_pk: int) -> CreditBalanceType:
    principal = await info.context.principal()
    async with info.context.reading() as session:
        balance = await service.get_balance(session, principal, user_pk)
    return CreditBalanceType.from_model(balance)


@node_resolver("CreditPackage")
async def resolve_credit_package(info: Info, pk: int) -> CreditPackageType:
    principal = await info.context.principal()
    async with info.context.reading() as session:
        package = await packages.get_package(session, principal, pk)
    return CreditPackageType.from_model(package)


@node_resolver("CreditTransaction")
async def resolve_credit_transaction(info: Info, pk: int) -> CreditTransactionType:
    principal = await info.context.principal()
    async with info.context.reading() as session:
        entry = await service.get_transaction(session, principal, pk)
    return CreditTransactionType.from_model(entry)


# ---- operations -------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(description="Default: the caller's own balance.")
    async def credit_balance(
        self, info: Info, user_id: strawberry.ID | None = None
    ) -> CreditBalanceType:
        principal = await info.context.principal()
        user_pk = None if user_id is None else ids.decode(user_id, "User", field="user_id")
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
        user_pk = None if user_id is None else ids.decode(user_id, "User", field="user_id")
        async with info.context.reading() as session:
            page = await service.list_transactions(session, principal, user_id=user_pk, types=types,
                                                   statuses=statuses, first=first, after=after)

        async def total() -> int:
            async with info.context.reading() as session:
                statement = service.transactions_query(session, principal, user_id=user_pk,
                                                       types=types, statuses=statuses)
                return await count(session, statement)

        return Connection.from_page(page, CreditTransactionType.from_model, total)

    @strawberry.field(description="Active packages, cheapest first; ADMIN and STAFF may "
                                  "include inactive ones.")
    async def credit_packages(
        self, info: Info, include_inactive: bool | None = False
    ) -> list[CreditPackageType]:
        principal = await info.context.principal()
        async with info.context.reading() as session:
            found = await packages.list_packages(session, principal,
                                                 include_inactive=bool(include_inactive))
        return [CreditPackageType.from_model(package) for package in found]
