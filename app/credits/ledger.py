"""The ledger: every movement of credits, as booking, jobs and the credit service call it.

No permission checks here (see `app.credits.service`); each function is one
step inside the caller's transaction, and a balance never changes without
its ledger entries in that same transaction. Rules: docs/rules.md: credits.

Lots: each completed purchase and each positive adjustment is a lot. A debit
(or negative adjustment) draws from the client's unexpired lots, earliest
expiry first and never-expiring lots last, and records its draws. A refund
returns exactly those draws to exactly those lots. If a lot has passed its
expiry by then, the returned credits expire at once (an EXPIRATION entry in
the same transaction): a credit never outlives its lot's date, so booking
and cancelling cannot stretch an expiry.

Lots whose date has passed are expired by `expire_lots` (the hourly job),
and also by a debit or refund of the same client before it draws, so a
debit never spends credits that are past their date.

Every movement but a booking's debit records its webhook event here (credits.purchased,
.purchase_completed, .purchase_failed, .adjusted, .refunded, .expired), in the same
transaction; a booking is told by appointment.booked.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.credits import events, repository
from app.credits.models import (
    CreditBalance,
    CreditLot,
    CreditTransaction,
    TransactionStatus,
    TransactionType,
)
from app.db import flush_or_raise
from app.errors import Conflict, InsufficientCredits, InvalidStateTransition, NotFound

COMPLETED = TransactionStatus.COMPLETED
PENDING = TransactionStatus.PENDING
FAILED = TransactionStatus.FAILED


@dataclass(frozen=True, slots=True)
class Posting:
    """A ledger entry and the client's balance right after it."""

    transaction: CreditTransaction
    balance: CreditBalance


# ---- purchases ----------------------------------------------------------------


async def purchase(
    session: AsyncSession,
    *,
    user_id: int,
    credits: int,
    amount_paid_cents: int,
    currency: str,
    now: datetime,
    expires_at: datetime | None,
    pending: bool = False,
    payment_reference: str | None = None,
    created_by_id: int | None = None,
    description: str | None = None,
) -> Posting:
    """Records a purchase: credited now, or PENDING until `complete_purchase` / `fail_purchase`."""
    entry = CreditTransaction(
        user_id=user_id,
        type=TransactionType.PURCHASE,
        status=PENDING if pending else COMPLETED,
        amount=credits,
        amount_paid_cents=amount_paid_cents,
        currency=currency,
        payment_reference=payment_reference,
        expires_at=expires_at,
        created_by_id=created_by_id,
        description=description or f"Purchase of {credits} credits",
        processed_at=None if pending else now,
    )
    if pending:
        session.add(entry)
        await session.flush()
        posting = Posting(entry, await repository.lock_balance(session, user_id))
    else:
        posting = await _grant(session, entry, now=now, purchased=credits)
    return await _told(session, events.PURCHASED, posting, now)


async def complete_purchase(
    session: AsyncSession, *, transaction_id: int, now: datetime
) -> Posting:
    """Credits a PENDING purchase; settling twice is INVALID_STATE_TRANSITION."""
    entry = await _lock_pending_purchase(session, transaction_id)
    posting = await _grant(session, entry, now=now, purchased=entry.amount)
    return await _told(session, events.PURCHASE_COMPLETED, posting, now)


async def fail_purchase(
    session: AsyncSession, *, transaction_id: int, now: datetime, failure_reason: str | None
) -> Posting:
    """Marks a PENDING purchase FAILED; it is never credited."""
    entry = await _lock_pending_purchase(session, transaction_id)
    entry.status = FAILED
    entry.processed_at = now
    entry.failure_reason = failure_reason
    await session.flush()
    posting = Posting(entry, await repository.lock_balance(session, entry.user_id))
    return await _told(session, events.PURCHASE_FAILED, posting, now)


async def _lock_pending_purchase(session: AsyncSession, transaction_id: int) -> CreditTransaction:
    # The row lock makes two concurrent settlements take turns; the second
    # then sees a settled entry and is refused.
    entry = await repository.lock_transaction(session, transaction_id)
    if entry is None or entry.type is not TransactionType.PURCHASE:
        raise NotFound("No such credit purchase.", field="transaction_id")
    if entry.status is not PENDING:
        raise InvalidStateTransition(
            f"This purchase is already {entry.status.value}; it can be settled only once.",
            field="transaction_id",
        )
    return entry


# ---- adjustments ----------------------------------------------------------------


