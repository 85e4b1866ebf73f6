"""The ledger service: purchases and settlement, adjustments, debits, refunds and expiry."""

from datetime import timedelta

import pytest

from app.credits import ledger
from app.credits.models import TransactionStatus, TransactionType
from app.errors import Conflict, InsufficientCredits, InvalidStateTransition
from tests.credits.support import (
    NOW,
    balance_of,
    counters,
    debit,
    entries_of,
    grant,
    lots_of,
    violations,
)

DAY = timedelta(days=1)


async def test_completed_purchase_credits_a_lot_and_the_balance(db, org):
    client = org.client.user

    posting = await grant(db, org.id, client.id, 10, expires_at=NOW + 30 * DAY)

    assert posting.transaction.status is TransactionStatus.COMPLETED
    assert posting.transaction.balance_after == 10
    assert counters(await balance_of(db, org.id, client.id)) == {
        "balance": 10, "purchased": 10, "used": 0, "refunded": 0, "expired": 0}
    [lot] = await lots_of(db, org.id, client.id)
    assert (lot.original_amount, lot.remaining, lot.expires_at) == (10, 10, NOW + 30 * DAY)
    assert await violations(db, org.id) == []


async def test_pending_purchase_credits_nothing_until_completed(db, org):
    client = org.client.user
    pending = await grant(db, org.id, client.id, 5, pending=True)
    assert pending.transaction.status is TransactionStatus.PENDING
    assert pending.transaction.balance_after is None
    assert (await balance_of(db, org.id, client.id)).balance == 0
    assert await lots_of(db, org.id, client.id) == []

    async with db.transaction(org.id) as session:
        completed = await ledger.complete_purchase(
            session, transaction_id=pending.transaction.id, now=NOW + DAY)

    assert completed.transaction.status is TransactionStatus.COMPLETED
    assert completed.transaction.processed_at == NOW + DAY
    assert completed.balance.balance == 5
    assert completed.transaction.balance_after == 5
    assert await violations(db, org.id) == []


async def test_settling_a_pending_purchase_twice_is_refused(db, org):
    pending = await grant(db, org.id, org.client.user.id, 5, pending=True)
    async with db.transaction(org.id) as session:
        await ledger.complete_purchase(session, transaction_id=pending.transaction.id, now=NOW)

    for settle in (ledger.complete_purchase, ledger.fail_purchase):
        kwargs = {} if settle is ledger.complete_purchase else {"failure_reason": "late"}
        with pytest.raises(InvalidStateTransition):
            async with db.transaction(org.id) as session:
                await settle(session, transaction_id=pending.transaction.id, now=NOW, **kwargs)

    assert (await balance_of(db, org.id, org.client.user.id)).balance == 5


async def test_completing_a_failed_purchase_is_refused_and_it_is_never_credited(db, org):
    pending = await grant(db, org.id, org.client.user.id, 5, pending=True)
    async with db.transaction(org.id) as session:
        failed = await ledger.fail_purchase(session, transaction_id=pending.transaction.id,
                                            now=NOW, failure_reason="Card declined")
    assert failed.transaction.status is TransactionStatus.FAILED
    assert failed.transaction.failure_reason == "Card declined"

    with pytest.raises(InvalidStateTransition):
        async with db.transaction(org.id) as session:
            await ledger.complete_purchase(session, transaction_id=pending.transaction.id, now=NOW)

    assert (await balance_of(db, org.id, org.client.user.id)).balance == 0
    assert await lots_of(db, org.id, org.client.user.id) == []
    assert await violations(db, org.id) == []


async def test_debit_draws_the_earliest_expiring_lot_first_and_never_expiring_last(db, org):
    client = org.client.user
    await grant(db, org.id, client.id, 3)  # never expires
    await grant(db, org.id, client.id, 3, expires_at=NOW + 20 * DAY)
    await grant(db, org.id, client.id, 3, expires_at=NOW + 10 * DAY)

    await debit(db, org.id, client.id, 4)

    never, later, sooner = await lots_of(db, org.id, client.id)
    assert (sooner.remaining, later.remaining, never.remaining) == (0, 2, 3)
    assert (await balance_of(db, org.id, client.id)).balance == 5
    assert await violations(db, org.id) == []


