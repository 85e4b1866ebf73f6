"""Idempotency keys are kept 24 hours, then purged (docs/rules.md: idempotency; docs/operations.md: background jobs)."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text

from app import idempotency
from app.jobs import work
from tests.jobs.support import count_rows


async def test_keys_older_than_a_day_are_purged_in_their_organization_only(db, org, other_org):
    # Given a key in each organization, the first one 25 hours old
    for tenant in (org, other_org):
        async with db.transaction(tenant.id) as session:
            await idempotency.run_once(
                session, caller_id=tenant.admin.user.id, key="retry-me", operation="test",
                request={}, perform=_result, made=_Nothing)
    async with db.transaction(org.id) as session:
        await session.execute(text(
            "UPDATE idempotency_keys SET created_at = created_at - interval '25 hours'"))
    only = [org.id, other_org.id]

    # When the job runs, twice
    now = datetime.now(UTC)
    purged = [await work.purge_idempotency_keys(db, now=now, organization_ids=only)
              for _ in range(2)]

    # Then the old key is gone, and the other organization's recent key stays
    assert purged == [1, 0]
    assert await count_rows(db, org, "idempotency_keys") == 0
    assert await count_rows(db, other_org, "idempotency_keys") == 1


@dataclass(frozen=True)
class _Nothing:
    """A result with no objects in it."""


async def _result() -> _Nothing:
    return _Nothing()
