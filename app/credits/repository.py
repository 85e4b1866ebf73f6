"""SQL for balances, ledger entries, lots and draws, always inside the session's tenant.

Lock order, kept by every writer so concurrent ones cannot deadlock: a pending
purchase's own row (settlement only), then the client's balance row, then the
client's lots in draw order (earliest expiry first, then id).
"""

from collections.abc import Hashable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app import driver_sql
from app.credits.models import (
    CreditBalance,
    CreditLot,
    CreditLotDraw,
    CreditTransaction,
    TransactionStatus,
    TransactionType,
)
from app.pagination import JsonPages, Page, PageRequest
from app.tenancy import current_organization_id

TRANSACTION_SORT_KEY = (CreditTransaction.created_at, CreditTransaction.id)

_REFRESH = {"populate_existing": True}

# ---- balances ---------------------------------------------------------------


async def get_balance(session: AsyncSession, user_id: int) -> CreditBalance | None:
    return await session.get(CreditBalance, (current_organization_id(session), user_id))


def balance_json_query(balance_json: ColumnElement[str]) -> Select:
    """The statement of `get_balance_json` for one selection: built once, by its plan."""
    return select(balance_json).where(
        CreditBalance.organization_id == bindparam("organization_id"),
        CreditBalance.user_id == bindparam("user_id"))


async def get_balance_json(session: AsyncSession, user_id: int,
                           statement: Select) -> str | None:
    """The JSON text of a user's stored balance, made by a `balance_json_query`."""
    return await driver_sql.scalar(session, statement, {
        "organization_id": current_organization_id(session), "user_id": user_id})


def ledger_json_pages(transaction_json: ColumnElement[str]) -> JsonPages:
    """The pages of `list_transactions_json` for one selection: built once, by its plan.
    A variant is which of user, types and statuses filter it."""

    def build(variant: Hashable) -> Select:
        by_user, by_types, by_statuses = variant
        return ledger_entries(
            bindparam("organization_id"),
            user_id=bindparam("user_id") if by_user else None,
            types=driver_sql.array_parameter("types", CreditTransaction.type)
            if by_types else None,
            statuses=driver_sql.array_parameter("statuses", CreditTransaction.status)
            if by_statuses else None)

    return JsonPages(build, TRANSACTION_SORT_KEY, transaction_json, descending=True)


async def get_ledger_json_page(
    session: AsyncSession, pages: JsonPages, request: PageRequest, *, user_id: int | None,
    types: Sequence[TransactionType] | None, statuses: Sequence[TransactionStatus] | None,
) -> Page[str]:
    """A page of the ledger entries `transactions_query` selects, as JSON text."""
    return await pages.fetch(
        session, (user_id is not None, bool(types), bool(statuses)), request,
        {"organization_id": current_organization_id(session), "user_id": user_id,
         "types": list(types or ()), "statuses": list(statuses or ())})


async def get_balances(session: AsyncSession, user_ids: Iterable[int]) -> list[CreditBalance]:
    statement = select(CreditBalance).where(
        CreditBalance.organization_id == current_organization_id(session),
        CreditBalance.user_id.in_(set(user_ids)),
    )
    return list(await session.scalars(statement))


async def lock_balance(session: AsyncSession, user_id: int) -> CreditBalance:
    """The client's balance row, created if missing, locked until the transaction ends."""
    organization_id = current_organization_id(session)
    # ON CONFLICT DO UPDATE (not DO NOTHING) so the row comes back locked either way.
    statement = (
        insert(CreditBalance)
        .values(organization_id=organization_id, user_id=user_id)
        .on_conflict_do_update(
            index_elements=[CreditBalance.organization_id, CreditBalance.user_id],
            set_={"balance": CreditBalance.balance},
        )
        .returning(CreditBalance)
    )
    return await session.scalar(statement, execution_options=_REFRESH)


async def add_to_balance(
    session: AsyncSession, user_id: int, amount: int, *, purchased: int = 0, refunded: int = 0
) -> CreditBalance:
    """Adds credits, creating the client's balance row on their first credit."""
    assert amount > 0
    values = {"balance": amount, "lifetime_purchased": purchased, "lifetime_refunded": refunded}
    statement = insert(CreditBalance).values(
        organization_id=current_organization_id(session), user_id=user_id, **values
    )
    statement = statement.on_conflict_do_update(
        index_elements=[CreditBalance.organization_id, CreditBalance.user_id],
        set_={
            **{name: getattr(CreditBalance, name) + getattr(statement.excluded, name)
               for name in values},
            "updated_at": func.now(),
        },
    ).returning(CreditBalance)
    return await session.scalar(statement, execution_options=_REFRESH)


