"""Every job test ends by checking the ledger invariants (`check-ledger`) of its organizations."""

import pytest
from sqlalchemy import text

from tests.credits.support import violations


@pytest.fixture
async def org(tenants, db):
    tenant = await tenants.create()
    yield tenant
    assert await violations(db, tenant.id) == []


@pytest.fixture
async def other_org(tenants, db):
    tenant = await tenants.create()
    yield tenant
    assert await violations(db, tenant.id) == []


@pytest.fixture
async def empty_queue(db):
    """A job queue holding only what the test queues: every rule change anywhere queues a
    slot refresh, and earlier tests' pending jobs are not this test's to run."""
    async with db.engine.begin() as connection:
        await connection.execute(text(
            "UPDATE procrastinate_jobs SET status = 'cancelled' WHERE status = 'todo'"))
