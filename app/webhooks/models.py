"""Webhook endpoints, their deliveries (one per event and endpoint), and each attempt."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.orm import Base, TenantMixin, TimestampsMixin, text_enum


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class WebhookEndpoint(TenantMixin, TimestampsMixin, Base):
    __tablename__ = "webhook_endpoints"

    url: Mapped[str]
    events: Mapped[list[str]] = mapped_column(ARRAY(Text))
    active: Mapped[bool] = mapped_column(server_default="true")
    # Signs with HMAC, so it is kept as it is; the API shows it only when made or rotated.
    secret: Mapped[str]
    # The secret the last rotation replaced, which signs too until it expires (both or
    # neither are set): the receiver's time to switch.
    old_secret: Mapped[str | None]
    old_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(TenantMixin, TimestampsMixin, Base):
    __tablename__ = "webhook_deliveries"

    endpoint_id: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[str]
    event_type: Mapped[str]
    # The exact text signed and sent, on every attempt.
    payload: Mapped[str]
    status: Mapped[DeliveryStatus] = mapped_column(
        text_enum(DeliveryStatus), server_default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(server_default="0")
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None]
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookAttempt(TenantMixin, Base):
    __tablename__ = "webhook_attempts"

    delivery_id: Mapped[int] = mapped_column(BigInteger)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None]
    error: Mapped[str | None]
    duration_ms: Mapped[int]