async def adjust(
    session: AsyncSession,
    *,
    user_id: int,
    amount: int,
    reason: str,
    now: datetime,
    expires_at: datetime | None = None,
    created_by_id: int | None = None,
) -> Posting:
    """A signed ADMIN_ADJUSTMENT: positive grants a lot, negative draws like a debit."""
    entry = CreditTransaction(
        user_id=user_id,
        type=TransactionType.ADMIN_ADJUSTMENT,
        status=COMPLETED,
        amount=amount,
        expires_at=expires_at if amount > 0 else None,
        created_by_id=created_by_id,
        description=reason,
        processed_at=now,
    )
    if amount > 0:
        posting = await _grant(session, entry, now=now, purchased=amount)
    else:
        posting = await _take(session, entry, now=now, field="amount")
    return await _told(session, events.ADJUSTED, posting, now)


# ---- debits and refunds -----------------------------------------------------------


async def debit(
    session: AsyncSession,
    *,
    user_id: int,
    amount: int,
    now: datetime,
    appointment_id: int | None = None,
    created_by_id: int | None = None,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Posting:
    """Takes `amount` credits for an appointment; INSUFFICIENT_CREDITS if they are not there."""
    entry = debit_entry(user_id=user_id, amount=amount, now=now, appointment_id=appointment_id,
                        created_by_id=created_by_id, description=description, metadata=metadata)
    return await _take(session, entry, now=now, field=None)


def debit_entry(
    *,
    user_id: int,
    amount: int,
    now: datetime,
    appointment_id: int | None = None,
    created_by_id: int | None = None,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> CreditTransaction:
    """The APPOINTMENT_DEBIT entry of `amount` credits, not yet written (see `debit`)."""
    if amount <= 0:
        raise ValueError("a debit takes a positive number of credits")
    return CreditTransaction(
        user_id=user_id,
        type=TransactionType.APPOINTMENT_DEBIT,
        status=COMPLETED,
        amount=-amount,
        appointment_id=appointment_id,
        created_by_id=created_by_id,
        description=description,
        metadata_=metadata or {},
        processed_at=now,
    )


def credits_short(wanted: int, *, field: str | None) -> InsufficientCredits:
    """The refusal of a movement that would take the balance below zero."""
    return InsufficientCredits(f"Not enough credits: {wanted} needed.", field=field)


async def refund_debit(
    session: AsyncSession,
    *,
    debit_id: int,
    now: datetime,
    created_by_id: int | None = None,
    description: str | None = None,
) -> Posting:
    """Returns a debit's credits to the lots it drew from (a CANCELLATION_REFUND), at most once."""
    debit_entry = await repository.get_transaction(session, debit_id)
    if debit_entry is None or debit_entry.type is not TransactionType.APPOINTMENT_DEBIT:
        raise NotFound("No such debit.")
    # The balance lock makes refunds of one client take turns, so the check
    # below sees any refund committed before us (the unique index backs it up).
    await repository.lock_balance(session, debit_entry.user_id)
    if await repository.find_refund_of(session, debit_id) is not None:
        raise Conflict("This debit has already been refunded.")
    draws = {draw.lot_id: draw.amount for draw in await repository.draws_of(session, debit_id)}
    lots = await repository.lock_lots(session, draws)
    for lot in lots:
        lot.remaining += draws[lot.id]
        # A lot that already expired holds nothing; it takes the credits back
        # only to expire them again below, so it is open for that moment.
        lot.expired_at = None
    refunded = -debit_entry.amount
    balance = await repository.change_balance(
        session, debit_entry.user_id, refunded, refunded=refunded
    )
    entry = CreditTransaction(
        user_id=debit_entry.user_id,
        type=TransactionType.CANCELLATION_REFUND,
        status=COMPLETED,
        amount=refunded,
        balance_after=balance.balance,
        reverses_id=debit_id,
        appointment_id=debit_entry.appointment_id,
        created_by_id=created_by_id,
        description=description,
        processed_at=now,
    )
    session.add(entry)
    await flush_or_raise(session, {
        "credit_transactions_reverses_key": Conflict("This debit has already been refunded.")})
    await events.posted(session, events.REFUNDED, entry, balance, at=now)
    # Credits returned to a lot already past its date expire now (see the module doc).
    balance = await _expire(session, debit_entry.user_id, [lot for lot in lots if _due(lot, now)],
                            now=now) or balance
    return Posting(entry, balance)


# ---- expiry -------------------------------------------------------------------------


async def expire_lots(session: AsyncSession, *, now: datetime) -> int:
    """Removes the remainder of every lot of the organization past its expiry; returns the credits.

    Running it twice does no harm: an expired lot has nothing left.
    """
    expired = 0
    for user_id in await repository.users_with_lots_due(session, now):
        balance = await repository.lock_balance(session, user_id)
        before = balance.balance
        lots = [lot for lot in await repository.lock_open_lots(session, user_id) if _due(lot, now)]
        balance = await _expire(session, user_id, lots, now=now) or balance
        expired += before - balance.balance
    return expired


async def _expire(
    session: AsyncSession, user_id: int, lots: list[CreditLot], *, now: datetime
) -> CreditBalance | None:
    """One EXPIRATION entry per lot for its remainder (lots locked by the caller)."""
    balance = None
    for lot in lots:
        if lot.remaining == 0:
            continue
        amount = lot.remaining
        balance = await repository.change_balance(session, user_id, -amount, expired=amount)
        if balance is None:
            raise AssertionError(f"ledger invariant broken: lot {lot.id} exceeds the balance")
        entry = CreditTransaction(
            user_id=user_id,
            type=TransactionType.EXPIRATION,
            status=COMPLETED,
            amount=-amount,
            balance_after=balance.balance,
            expires_at=lot.expires_at,
            description=f"Expiry of {amount} credits granted by transaction "
                        f"{lot.source_transaction_id}",
            processed_at=now,
        )
        session.add(entry)
        lot.remaining = 0
        lot.expired_at = now
        await session.flush()
        await repository.add_draws(session, entry.id, {lot.id: amount})
        await events.posted(session, events.EXPIRED, entry, balance, at=now)
    return balance


async def _told(session: AsyncSession, event_type: str, posting: Posting,
                now: datetime) -> Posting:
    """The posting, once its webhook event is recorded."""
    await events.posted(session, event_type, posting.transaction, posting.balance, at=now)
    return posting


def _due(lot: CreditLot, now: datetime) -> bool:
    return lot.expires_at is not None and lot.expires_at <= now


# ---- the two movements every entry is made of ---------------------------------------


async def _grant(
    session: AsyncSession, entry: CreditTransaction, *, now: datetime, purchased: int
) -> Posting:
    """Completes an entry (new, or a PENDING purchase) and credits its amount as a new lot."""
    balance = await repository.add_to_balance(session, entry.user_id, entry.amount,
                                              purchased=purchased)
    # Set only now: a settled entry must not be flushed before its balance_after is known.
    entry.status = COMPLETED
    entry.processed_at = now
    entry.balance_after = balance.balance
    session.add(entry)
    await session.flush()
    lot = CreditLot(
        user_id=entry.user_id,
        source_transaction_id=entry.id,
        original_amount=entry.amount,
        remaining=entry.amount,
        expires_at=entry.expires_at,
    )
    session.add(lot)
    await session.flush()
    if _due(lot, now):  # e.g. a pending purchase settled after its expiry date
        balance = await _expire(session, entry.user_id, [lot], now=now) or balance
    return Posting(entry, balance)


async def _take(
    session: AsyncSession, entry: CreditTransaction, *, now: datetime, field: str | None
) -> Posting:
    """Takes a COMPLETED entry's negative amount from the client's lots, earliest expiry first."""
    wanted = -entry.amount
    # Guarded: waits for any other writer of this balance, then refuses to go below zero.
    balance = await repository.change_balance(session, entry.user_id, entry.amount, used=wanted)
    if balance is None:
        raise credits_short(wanted, field=field)
    lots = await repository.lock_open_lots(session, entry.user_id)
    taken: dict[int, int] = {}
    missing = wanted
    for lot in lots:
        if missing == 0:
            break
        if not _due(lot, now):
            taken[lot.id] = min(lot.remaining, missing)
            missing -= taken[lot.id]
    if missing:
        # The balance still counted credits past their date that no job has expired
        # yet. Undo the guarded update, so a caller that goes on has changed nothing.
        await repository.change_balance(session, entry.user_id, wanted, used=-wanted)
        raise InsufficientCredits(f"Not enough unexpired credits: {wanted} needed.", field=field)
    for lot in lots:
        lot.remaining -= taken.get(lot.id, 0)
    entry.balance_after = balance.balance
    session.add(entry)
    await session.flush()
    await repository.add_draws(session, entry.id, taken)
    due = [lot for lot in lots if _due(lot, now)]
    balance = await _expire(session, entry.user_id, due, now=now) or balance
    return Posting(entry, balance)
