"""BOOKINGS_DB_PGBOUNCER and DATABASE_LISTEN_URL (docs/deploy.md)."""

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.config import Settings
from app.db import Database


async def test_behind_pgbouncer_there_is_no_pool_and_no_statement_cache(database_url, org) -> None:
    settings = Settings(database_url=database_url, db_pgbouncer=True)
    database = Database.from_settings(database_url, settings)
    try:
        assert isinstance(database.engine.pool, NullPool)
        assert database.pool_status() == {"size": 0, "checked_out": 0, "overflow": 0}
        # Every transaction works on a fresh connection, its statements named uniquely.
        for _ in range(3):
            async with database.transaction(org.id) as session:
                assert await session.scalar(text(
                    "SELECT current_setting('app.organization_id')")) == str(org.id)
                assert await session.scalar(text("SELECT count(*) FROM users")) == 6
    finally:
        await database.dispose()


async def test_listen_connections_may_bypass_the_pooler(database_url) -> None:
    direct = make_url(database_url).update_query_dict(
        {"application_name": "direct"}).render_as_string(hide_password=False)
    settings = Settings(database_url=database_url, database_listen_url=direct)
    database = Database.from_settings(database_url, settings)
    try:
        assert (database.url, database.listen_url) == (database_url, direct)
        assert Database(database_url).listen_url == database_url
    finally:
        await database.dispose()


async def test_the_slot_feed_listens_on_the_listen_url(database_url, db, org) -> None:
    from app.scheduling.feed import SlotFeed

    direct = make_url(database_url).update_query_dict(
        {"application_name": "bookings-listen-test"}).render_as_string(hide_password=False)
    database = Database(database_url, listen_url=direct)
    feed = SlotFeed(database)
    try:
        async with (feed.subscribe(org.id, [org.professional_profile.id]),
                    db.engine.connect() as connection):
            listening = await connection.scalar(text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = 'bookings-listen-test'"))
        assert listening == 1
    finally:
        await feed.close()
        await database.dispose()
