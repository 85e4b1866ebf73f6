"""The current time. Services take an optional `now` so tests can fix the clock."""

from datetime import UTC, datetime


def utc_now(now: datetime | None = None) -> datetime:
    """`now` if given, else the current UTC time."""
    return datetime.now(UTC) if now is None else now
