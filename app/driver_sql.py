"""Core statements run on the driver (asyncpg) itself, inside a session's transaction: for the
compiled reads (app/api/compiled.py), which run the same few statements all day.

SQLAlchemy's async execution of a statement costs 150-250 µs of CPU (execution context,
cursor adaptation, a greenlet switch, result wrapping); asyncpg's own call costs 20-40 µs.
A statement here is compiled once, by SQLAlchemy, so its SQL and its parameters' processing
are exactly what SQLAlchemy would send; it then runs on the connection the session holds,
in the session's transaction, so the tenant setup, row-level security and the end of the
transaction stay the session's. A statement SQLAlchemy must render anew for each call (an
expanding IN) runs through SQLAlchemy instead.

A `DriverSession` goes one step further for the compiled reads: the read-only tenant
transaction itself (BEGIN, the tenant setup with the caller's row, ROLLBACK) on a pooled
connection's driver, with no ORM session at all. It offers what those reads use of a
session (`info`, `connection()`, and the statements here); anything else it does not have,
and the compiled road then hands the request to the general road, as on any error.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import ARRAY, BindParameter, ColumnElement, Executable, any_, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import greenlet_spawn

from app.db import (
    ACTOR_KEY,
    ACTOR_ROW_KEY,
    APP_ROLE,
    READ_ONLY_KEY,
    statement_count,
    tenant_setup_as_actor,
)
from app.tenancy import TENANT_KEY


@dataclass(frozen=True, slots=True)
class _Prepared:
    sql: str
    compiled: SQLCompiler
    names: Sequence[str]
    processors: Mapping[str, Callable[[Any], Any]]

    def arguments(self, parameters: Mapping[str, Any]) -> list[Any]:
        values = self.compiled.construct_params(parameters, escape_names=False)
        processors = self.processors
        return [processors[name](values[name]) if name in processors else values[name]
                for name in self.names]


_prepared: WeakKeyDictionary[Executable, _Prepared | None] = WeakKeyDictionary()


def _prepare(statement: Executable, dialect: Dialect) -> _Prepared | None:
    if statement in _prepared:
        return _prepared[statement]
    compiled = statement.compile(dialect=dialect)
    prepared = None
    if not (compiled.literal_execute_params or compiled.post_compile_params):
        # The bind processors are what SQLAlchemy's own execution applies (a private
        # attribute, stable since 1.4; tests/test_driver_sql.py compares both roads).
        prepared = _Prepared(compiled.string, compiled, tuple(compiled.positiontup or ()),
                             dict(compiled._bind_processors))
    _prepared[statement] = prepared
    return prepared


def one_of(column: ColumnElement[Any], values: Any) -> ColumnElement[bool]:
    """`column` is among `values`: a list of values (IN), or an `array_parameter` (= ANY).

    Statements built once for the driver take the array: an expanding IN is rendered anew
    for each call, by SQLAlchemy."""
    if isinstance(values, BindParameter):
        return column == any_(values)
    return column.in_(values)


def array_parameter(name: str, column: ColumnElement[Any]) -> BindParameter:
    """A bind parameter of a list of `column`'s values, for `one_of`."""
    return bindparam(name, type_=ARRAY(column.type))


class NotOnTheDriver(Exception):
    """Asked of a `DriverSession`, which cannot: the general road's work."""


class DriverSession:
    """A read-only transaction of one organization, as the caller's user, on a pooled
    connection's driver (see the module's doc). Opened by its first use; `close` ends it."""

    _ENTER = tenant_setup_as_actor(True, None)

    def __init__(self, engine: AsyncEngine, organization_id: int, actor_id: int) -> None:
        self.info: dict[str, Any] = {TENANT_KEY: organization_id, READ_ONLY_KEY: True,
                                     ACTOR_KEY: actor_id}
        self._engine = engine
        self._pooled: PoolProxiedConnection | None = None

    async def connection(self) -> "DriverSession":
        """Begins the transaction, if not yet (as `AsyncSession.connection` does)."""
        await self.driver()
        return self

    async def driver(self) -> Any:
        """The asyncpg connection, in the transaction."""
        if self._pooled is not None:
            return self._pooled.driver_connection
        pooled = await self._engine.raw_connection()
        try:
            driver = pooled.driver_connection
            _count()
            await driver.execute("BEGIN")
            prepared = _prepare(self._ENTER, self._engine.dialect)
            actor = self.info[ACTOR_KEY]
            _count()
            row = await driver.fetchrow(prepared.sql, *prepared.arguments({
                "role": APP_ROLE, "tenant": str(self.info[TENANT_KEY]), "actor": actor}))
        except BaseException:
            await greenlet_spawn(pooled.invalidate)  # in an unknown state: never reused
            raise
        self._pooled = pooled
        # As the ORM session's setup leaves it (app/db.py), for `resolve_principal`.
        self.info[ACTOR_ROW_KEY] = (actor, None if row["id"] is None
                                    else SimpleNamespace(**dict(row.items())))
        return driver

    @property
    def dialect(self) -> Dialect:
        return self._engine.dialect

    async def close(self) -> None:
        """Rolls the transaction back and returns the connection to the pool."""
        pooled, self._pooled = self._pooled, None
        if pooled is None:
            return
        try:
            _count()
            await pooled.driver_connection.execute("ROLLBACK")
        except BaseException:
            await greenlet_spawn(pooled.invalidate)
            raise
        await greenlet_spawn(pooled.close)


async def _driver_of(session: AsyncSession | DriverSession,
                     statement: Executable) -> tuple[Any, _Prepared | None]:
    """The session's driver connection in its transaction, and the statement prepared for it
    (None: SQLAlchemy must run it)."""
    if isinstance(session, DriverSession):
        prepared = _prepare(statement, session.dialect)
        if prepared is None:
            raise NotOnTheDriver("a statement rendered per call needs an ORM session")
        return await session.driver(), prepared
    connection = await session.connection()
    prepared = _prepare(statement, connection.dialect)
    if prepared is None:
        return connection, None
    return (await connection.get_raw_connection()).driver_connection, prepared


async def scalar(session: AsyncSession | DriverSession, statement: Executable,
                 parameters: Mapping[str, Any]) -> Any:
    """The first column of the first row, as `AsyncConnection.scalar` gives it."""
    driver, prepared = await _driver_of(session, statement)
    if prepared is None:
        return await driver.scalar(statement, parameters)
    _count()
    return await driver.fetchval(prepared.sql, *prepared.arguments(parameters))


async def rows(session: AsyncSession | DriverSession, statement: Executable,
               parameters: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
    """Every row, each a sequence of its columns' values (as the driver gives them: for
    statements whose columns need no conversion, such as JSON text, numbers and times)."""
    driver, prepared = await _driver_of(session, statement)
    if prepared is None:
        return (await driver.execute(statement, parameters)).all()
    _count()
    return await driver.fetch(prepared.sql, *prepared.arguments(parameters))


def _count() -> None:
    # SQLAlchemy's events do not see these statements; BOOKINGS_COUNT_SQL must.
    counter = statement_count.get()
    if counter is not None:
        counter[0] += 1
