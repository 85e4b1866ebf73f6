"""Fixtures of the job tests (the shared `org` fixtures check the ledger afterwards)."""

import pytest
from sqlalchemy import text


@pytest.fixture
async def empty_queue(db):
    """A job queue holding only what the test queues: every rule change anywhere queues a
    slot refresh, and earlier tests' pending jobs are not this test's to run."""
    async with db.engine.begin() as connection:
        await connection.execute(text(
            "UPDATE procrastinate_jobs SET status = 'cancelled' WHERE status = 'todo'"))
