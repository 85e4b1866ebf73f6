"""Every revision goes up, comes down, and goes up again on an empty database."""

import asyncio

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from app import migrations
from app.db import create_database, libpq_url, sqlalchemy_url

SCRATCH = "bookings_migrations_test"


async def table_names(url: str) -> set[str]:
    connection = await asyncpg.connect(libpq_url(url))
    try:
        rows = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row["tablename"] for row in rows}
    finally:
        await connection.close()


def test_upgrade_downgrade_upgrade(postgres_admin_url):
    try:
        asyncio.run(create_database(postgres_admin_url, SCRATCH, replace=True))
    except asyncpg.InsufficientPrivilegeError:
        pytest.skip("the configured database user cannot create databases")
    url = make_url(sqlalchemy_url(postgres_admin_url)).set(database=SCRATCH)
    url = url.render_as_string(hide_password=False)

    migrations.upgrade(url)
    upgraded = asyncio.run(table_names(url))
    migrations.downgrade(url, "base")
    downgraded = asyncio.run(table_names(url))
    migrations.upgrade(url)

    assert {"organizations", "users", "professionals", "students"} <= upgraded
    assert downgraded == {"alembic_version"}
    assert asyncio.run(table_names(url)) == upgraded
