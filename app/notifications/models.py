"""A message in the notifications outbox, and where it is in its delivery."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.orm import Mapped, mapped_column

from app.orm import Base, TenantMixin, TimestampsMixin, text_enum


class NotificationKind(StrEnum):
    BOOKING = "BOOKING"
    CONFIRMATION = "CONFIRMATION"
    CANCELLATION = "CANCELLATION"
    REFUND = "REFUND"
    EXPIRY = "EXPIRY"
    REMINDER = "REMINDER"
    INVITATION = "INVITATION"
    PASSWORD_RESET = "PASSWORD_RESET"
    SERIES_SKIPPED = "SERIES_SKIPPED"
    RECEIPT = "RECEIPT"
    PAYMENT_FAILED = "PAYMENT_FAILED"


class NotificationStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"



class OutboxMessage(TenantMixin, TimestampsMixin, Base):
    __tablename__ = "notification_outbox"

    kind: Mapped[NotificationKind] = mapped_column(text_enum(NotificationKind))
    recipient_user_id: Mapped[int] = mapped_column(BigInteger)
    appointment_id: Mapped[int | None] = mapped_column(BigInteger)
    # Reminders only: how many hours before the start this one is for.
    lead_hours: Mapped[int | None]
    dedupe_key: Mapped[str | None]
    subject: Mapped[str]
    body: Mapped[str]
    html_body: Mapped[str | None]
    # The language tag it was written in (null: written before messages had languages).
    locale: Mapped[str | None]
    status: Mapped[NotificationStatus] = mapped_column(
        text_enum(NotificationStatus), server_default=NotificationStatus.PENDING.value
    )
    attempts: Mapped[int] = mapped_column(server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None]
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
