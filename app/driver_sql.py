"""Core statements run on the driver (asyncpg) itself, inside a session's transaction: for the
compiled reads (app/api/compiled.py), which run the same few statements all day.

SQLAlchemy's async execution of a statement costs 150-250 µs of CPU (execution context,
cursor adaptation, a greenlet switch, result wrapping); asyncpg's own call costs 20-40 µs.
A statement here is compiled once, by SQLAlchemy, so its SQL and its parameters' processing
are exactly what SQLAlchemy would send; it then runs on the connection the session holds,
in the session's transaction, so the tenant setup, row-level security and the end of the
transaction stay the session's. A statement SQLAlchemy must render anew for each call (an
expanding IN) runs through SQLAlchemy instead.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler

from app.db import statement_count


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
        prepared = _Prepared(compiled.string, compiled, tuple(compiled.positiontup or ()),
                             dict(compiled._bind_processors))
    _prepared[statement] = prepared
    return prepared


async def scalar(session: AsyncSession, statement: Executable,
                 parameters: Mapping[str, Any]) -> Any:
    """The first column of the first row, as `AsyncConnection.scalar` gives it."""
    connection = await session.connection()
    prepared = _prepare(statement, connection.dialect)
    if prepared is None:
        return await connection.scalar(statement, parameters)
    driver = (await connection.get_raw_connection()).driver_connection
    _count()
    return await driver.fetchval(prepared.sql, *prepared.arguments(parameters))


async def rows(session: AsyncSession, statement: Executable,
               parameters: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
    """Every row, each a sequence of its columns' values."""
    connection = await session.connection()
    prepared = _prepare(statement, connection.dialect)
    if prepared is None:
        return (await connection.execute(statement, parameters)).all()
    driver = (await connection.get_raw_connection()).driver_connection
    _count()
    return await driver.fetch(prepared.sql, *prepared.arguments(parameters))


def _count() -> None:
    # SQLAlchemy's events do not see these statements; BOOKINGS_COUNT_SQL must.
    counter = statement_count.get()
    if counter is not None:
        counter[0] += 1
