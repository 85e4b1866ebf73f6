"""`creditBalance` and `creditTransactions` as compiled queries (app/api/compiled.py)."""

from typing import Any

from app import global_ids as ids
from app import json_sql
from app.api.compiled import (
    Compiler,
    HandBack,
    RootRun,
    Selected,
    Shape,
    compile_connection,
    fragment,
    root_compiler,
    shape,
)
from app.api.context import Context
from app.credits import repository, service
from app.credits.models import CreditBalance, CreditTransaction, TransactionStatus, TransactionType

shape("CreditBalance", Shape(
    table=CreditBalance.__table__, global_id="CreditBalance", global_id_column="user_id",
    columns={"balance": "balance", "lifetimePurchased": "lifetime_purchased",
             "lifetimeUsed": "lifetime_used", "lifetimeRefunded": "lifetime_refunded",
             "lifetimeExpired": "lifetime_expired", "updatedAt": "updated_at"},
    relations={"user": ("user_id", "User")},
))
# `appointment` and `createdBy` have rules of their own: the general road's.
shape("CreditTransaction", Shape(
    table=CreditTransaction.__table__, global_id="CreditTransaction",
    columns={"type": "type", "status": "status", "amount": "amount",
             "balanceAfter": "balance_after", "amountPaidCents": "amount_paid_cents",
             "currency": "currency", "paymentReference": "payment_reference",
             "expiresAt": "expires_at", "description": "description",
             "failureReason": "failure_reason", "createdAt": "created_at",
             "processedAt": "processed_at"},
    relations={"user": ("user_id", "User")},
))


def _user_pk(arguments: dict[str, Any]) -> int | None:
    user_id = arguments.get("userId")
    return None if user_id is None else ids.decode(user_id, "User", field="user_id")


@root_compiler("creditBalance")
def compile_credit_balance(compiler: Compiler, selected: Selected) -> RootRun:
    statement = repository.balance_json_query(json_sql.row_json(
        compiler.projection(selected, "CreditBalance"), CreditBalance.__table__))

    async def run(context: Context, arguments: dict[str, Any]) -> Any:
        principal = await context.principal()
        async with context.reading() as session:
            answer = await service.get_balance_json(session, principal, _user_pk(arguments),
                                                    statement)
        if answer is None:
            raise HandBack  # never had credits: the zero balance is made, not stored
        return fragment(answer)

    return run


@root_compiler("creditTransactions")
def compile_credit_transactions(compiler: Compiler, selected: Selected) -> RootRun:
    projection, connection = compile_connection(compiler, selected, "CreditTransaction")
    pages = repository.ledger_json_pages(json_sql.row_json(projection,
                                                           CreditTransaction.__table__))

    async def run(context: Context, arguments: dict[str, Any]) -> Any:
        principal = await context.principal()
        types, statuses = arguments.get("types"), arguments.get("statuses")
        async with context.reading() as session:
            page = await service.list_transactions_json(
                session, principal, pages, user_id=_user_pk(arguments),
                types=None if types is None else [TransactionType(t) for t in types],
                statuses=None if statuses is None else [TransactionStatus(s) for s in statuses],
                first=arguments.get("first"), after=arguments.get("after"))
        return connection(page)

    return run