async def test_debit_beyond_the_balance_is_insufficient_credits_and_changes_nothing(db, org):
    client = org.client.user
    await grant(db, org.id, client.id, 2)

    with pytest.raises(InsufficientCredits):
        await debit(db, org.id, client.id, 3)

    assert counters(await balance_of(db, org.id, client.id))["balance"] == 2
    assert [entry.type for entry in await entries_of(db, org.id, client.id)] == [
        TransactionType.PURCHASE]


async def test_expiry_removes_only_the_unspent_remainder_of_a_lot(db, org):
    client = org.client.user
    await grant(db, org.id, client.id, 5, expires_at=NOW + DAY)
    await grant(db, org.id, client.id, 2)
    await debit(db, org.id, client.id, 3)

    async with db.transaction(org.id) as session:
        expired = await ledger.expire_lots(session, now=NOW + 2 * DAY)

    assert expired == 2
    assert counters(await balance_of(db, org.id, client.id)) == {
        "balance": 2, "purchased": 7, "used": 3, "refunded": 0, "expired": 2}
    *_, expiration = await entries_of(db, org.id, client.id)
    assert (expiration.type, expiration.amount, expiration.balance_after) == (
        TransactionType.EXPIRATION, -2, 2)
    assert await violations(db, org.id) == []


async def test_expiring_twice_does_no_harm(db, org):
    client = org.client.user
    await grant(db, org.id, client.id, 5, expires_at=NOW + DAY)
    for _ in range(2):
        async with db.transaction(org.id) as session:
            await ledger.expire_lots(session, now=NOW + 2 * DAY)

    assert counters(await balance_of(db, org.id, client.id))["expired"] == 5
    assert [entry.type for entry in await entries_of(db, org.id, client.id)] == [
        TransactionType.PURCHASE, TransactionType.EXPIRATION]


async def test_a_debit_never_spends_credits_past_their_date(db, org):
    client = org.client.user
    await grant(db, org.id, client.id, 5, expires_at=NOW + DAY)
    await grant(db, org.id, client.id, 1)

    # The hourly job has not run yet: the balance still says 6.
    with pytest.raises(InsufficientCredits):
        await debit(db, org.id, client.id, 2, now=NOW + 2 * DAY)
    assert counters(await balance_of(db, org.id, client.id))["balance"] == 6

    posting = await debit(db, org.id, client.id, 1, now=NOW + 2 * DAY)

    # The debit took the good credit and expired the stale ones on the way.
    assert posting.balance.balance == 0
    assert counters(await balance_of(db, org.id, client.id)) == {
        "balance": 0, "purchased": 6, "used": 1, "refunded": 0, "expired": 5}
    assert await violations(db, org.id) == []


async def test_refund_returns_the_credits_to_the_lots_the_debit_drew_from(db, org):
    client = org.client.user
    await grant(db, org.id, client.id, 2, expires_at=NOW + 10 * DAY)
    await grant(db, org.id, client.id, 5, expires_at=NOW + 20 * DAY)
    spent = await debit(db, org.id, client.id, 3)
    await grant(db, org.id, client.id, 4, expires_at=NOW + 5 * DAY)

    async with db.transaction(org.id) as session:
        refund = await ledger.refund_debit(session, debit_id=spent.transaction.id, now=NOW)

    assert refund.transaction.type is TransactionType.CANCELLATION_REFUND
    assert refund.transaction.reverses_id == spent.transaction.id
    assert refund.transaction.amount == 3
    first, second, third = await lots_of(db, org.id, client.id)
    assert (first.remaining, second.remaining, third.remaining) == (2, 5, 4)
    assert counters(await balance_of(db, org.id, client.id)) == {
        "balance": 11, "purchased": 11, "used": 3, "refunded": 3, "expired": 0}
    assert await violations(db, org.id) == []


async def test_a_debit_is_refunded_at_most_once(db, org):
    client = org.client.user
    await grant(db, org.id, client.id, 3)
    spent = await debit(db, org.id, client.id, 2)
    async with db.transaction(org.id) as session:
        await ledger.refund_debit(session, debit_id=spent.transaction.id, now=NOW)

    with pytest.raises(Conflict):
        async with db.transaction(org.id) as session:
            await ledger.refund_debit(session, debit_id=spent.transaction.id, now=NOW)

    assert counters(await balance_of(db, org.id, client.id))["balance"] == 3


