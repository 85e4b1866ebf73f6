"""Random sequences of ledger operations against a plain Python model of the rules.

After every step the database must agree with the model (balance, counters,
each lot's remainder) and every invariant of docs/rules.md: credits must hold.

The state machine is synchronous, so it runs the ledger on its own event loop
and its own small connection pool.
"""

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import hypothesis
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from app.auth import Role
from app.credits import ledger
from app.db import Database
from app.errors import Conflict, InsufficientCredits, InvalidStateTransition
from app.people import service as people
from tests.credits.support import NOW, balance_of, counters, lots_of, violations
from tests.support import TenantFactory

expiries = st.one_of(st.none(), st.integers(min_value=1, max_value=96))  # hours from now


@dataclass
class ModelLot:
    source_id: int  # the grant's transaction id: how model and database lots are matched
    remaining: int
    expires_at: datetime | None

    def due(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass
class LedgerModel:
    """The rules of docs/rules.md: credits in plain Python, one client."""

    lots: list[ModelLot] = field(default_factory=list)
    purchased: int = 0
    used: int = 0
    refunded: int = 0
    expired: int = 0

    @property
    def balance(self) -> int:
        return self.purchased - self.used + self.refunded - self.expired

    def grant(self, source_id: int, amount: int, expires_at: datetime | None, now: datetime):
        self.purchased += amount
        lot = ModelLot(source_id, amount, expires_at)
        self.lots.append(lot)
        self.expire([lot], now)

    def take(self, amount: int, now: datetime) -> dict[int, int] | None:
        """Draws earliest expiry first; None (and no change) if the credits are not there."""
        live = sorted((lot for lot in self.lots if lot.remaining and not lot.due(now)),
                      key=lambda lot: (lot.expires_at is None, lot.expires_at or now,
                                       self.lots.index(lot)))
        if amount > self.balance or amount > sum(lot.remaining for lot in live):
            return None
        draws: dict[int, int] = {}
        for lot in live:
            taken = min(lot.remaining, amount - sum(draws.values()))
            if taken:
                draws[lot.source_id] = taken
                lot.remaining -= taken
        self.used += amount
        self.expire(self.lots, now)
        return draws

    def give_back(self, draws: dict[int, int], now: datetime) -> None:
        touched = [lot for lot in self.lots if lot.source_id in draws]
        for lot in touched:
            lot.remaining += draws[lot.source_id]
        self.refunded += sum(draws.values())
        self.expire(touched, now)

    def expire(self, lots: list[ModelLot], now: datetime) -> None:
        for lot in lots:
            if lot.due(now) and lot.remaining:
                self.expired += lot.remaining
                lot.remaining = 0


class LedgerMachine(RuleBasedStateMachine):
    # Set by the test: the loop, the database and the organization to work in.
    loop: asyncio.AbstractEventLoop
    db: Database
    organization_id: int

    def __init__(self) -> None:
        super().__init__()
        self.model = LedgerModel()
        self.now = NOW
        self.pending: dict[int, tuple[int, datetime | None]] = {}
        self.settled: list[int] = []
        self.debits: dict[int, dict[int, int]] = {}
        self.refunded: list[int] = []
        self.client_id = self.run(self._new_client())

    def run(self, coroutine):
        return self.loop.run_until_complete(coroutine)

    async def _new_client(self) -> int:
        async with self.db.transaction(self.organization_id) as session:
            user = await people.register_user(
                session, email=f"{uuid.uuid4().hex}@model.example",
                first_name="Model", last_name="Client", phone="+1 555", role=Role.CLIENT,
                password=None)
            return user.id

    def in_transaction(self, step):
        """Runs `step(session)` in its own committed transaction; a refusal rolls it back."""

        async def run():
            async with self.db.transaction(self.organization_id) as session:
                return await step(session)

        return self.run(run())

    def expiry(self, hours: int | None) -> datetime | None:
        return None if hours is None else self.now + timedelta(hours=hours)

    @rule(credits=st.integers(1, 6), hours=expiries, pending=st.booleans())
    def purchase(self, credits, hours, pending):
        expires_at = self.expiry(hours)
        posting = self.in_transaction(lambda session: ledger.purchase(
            session, user_id=self.client_id, credits=credits, amount_paid_cents=credits * 100,
            currency="USD", now=self.now, expires_at=expires_at, pending=pending))
        if pending:
            self.pending[posting.transaction.id] = (credits, expires_at)
        else:
            self.model.grant(posting.transaction.id, credits, expires_at, self.now)

    @precondition(lambda self: self.pending)
    @rule(data=st.data(), complete=st.booleans())
    def settle(self, data, complete):
        transaction_id = data.draw(st.sampled_from(sorted(self.pending)))
        credits, expires_at = self.pending.pop(transaction_id)
        if complete:
            self.in_transaction(lambda session: ledger.complete_purchase(
                session, transaction_id=transaction_id, now=self.now))
            self.model.grant(transaction_id, credits, expires_at, self.now)
        else:
            self.in_transaction(lambda session: ledger.fail_purchase(
                session, transaction_id=transaction_id, now=self.now, failure_reason="declined"))
        self.settled.append(transaction_id)

    @precondition(lambda self: self.settled)
    @rule(data=st.data(), complete=st.booleans())
    def settle_again(self, data, complete):
        transaction_id = data.draw(st.sampled_from(self.settled))
        settle = ledger.complete_purchase if complete else ledger.fail_purchase
        extra = {} if complete else {"failure_reason": "again"}
        with pytest.raises(InvalidStateTransition):
            self.in_transaction(lambda session: settle(
                session, transaction_id=transaction_id, now=self.now, **extra))

    @rule(amount=st.integers(-6, 6).filter(bool), hours=expiries)
    def adjust(self, amount, hours):
        expires_at = self.expiry(hours) if amount > 0 else None

        def step(session):
            return ledger.adjust(session, user_id=self.client_id, amount=amount, reason="model",
                                 now=self.now, expires_at=expires_at)

        if amount > 0:
            posting = self.in_transaction(step)
            self.model.grant(posting.transaction.id, amount, expires_at, self.now)
        elif self.model.take(-amount, self.now) is None:
            with pytest.raises(InsufficientCredits):
                self.in_transaction(step)
        else:
            self.in_transaction(step)

    @rule(amount=st.integers(1, 5))
    def debit(self, amount):
        draws = self.model.take(amount, self.now)

        def step(session):
            return ledger.debit(session, user_id=self.client_id, amount=amount, now=self.now)

        if draws is None:
            with pytest.raises(InsufficientCredits):
                self.in_transaction(step)
        else:
            self.debits[self.in_transaction(step).transaction.id] = draws

    @precondition(lambda self: self.debits)
    @rule(data=st.data())
    def refund(self, data):
        debit_id = data.draw(st.sampled_from(sorted(self.debits)))
        step = lambda session: ledger.refund_debit(session, debit_id=debit_id, now=self.now)
        if debit_id in self.refunded:
            with pytest.raises(Conflict):
                self.in_transaction(step)
        else:
            self.in_transaction(step)
            self.model.give_back(self.debits[debit_id], self.now)
            self.refunded.append(debit_id)

    @rule(hours=st.integers(1, 48), run_job=st.booleans())
    def time_passes(self, hours, run_job):
        self.now += timedelta(hours=hours)
        if run_job:
            self.in_transaction(lambda session: ledger.expire_lots(session, now=self.now))
            self.model.expire(self.model.lots, self.now)

    @invariant()
    def database_agrees_with_the_model(self):
        balance = self.run(balance_of(self.db, self.organization_id, self.client_id))
        model = self.model
        expected = {"balance": model.balance, "purchased": model.purchased, "used": model.used,
                    "refunded": model.refunded, "expired": model.expired}
        assert counters(balance) == ({} if balance is None else expected)
        lots = self.run(lots_of(self.db, self.organization_id, self.client_id))
        assert {lot.source_transaction_id: lot.remaining for lot in lots} == {
            lot.source_id: lot.remaining for lot in model.lots}
        assert self.run(violations(self.db, self.organization_id)) == []


def test_random_ledger_histories_keep_every_invariant(database_url, settings):
    loop = asyncio.new_event_loop()
    db = Database(database_url, pool_size=2)
    try:
        tenant = loop.run_until_complete(TenantFactory(db, settings).create())
        LedgerMachine.loop, LedgerMachine.db = loop, db
        LedgerMachine.organization_id = tenant.id
        run_state_machine_as_test(LedgerMachine, settings=hypothesis.settings(
            max_examples=15, stateful_step_count=20, deadline=None,
            suppress_health_check=[hypothesis.HealthCheck.too_slow],
        ))
    finally:
        loop.run_until_complete(db.dispose())
        loop.close()
