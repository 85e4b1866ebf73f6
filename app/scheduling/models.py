"""Weekly availability rules, time off, and the concrete time slots generated from rules."""

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import BigInteger, Computed, DateTime, func
from sqlalchemy.dialects.postgresql import TSTZRANGE
from sqlalchemy.orm import Mapped, deferred, mapped_column

from app.orm import Base, TenantMixin, TimestampsMixin, text_enum


class Weekday(StrEnum):
    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"

    @property
    def iso(self) -> int:
        """ISO weekday number: Monday is 1, Sunday is 7 (as `date.isoweekday()`)."""
        return list(Weekday).index(self) + 1

    @classmethod
    def of(cls, day: date) -> "Weekday":
        return list(cls)[day.isoweekday() - 1]


class TimeSlotStatus(StrEnum):
    AVAILABLE = "AVAILABLE"
    BOOKED = "BOOKED"
    BLOCKED = "BLOCKED"


class BlockReason(StrEnum):
    """Why a slot is BLOCKED: by hand, or because a time off covers it."""

    MANUAL = "MANUAL"
    TIME_OFF = "TIME_OFF"



# Half-open, so back-to-back periods (10:00-11:00, 11:00-12:00) do not overlap.
_PERIOD = "tstzrange(starts_at, ends_at, '[)')"


class AvailabilityRule(TenantMixin, TimestampsMixin, Base):
    """A professional works on `weekday` from `start_time` to `end_time`, in their own zone."""

    __tablename__ = "availability_rules"

    professional_id: Mapped[int] = mapped_column(BigInteger)
    weekday: Mapped[Weekday] = mapped_column(text_enum(Weekday))
    start_time: Mapped[time]
    end_time: Mapped[time]
    effective_from: Mapped[date | None]
    effective_until: Mapped[date | None]
    active: Mapped[bool] = mapped_column(server_default="true")


class TimeOff(TenantMixin, Base):
    """A UTC period during which a professional offers no slot."""

    __tablename__ = "time_off"

    professional_id: Mapped[int] = mapped_column(BigInteger)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None]
    period = deferred(mapped_column(TSTZRANGE, Computed(_PERIOD, persisted=True)))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TimeSlot(TenantMixin, TimestampsMixin, Base):
    """One bookable period of one professional; `period` is generated from starts/ends."""

    __tablename__ = "time_slots"

    professional_id: Mapped[int] = mapped_column(BigInteger)
    rule_id: Mapped[int | None] = mapped_column(BigInteger)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[TimeSlotStatus] = mapped_column(text_enum(TimeSlotStatus))
    block_reason: Mapped[BlockReason | None] = mapped_column(text_enum(BlockReason))
    period = deferred(mapped_column(TSTZRANGE, Computed(_PERIOD, persisted=True)))