# Built once with bind parameters: building this statement on each call cost more CPU
# than running it. The guard in the WHERE clause is what makes concurrent debits safe:
# the row lock serializes them, and each one re-checks the balance it finally sees.
_CHANGE_BALANCE = (
    update(CreditBalance)
    .where(
        CreditBalance.organization_id == bindparam("tenant"),
        CreditBalance.user_id == bindparam("client"),
        CreditBalance.balance + bindparam("amount", type_=Integer) >= 0,
    )
    .values(
        balance=CreditBalance.balance + bindparam("amount", type_=Integer),
        lifetime_purchased=CreditBalance.lifetime_purchased + bindparam("purchased", type_=Integer),
        lifetime_used=CreditBalance.lifetime_used + bindparam("used", type_=Integer),
        lifetime_refunded=CreditBalance.lifetime_refunded + bindparam("refunded", type_=Integer),
        lifetime_expired=CreditBalance.lifetime_expired + bindparam("expired", type_=Integer),
        updated_at=func.now(),
    )
    .returning(CreditBalance)
    # RETURNING refreshes the balance object in the session; without this SQLAlchemy would
    # also evaluate the WHERE clause in Python against every balance the session holds.
    .execution_options(synchronize_session=False)
)


async def change_balance(
    session: AsyncSession,
    user_id: int,
    amount: int,
    *,
    purchased: int = 0,
    used: int = 0,
    refunded: int = 0,
    expired: int = 0,
) -> CreditBalance | None:
    """Adds `amount` (signed) and the counters; None, changing nothing, if it would go below zero."""
    return await session.scalar(_CHANGE_BALANCE, {
        "tenant": current_organization_id(session), "client": user_id,
        "amount": amount, "purchased": purchased, "used": used, "refunded": refunded,
        "expired": expired,
    }, execution_options=_REFRESH)


# ---- ledger entries -----------------------------------------------------------


async def get_transaction(session: AsyncSession, transaction_id: int) -> CreditTransaction | None:
    return await session.get(CreditTransaction, (current_organization_id(session), transaction_id))


async def lock_transaction(session: AsyncSession, transaction_id: int) -> CreditTransaction | None:
    return await session.get(
        CreditTransaction,
        (current_organization_id(session), transaction_id),
        with_for_update=True,
        populate_existing=True,
    )


async def get_transactions(session: AsyncSession, ids: Iterable[int]) -> list[CreditTransaction]:
    statement = select(CreditTransaction).where(
        CreditTransaction.organization_id == current_organization_id(session),
        CreditTransaction.id.in_(set(ids)),
    )
    return list(await session.scalars(statement))


async def find_refund_of(session: AsyncSession, debit_id: int) -> CreditTransaction | None:
    statement = select(CreditTransaction).where(
        CreditTransaction.organization_id == current_organization_id(session),
        CreditTransaction.reverses_id == debit_id,
    )
    return await session.scalar(statement)


def transactions_query(
    session: AsyncSession,
    *,
    user_id: int | None,
    types: Sequence[TransactionType] | None,
    statuses: Sequence[TransactionStatus] | None,
) -> Select:
    return ledger_entries(current_organization_id(session), user_id=user_id,
                          types=list(types) if types else None,
                          statuses=list(statuses) if statuses else None)


def ledger_entries(organization_id: Any, *, user_id: Any = None, types: Any = None,
                   statuses: Any = None) -> Select:
    """The organization's ledger entries, filtered by whichever of user, types and statuses
    is given: each a value, or a bind parameter of a statement built once (the hot road)."""
    statement = select(CreditTransaction).where(
        CreditTransaction.organization_id == organization_id)
    if user_id is not None:
        statement = statement.where(CreditTransaction.user_id == user_id)
    if types is not None:
        statement = statement.where(driver_sql.one_of(CreditTransaction.type, types))
    if statuses is not None:
        statement = statement.where(driver_sql.one_of(CreditTransaction.status, statuses))
    return statement


# ---- lots and draws -------------------------------------------------------------

_DRAW_ORDER = (CreditLot.expires_at.asc().nulls_last(), CreditLot.id)


