"""DATABASE_READ_URL: read-only queries go to the replica, writes never do.

The "replica" is the test database itself under another application_name, so each
statement can say which engine ran it: the server's own `current_setting`.
"""

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db import Database
from app.web import create_app
from tests.appointments.support import add_slot, book, give_credits, in_days
from tests.credits.support import violations
from tests.support import GraphQLClient

PRIMARY, REPLICA = "bookings-primary", "bookings-read"


def _named(url: str, name: str) -> str:
    return make_url(url).update_query_dict({"application_name": name}).render_as_string(
        hide_password=False)


@pytest.fixture(scope="module")
async def split_db(database_url: str) -> AsyncIterator[Database]:
    settings = Settings(database_url=_named(database_url, PRIMARY),
                        database_read_url=_named(database_url, REPLICA))
    database = Database.from_settings(settings.database_url, settings)
    yield database
    await database.dispose()


class Statements:
    """Every statement each engine runs, as (application_name of the engine, SQL)."""

    def __init__(self, db: Database) -> None:
        self.seen: list[tuple[str, str]] = []
        for name, engine in ((PRIMARY, db.engine), (REPLICA, db.read_engine)):
            event.listen(engine.sync_engine, "before_cursor_execute",
                         self._recorder(name))

    def _recorder(self, name: str):
        def record(_connection, _cursor, statement, *_args) -> None:
            self.seen.append((name, statement))
        return record

    def on(self, name: str) -> list[str]:
        return [statement for engine, statement in self.seen if engine == name]


async def _application_name(session) -> str:
    return (await session.execute(text("SELECT current_setting('application_name')"))).scalar_one()


async def test_read_only_sessions_use_the_replica_and_writes_the_primary(split_db, org) -> None:
    async with split_db.session(org.id, read_only=True) as session:
        assert await _application_name(session) == REPLICA
    async with split_db.transaction(org.id, read_only=True) as session:
        assert await _application_name(session) == REPLICA
    async with split_db.transaction(org.id) as session:
        assert await _application_name(session) == PRIMARY
    # Re-reads that must not lag (the slot feed after a NOTIFY) ask for the primary.
    async with split_db.transaction(org.id, read_only=True, primary=True) as session:
        assert await _application_name(session) == PRIMARY


async def test_without_a_read_url_everything_uses_the_one_engine(database_url, org) -> None:
    database = Database(_named(database_url, PRIMARY))
    try:
        assert database.read_engine is None
        async with database.session(org.id, read_only=True) as session:
            assert await _application_name(session) == PRIMARY
    finally:
        await database.dispose()


# A write anywhere in a statement: also inside a data-modifying WITH (the booking's).
_WRITE = re.compile(r"\bINSERT\s+INTO\b|\bUPDATE\s+\w+(\s+AS\s+\w+)?\s+SET\b|\bDELETE\s+FROM\b"
                    r"|^\s*NOTIFY\b|\bFOR UPDATE\b|\bPG_ADVISORY")


def _writes(statement: str) -> bool:
    return _WRITE.search(statement.upper()) is not None


async def test_api_reads_go_to_the_replica_and_mutations_never(split_db, db, org, settings) -> None:
    statements = Statements(split_db)
    slot = await add_slot(db, org, in_days(3))
    await give_credits(db, org, org.client, 2)
    transport = httpx.ASGITransport(app=create_app(split_db, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        api = GraphQLClient(client)
        day = in_days(3).date().isoformat()
        data = await api.data(
            "query($ids: [ID!]!, $from: Date!, $to: Date!) {"
            " availability(professionalIds: $ids, from: $from, to: $to) { __typename } }",
            {"ids": [org.professional_id], "from": day, "to": day}, as_=org.client)
        assert data["availability"]
        reads = len(statements.on(REPLICA))
        assert reads > 0, "the availability query ran on the primary"
        assert statements.on(PRIMARY) == []

        reads = len(statements.seen)
        payload = await book(api, org.client, slot)
        assert payload["userErrors"] == [], payload
        # A request that wrote reads its payload on the primary too: a replica may lag.
        assert [engine for engine, _ in statements.seen[reads:]] == [PRIMARY] * (
            len(statements.seen) - reads)

    on_primary = [s.upper() for s in statements.on(PRIMARY)]
    assert any(_writes(s) for s in on_primary)
    assert [s for s in statements.on(REPLICA) if _writes(s)] == []
    assert await violations(db, org.id) == []
