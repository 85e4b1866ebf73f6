"""Every notification test ends by checking the ledger invariants of its organizations."""

import pytest

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
