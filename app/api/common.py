"""Scalars, the Node interface, the connection types every list shares, and shared descriptions.

Every domain package of app/api builds on this module, and it imports none of them.
"""

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time
from typing import Generic, NewType, TypeVar

import strawberry
from strawberry.schema.types.base_scalars import DateDefinition

from app.pagination import Page

LocalTime = NewType("LocalTime", time)


# Dates and times outside these years are refused: far beyond any booking, and far enough
# inside Python's and PostgreSQL's limits that moving a value by a time zone or a booking
# window cannot overflow (year 9999 in New York is year 10000 in UTC).
EARLIEST_YEAR, LATEST_YEAR = 1900, 2999


def _within_years(value: date, scalar: str) -> None:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"{scalar} must fall in the years {EARLIEST_YEAR} to {LATEST_YEAR}")


def _parse_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("DateTime needs an offset, e.g. 2026-03-08T14:00:00+00:00")
    _within_years(parsed, "A DateTime")
    return parsed


def _parse_date(value: str) -> date:
    parsed = DateDefinition.parse_value(value)
    _within_years(parsed, "A Date")
    return parsed


def _parse_local_time(value: str) -> time:
    parsed = time.fromisoformat(value)
    if parsed.tzinfo is not None or parsed.second or parsed.microsecond:
        raise ValueError('LocalTime is a wall-clock "HH:MM" without a zone')
    return parsed


# Our DateTime refuses inputs without an offset: a naive time is ambiguous.
SCALARS = {
    # Strawberry's own Date, described for the docs explorer.
    date: dataclasses.replace(
        DateDefinition, description='Calendar date without a zone, "YYYY-MM-DD", e.g. "2026-03-08"; '
                    f"years {EARLIEST_YEAR} to {LATEST_YEAR}.",
        parse_value=_parse_date,
    ),
    datetime: strawberry.scalar(
        name="DateTime",
        description='ISO-8601 date and time with an offset, e.g. "2026-03-08T14:00:00+00:00"; '
                    f"years {EARLIEST_YEAR} to {LATEST_YEAR}.",
        serialize=lambda value: value.isoformat(),
        parse_value=_parse_datetime,
    ),
    LocalTime: strawberry.scalar(
        name="LocalTime",
        description='Wall-clock time without a zone, "HH:MM", e.g. "09:30".',
        serialize=lambda value: value.strftime("%H:%M"),
        parse_value=_parse_local_time,
    ),
}


# Descriptions many types share.
USER_ERRORS = "Why the mutation was refused (then nothing was written); empty on success."
IDEMPOTENCY_KEY = ("Any unique string: a retry with the same key and input returns the first "
                   "answer and changes nothing; the same key with other input is refused.")


@strawberry.interface(name="Node", description="An object with a globally unique, opaque ID.")
class Node:
    id: strawberry.ID = strawberry.field(
        description="Opaque global ID: pass it back as is, e.g. to `node(id:)`."
    )


@strawberry.type(description="Where a page sits in its list, for fetching the next one.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="Items precede this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item.")
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last item: pass it as `after` for the next page."
    )


T = TypeVar("T")


@strawberry.type(description="One item of a page, with its cursor.")
class Edge(Generic[T]):
    node: T = strawberry.field(description="The item.")
    cursor: str = strawberry.field(description="Opaque position of the item in the list.")


@strawberry.type(description="A page of a list, with cursors to fetch the next one.")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page, in order.")
    page_info: PageInfo = strawberry.field(description="Whether more pages follow, and where.")
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list (all pages) holds.")
    async def total_count(self) -> int:
        # Counted only when asked for: a second query most pages do not need.
        return await self._count()

    @classmethod
    def from_page(
        cls, page: Page, to_node: Callable, count: Callable[[], Awaitable[int]]
    ) -> "Connection":
        edges = [Edge(node=to_node(item), cursor=cursor)
                 for item, cursor in zip(page.items, page.cursors, strict=True)]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
            _count=count,
        )