async def test_credits_refunded_into_a_lot_past_its_date_expire_at_once(db, org):
    client = org.client.user
    await grant(db, org.id, client.id, 2, expires_at=NOW + DAY)
    await grant(db, org.id, client.id, 1)
    spent = await debit(db, org.id, client.id, 2)

    async with db.transaction(org.id) as session:
        refund = await ledger.refund_debit(session, debit_id=spent.transaction.id,
                                           now=NOW + 2 * DAY)

    assert refund.transaction.amount == 2
    assert refund.transaction.balance_after == 3
    assert refund.balance.balance == 1
    entries = await entries_of(db, org.id, client.id)
    assert [(entry.type, entry.amount) for entry in entries[-2:]] == [
        (TransactionType.CANCELLATION_REFUND, 2), (TransactionType.EXPIRATION, -2)]
    expired_lot, _ = await lots_of(db, org.id, client.id)
    assert (expired_lot.remaining, expired_lot.expired_at) == (0, NOW + 2 * DAY)
    assert await violations(db, org.id) == []


async def test_refund_into_a_lot_the_expiry_job_already_closed(db, org):
    """Found by the stateful test: the lot's remainder had expired before the refund came."""
    client = org.client.user
    await grant(db, org.id, client.id, 4, expires_at=NOW + DAY)
    spent = await debit(db, org.id, client.id, 1)
    async with db.transaction(org.id) as session:
        await ledger.expire_lots(session, now=NOW + 2 * DAY)

    async with db.transaction(org.id) as session:
        refund = await ledger.refund_debit(session, debit_id=spent.transaction.id,
                                           now=NOW + 3 * DAY)

    assert (refund.transaction.amount, refund.balance.balance) == (1, 0)
    [lot] = await lots_of(db, org.id, client.id)
    assert (lot.remaining, lot.expired_at) == (0, NOW + 3 * DAY)
    assert counters(await balance_of(db, org.id, client.id)) == {
        "balance": 0, "purchased": 4, "used": 1, "refunded": 1, "expired": 4}
    assert await violations(db, org.id) == []


async def test_a_pending_purchase_completed_after_its_expiry_is_expired_at_once(db, org):
    client = org.client.user
    pending = await grant(db, org.id, client.id, 4, expires_at=NOW + DAY, pending=True)

    async with db.transaction(org.id) as session:
        completed = await ledger.complete_purchase(session, transaction_id=pending.transaction.id,
                                                   now=NOW + 2 * DAY)

    assert completed.balance.balance == 0
    assert counters(await balance_of(db, org.id, client.id))["expired"] == 4
    assert await violations(db, org.id) == []


async def test_positive_adjustment_is_a_lot_and_negative_draws_like_a_debit(db, org):
    client = org.client.user
    await grant(db, org.id, client.id, 2, expires_at=NOW + 5 * DAY)
    async with db.transaction(org.id) as session:
        await ledger.adjust(session, user_id=client.id, amount=3, reason="Goodwill",
                            expires_at=NOW + 2 * DAY, now=NOW)
        removed = await ledger.adjust(session, user_id=client.id, amount=-4, reason="Correction",
                                      now=NOW)

    assert removed.transaction.amount == -4
    assert removed.balance.balance == 1
    purchase_lot, adjustment_lot = await lots_of(db, org.id, client.id)
    assert (adjustment_lot.remaining, purchase_lot.remaining) == (0, 1)
    assert counters(await balance_of(db, org.id, client.id)) == {
        "balance": 1, "purchased": 5, "used": 4, "refunded": 0, "expired": 0}
    assert await violations(db, org.id) == []


async def test_a_negative_adjustment_cannot_take_the_balance_below_zero(db, org):
    client = org.client.user
    await grant(db, org.id, client.id, 2)
    with pytest.raises(InsufficientCredits):
        async with db.transaction(org.id) as session:
            await ledger.adjust(session, user_id=client.id, amount=-3, reason="Too much", now=NOW)
    assert counters(await balance_of(db, org.id, client.id))["balance"] == 2


async def test_invariant_check_reports_a_balance_that_disagrees_with_the_ledger(db, org):
    client = org.client.user
    await grant(db, org.id, client.id, 2)

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback):
        async with db.transaction(org.id) as session:
            from sqlalchemy import text

            from app.credits import invariants

            await session.execute(text(
                "UPDATE credit_balances SET balance = balance + 1 WHERE user_id = :user"),
                {"user": client.id})
            report = await invariants.check(session)
            assert sorted(violation.rule for violation in report.violations) == [
                "balance = credits left in unexpired lots", "balance = sum of COMPLETED amounts"]
            raise Rollback
