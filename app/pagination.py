"""Keyset pagination: the one way lists are paged (`first` + opaque `after` cursor).

A cursor encodes the sort key of the last row seen, so pages stay stable while
rows are inserted, and each page is one indexed range scan. It also names the
list's table, so a cursor of one list is refused by another instead of silently
meaning some position there.
"""

import base64
import binascii
import json
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import ColumnElement, DateTime, Select, bindparam, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app import driver_sql
from app.errors import ValidationFailed

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class PageRequest:
    first: int
    after: tuple[Any, ...] | None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    cursors: Sequence[str]
    has_next_page: bool
    has_previous_page: bool


def page_request(first: int | None, after: str | None, sort_key: Sequence[ColumnElement]) -> PageRequest:
    """Validate `first` and decode `after` against the list's sort key."""
    size = DEFAULT_PAGE_SIZE if first is None else first
    if not 0 <= size <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"`first` must be between 0 and {MAX_PAGE_SIZE}.", field="first")
    return PageRequest(first=size, after=None if after is None else _decode(after, sort_key))


async def fetch_page(
    session: AsyncSession,
    statement: Select,
    request: PageRequest,
    sort_key: Sequence[ColumnElement],
    *,
    descending: bool = False,
) -> Page:
    """Entities selected by `statement` after the cursor, ordered by the unique `sort_key`."""
    result = await session.scalars(_paged(statement, request.after, request.first + 1,
                                          sort_key, descending))
    items = list(result)
    has_next_page = len(items) > request.first
    items = items[: request.first]
    table = _table_of(sort_key)
    cursors = [_encode(table, [getattr(item, column.key) for column in sort_key])
               for item in items]
    return Page(items=items, cursors=cursors, has_next_page=has_next_page,
                has_previous_page=request.after is not None)


class JsonPages:
    """The pages of one list as JSON text, for the hot reads that pass JSON through: each
    item is what `item_json` (app/json_sql.py) makes of its row.

    The statements are built once per variant, with bind parameters, and kept: building a
    statement and its cache key costs as much CPU as running it. `build(variant)` makes
    the unpaged statement of a variant (which optional filters it has, as bind parameters
    that `fetch` fills); the page's limit and the cursor's position are bound here.
    """

    def __init__(self, build: Callable[[Hashable], Select], sort_key: Sequence[ColumnElement],
                 item_json: ColumnElement[str], *, descending: bool = False) -> None:
        self._build = build
        self._sort_key = sort_key
        self._item_json = item_json
        self._descending = descending
        self._table = _table_of(sort_key)
        self._statements: dict[tuple[Hashable, bool], Select] = {}

    async def fetch(self, session: AsyncSession, variant: Hashable, request: PageRequest,
                    parameters: dict[str, Any]) -> Page[str]:
        """The page `fetch_page` would find of `variant`'s statement, given its parameters."""
        statement = self._statement(variant, after=request.after is not None)
        bound = {**parameters, "page_limit": request.first + 1}
        for number, value in enumerate(request.after or ()):
            bound[f"after_{number}"] = value
        rows = await driver_sql.rows(session, statement, bound)
        has_next_page = len(rows) > request.first
        rows = rows[: request.first]
        return Page(items=[row[-1] for row in rows],
                    cursors=_Cursors(self._table, [row[:-1] for row in rows]),
                    has_next_page=has_next_page, has_previous_page=request.after is not None)

    def _statement(self, variant: Hashable, *, after: bool) -> Select:
        key = (variant, after)
        statement = self._statements.get(key)
        if statement is None:
            statement = self._build(variant).with_only_columns(*self._sort_key, self._item_json)
            position = None if not after else tuple(
                bindparam(f"after_{number}", type_=column.type)
                for number, column in enumerate(self._sort_key))
            statement = self._statements[key] = _paged(
                statement, position, bindparam("page_limit"), self._sort_key, self._descending)
        return statement


class _Cursors(Sequence[str]):
    """A page's cursors, each encoded when it is asked for: most answers show the last one
    only (`pageInfo { endCursor }`), and encoding one costs more than reading its row."""

    __slots__ = ("_keys", "_table")

    def __init__(self, table: str, keys: list[Sequence[Any]]) -> None:
        self._table, self._keys = table, keys

    def __len__(self) -> int:
        return len(self._keys)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [_encode(self._table, list(keys)) for keys in self._keys[index]]
        return _encode(self._table, list(self._keys[index]))

    def __iter__(self) -> Iterator[str]:
        table = self._table
        return (_encode(table, list(keys)) for keys in self._keys)


def _paged(statement: Select, after: tuple[Any, ...] | None, limit: Any,
           sort_key: Sequence[ColumnElement], descending: bool) -> Select:
    """`statement` from the position after `after` (values or bind parameters), in the
    list's order, `limit` rows."""
    if after is not None:
        position = tuple_(*sort_key)
        statement = statement.where(position < tuple_(*after) if descending
                                    else position > tuple_(*after))
    order = [column.desc() for column in sort_key] if descending else list(sort_key)
    return statement.order_by(*order).limit(limit)


async def count(session: AsyncSession, statement: Select) -> int:
    """How many rows `statement` (unpaged) returns."""
    return await session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))


def _table_of(sort_key: Sequence[ColumnElement]) -> str:
    return sort_key[0].expression.table.name


def _encode(table: str, values: list[Any]) -> str:
    plain = [value.isoformat() if isinstance(value, datetime) else value for value in values]
    return base64.urlsafe_b64encode(orjson.dumps([table, *plain])).decode()


def _decode(cursor: str, sort_key: Sequence[ColumnElement]) -> tuple[Any, ...]:
    try:
        table, *values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if len(values) != len(sort_key):
            raise ValueError("wrong shape")
        position = tuple(_typed(value, column)
                         for value, column in zip(values, sort_key, strict=True))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise ValidationFailed("Malformed `after` cursor.", field="after") from error
    if table != _table_of(sort_key):
        raise ValidationFailed("This `after` cursor belongs to another list; pass one that "
                               "this list gave.", field="after")
    return position


def _typed(value: Any, column: ColumnElement) -> Any:
    """A cursor value checked against its column, so a forged cursor cannot reach SQL."""
    if isinstance(column.type, DateTime):
        return datetime.fromisoformat(value)
    if column.type.python_type is int:
        if not isinstance(value, int) or not -(2**63) <= value < 2**63:
            raise ValueError("not a bigint")
        return value
    if not isinstance(value, column.type.python_type):
        raise TypeError("wrong type")
    return value
