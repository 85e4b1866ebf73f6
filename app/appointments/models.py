"""An appointment: one client's booking of one slot, and where it is in its lifecycle."""

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, func
from sqlalchemy.orm import Mapped, mapped_column

from app.orm import Base, TenantMixin, TimestampsMixin, text_enum


class AppointmentState(StrEnum):
    PRE_CONFIRMED = "PRE_CONFIRMED"
    CONFIRMED = "CONFIRMED"
    EXECUTED = "EXECUTED"
    NO_SHOW = "NO_SHOW"
    CANCELLED = "CANCELLED"


# States that still hold their slot and may change (docs/rules.md: appointments).
OPEN_STATES = frozenset({AppointmentState.PRE_CONFIRMED, AppointmentState.CONFIRMED})


class Appointment(TenantMixin, TimestampsMixin, Base):
    __tablename__ = "appointments"

    professional_id: Mapped[int] = mapped_column(BigInteger)
    client_id: Mapped[int] = mapped_column(BigInteger)
    student_id: Mapped[int | None] = mapped_column(BigInteger)
    time_slot_id: Mapped[int] = mapped_column(BigInteger)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[AppointmentState] = mapped_column(text_enum(AppointmentState))
    credit_cost: Mapped[int]
    refundable_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    notes: Mapped[str | None]
    private_notes: Mapped[str | None]
    booked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    executed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by_id: Mapped[int | None] = mapped_column(BigInteger)
    cancellation_reason: Mapped[str | None]
    series_id: Mapped[int | None] = mapped_column(BigInteger)
    # iCalendar's SEQUENCE: the database moves it on with every change of state, time or
    # notes (migration 0011), so the calendar feeds show each change.
    sequence: Mapped[int] = mapped_column(server_default="0")

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class SeriesFrequency(StrEnum):
    WEEKLY = "WEEKLY"
    BIWEEKLY = "BIWEEKLY"

    @property
    def interval_weeks(self) -> int:
        return 1 if self is SeriesFrequency.WEEKLY else 2

    @classmethod
    def of(cls, interval_weeks: int) -> "SeriesFrequency":
        return cls.WEEKLY if interval_weeks == 1 else cls.BIWEEKLY


class AppointmentSeries(TenantMixin, TimestampsMixin, Base):
    """A standing appointment: every `interval_weeks` weeks from `first_date`, at `start_time`
    in `time_zone` (the professional's), until `until`, for `count` occurrences, or open-ended."""

    __tablename__ = "appointment_series"

    client_id: Mapped[int] = mapped_column(BigInteger)
    student_id: Mapped[int | None] = mapped_column(BigInteger)
    professional_id: Mapped[int] = mapped_column(BigInteger)
    interval_weeks: Mapped[int]
    start_time: Mapped[time]
    time_zone: Mapped[str]
    first_date: Mapped[date]
    until: Mapped[date | None]
    count: Mapped[int | None]
    notes: Mapped[str | None]
    # Occurrences handled so far, booked or skipped; the next one to handle has this index.
    next_occurrence: Mapped[int] = mapped_column(server_default="0")
    active: Mapped[bool] = mapped_column(server_default="true")
    created_by_id: Mapped[int] = mapped_column(BigInteger)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SeriesSkip(Base):
    """An occurrence of a series that could not be booked, and why."""

    __tablename__ = "appointment_series_skips"

    organization_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    series_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    occurrence: Mapped[int] = mapped_column(primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    code: Mapped[str]
    message: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
