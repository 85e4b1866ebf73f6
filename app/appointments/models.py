"""An appointment: one client's booking of one slot, and where it is in its lifecycle."""

from datetime import datetime
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

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES
