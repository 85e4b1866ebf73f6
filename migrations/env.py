"""Alembic environment: runs revisions on asyncpg, against DATABASE_URL or a given connection."""

import asyncio
import sys
from pathlib import Path

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

# Revisions share small helpers (migrations/tenant_tables.py).
sys.path.insert(0, str(Path(__file__).parent))

from app.db import sqlalchemy_url  # noqa: E402


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_engine(url: str) -> None:
    engine = create_async_engine(sqlalchemy_url(url))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        from app.config import get_settings

        url = get_settings().database_url
    if not url:
        raise SystemExit("Set DATABASE_URL (or use `bookings migrate`, which starts the embedded server).")
    asyncio.run(_run_with_engine(url))


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; the revisions use live SQL.")
main()
