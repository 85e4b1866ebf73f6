"""Every appointment test ends by checking the ledger invariants of its organization."""

import pytest

from tests.credits.support import violations


@pytest.fixture
async def org(tenants, db):
    """The shared `org`, plus a check of every ledger invariant once the test is done."""
    tenant = await tenants.create()
    yield tenant
    assert await violations(db, tenant.id) == []
