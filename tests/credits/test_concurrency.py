"""Concurrent writers over real, separate connections and committed transactions."""

import asyncio
import time

from app.credits import ledger
from app.errors import InsufficientCredits, InvalidStateTransition
from tests.credits.support import NOW, balance_of, counters, entries_of, grant, violations


async def test_fifty_concurrent_debits_of_one_against_ten_credits_exactly_ten_succeed(db, org):
    client = org.client.user
    await grant(db, org.id, client.id, 10)

    async def debit_one() -> bool:
        try:
            # Each attempt is its own transaction on its own pooled connection.
            async with db.transaction(org.id) as session:
                await ledger.debit(session, user_id=client.id, amount=1, now=NOW)
            return True
        except InsufficientCredits:
            return False

    started = time.perf_counter()
    outcomes = await asyncio.gather(*(debit_one() for _ in range(50)))
    elapsed = time.perf_counter() - started

    print(f"\n50 concurrent debit attempts in {elapsed * 1000:.0f} ms: "
          f"{50 / elapsed:.0f} attempts/s, {10 / elapsed:.0f} successful debits/s")
    assert outcomes.count(True) == 10
    assert counters(await balance_of(db, org.id, client.id)) == {
        "balance": 0, "purchased": 10, "used": 10, "refunded": 0, "expired": 0}
    assert len(await entries_of(db, org.id, client.id)) == 11
    assert await violations(db, org.id) == []


async def test_concurrent_settlements_of_one_pending_purchase_credit_it_once(db, org):
    client = org.client.user
    pending = await grant(db, org.id, client.id, 5, pending=True)

    async def complete() -> bool:
        try:
            async with db.transaction(org.id) as session:
                await ledger.complete_purchase(session, transaction_id=pending.transaction.id,
                                               now=NOW)
            return True
        except InvalidStateTransition:
            return False

    outcomes = await asyncio.gather(*(complete() for _ in range(10)))

    assert outcomes.count(True) == 1
    assert (await balance_of(db, org.id, client.id)).balance == 5
    assert await violations(db, org.id) == []


async def test_concurrent_refunds_of_one_debit_refund_it_once(db, org):
    client = org.client.user
    await grant(db, org.id, client.id, 3)
    async with db.transaction(org.id) as session:
        spent = await ledger.debit(session, user_id=client.id, amount=2, now=NOW)

    async def refund() -> bool:
        try:
            async with db.transaction(org.id) as session:
                await ledger.refund_debit(session, debit_id=spent.transaction.id, now=NOW)
            return True
        except Exception as error:  # noqa: BLE001 - the refusal's type is asserted below
            return type(error).__name__

    outcomes = await asyncio.gather(*(refund() for _ in range(10)))

    assert outcomes.count(True) == 1
    assert set(outcomes) - {True} == {"Conflict"}
    assert (await balance_of(db, org.id, client.id)).balance == 3
    assert await violations(db, org.id) == []