_LOCK_OPEN_LOTS = (
    select(CreditLot)
    .where(
        CreditLot.organization_id == bindparam("organization_id"),
        CreditLot.user_id == bindparam("user_id"),
        CreditLot.remaining > 0,
    )
    .order_by(*_DRAW_ORDER)
    .with_for_update()
)


async def lock_open_lots(session: AsyncSession, user_id: int) -> list[CreditLot]:
    """The client's lots with credits left, in draw order, locked in that order."""
    parameters = {"organization_id": current_organization_id(session), "user_id": user_id}
    return list(await session.scalars(_LOCK_OPEN_LOTS, parameters, execution_options=_REFRESH))


async def lock_lots(session: AsyncSession, lot_ids: Iterable[int]) -> list[CreditLot]:
    statement = (
        select(CreditLot)
        .where(
            CreditLot.organization_id == current_organization_id(session),
            CreditLot.id.in_(set(lot_ids)),
        )
        .order_by(*_DRAW_ORDER)
        .with_for_update()
    )
    return list(await session.scalars(statement, execution_options=_REFRESH))


async def users_with_lots_due(session: AsyncSession, now: datetime) -> list[int]:
    """Clients holding credits in lots whose expiry has passed."""
    statement = (
        select(CreditLot.user_id)
        .where(
            CreditLot.organization_id == current_organization_id(session),
            CreditLot.remaining > 0,
            CreditLot.expires_at <= now,
        )
        .distinct()
        .order_by(CreditLot.user_id)
    )
    return list(await session.scalars(statement))


async def draws_of(session: AsyncSession, transaction_id: int) -> list[CreditLotDraw]:
    statement = select(CreditLotDraw).where(
        CreditLotDraw.organization_id == current_organization_id(session),
        CreditLotDraw.transaction_id == transaction_id,
    )
    return list(await session.scalars(statement))


# On the table, not the mapped class: a plain INSERT, without a unit-of-work flush (nothing
# reads draws back in the transaction that makes them).
_INSERT_DRAWS = insert(CreditLotDraw.__table__)


async def add_draws(session: AsyncSession, transaction_id: int, taken: dict[int, int]) -> None:
    """Records that `transaction_id` took `taken[lot_id]` credits from each lot."""
    if not taken:
        return
    organization_id = current_organization_id(session)
    await session.execute(_INSERT_DRAWS, [
        {"organization_id": organization_id, "transaction_id": transaction_id,
         "lot_id": lot_id, "amount": amount}
        for lot_id, amount in taken.items()
    ])


async def expiring_before(
    session: AsyncSession, user_ids: Iterable[int], before: datetime
) -> dict[int, int]:
    """Per client: credits still held in lots that expire before `before`."""
    statement = (
        select(CreditLot.user_id, func.sum(CreditLot.remaining))
        .where(
            CreditLot.organization_id == current_organization_id(session),
            CreditLot.user_id.in_(set(user_ids)),
            CreditLot.remaining > 0,
            CreditLot.expires_at < before,
        )
        .group_by(CreditLot.user_id)
    )
    return {user_id: int(total) for user_id, total in await session.execute(statement)}


# ---- appointments ---------------------------------------------------------------


async def open_debit_of_appointment(
    session: AsyncSession, appointment_id: int
) -> CreditTransaction | None:
    """The appointment's debit that no refund reverses yet; a reschedule may have replaced one."""
    refund = aliased(CreditTransaction)
    statement = (
        select(CreditTransaction)
        .where(
            CreditTransaction.organization_id == current_organization_id(session),
            CreditTransaction.appointment_id == appointment_id,
            CreditTransaction.type == TransactionType.APPOINTMENT_DEBIT,
            ~select(refund.id)
            .where(
                refund.organization_id == CreditTransaction.organization_id,
                refund.reverses_id == CreditTransaction.id,
            )
            .exists(),
        )
        .order_by(CreditTransaction.id.desc())
        .limit(1)
    )
    return await session.scalar(statement)


async def get_transactions_of_appointments(
    session: AsyncSession, appointment_ids: Iterable[int]
) -> list[CreditTransaction]:
    statement = (
        select(CreditTransaction)
        .where(
            CreditTransaction.organization_id == current_organization_id(session),
            CreditTransaction.appointment_id.in_(set(appointment_ids)),
        )
        .order_by(CreditTransaction.created_at, CreditTransaction.id)
    )
    return list(await session.scalars(statement))
