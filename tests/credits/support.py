"""Helpers for the credit tests: ledger calls in their own committed transactions, and checks."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from app.auth import Principal
from app.credits import invariants, ledger, repository
from app.credits.ledger import Posting
from app.credits.models import CreditBalance, CreditLot, CreditTransaction
from app.db import Database
from tests.support import Member

NOW = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)


def principal_of(member: Member) -> Principal:
    return Principal(user_id=member.user.id, organization_id=member.user.organization_id,
                     role=member.user.role)


async def grant(db: Database, organization_id: int, user_id: int, credits: int, *,
                expires_at: datetime | None = None, now: datetime = NOW,
                pending: bool = False) -> Posting:
    """A purchase of `credits`, committed."""
    async with db.transaction(organization_id) as session:
        return await ledger.purchase(session, user_id=user_id, credits=credits,
                                     amount_paid_cents=credits * 1000, currency="USD", now=now,
                                     expires_at=expires_at, pending=pending)


async def debit(db: Database, organization_id: int, user_id: int, amount: int, *,
                now: datetime = NOW) -> Posting:
    async with db.transaction(organization_id) as session:
        return await ledger.debit(session, user_id=user_id, amount=amount, now=now)


async def balance_of(db: Database, organization_id: int, user_id: int) -> CreditBalance | None:
    async with db.transaction(organization_id, read_only=True) as session:
        return await repository.get_balance(session, user_id)


async def lots_of(db: Database, organization_id: int, user_id: int) -> list[CreditLot]:
    """The client's lots, oldest first."""
    async with db.transaction(organization_id, read_only=True) as session:
        return list(await session.scalars(
            select(CreditLot).where(CreditLot.user_id == user_id).order_by(CreditLot.id)))


async def entries_of(db: Database, organization_id: int, user_id: int) -> list[CreditTransaction]:
    """The client's ledger, oldest first."""
    async with db.transaction(organization_id, read_only=True) as session:
        return list(await session.scalars(
            select(CreditTransaction).where(CreditTransaction.user_id == user_id)
            .order_by(CreditTransaction.id)))


async def violations(db: Database, organization_id: int) -> list[str]:
    """Every broken ledger invariant of the organization (empty when all hold)."""
    async with db.transaction(organization_id, read_only=True) as session:
        return [str(violation) for violation in (await invariants.check(session)).violations]


def counters(balance: CreditBalance | None) -> dict[str, Any]:
    if balance is None:
        return {}
    return {"balance": balance.balance, "purchased": balance.lifetime_purchased,
            "used": balance.lifetime_used, "refunded": balance.lifetime_refunded,
            "expired": balance.lifetime_expired}
