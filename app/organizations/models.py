"""The organization (tenant) and its booking settings."""

from sqlalchemy import BigInteger, Identity, Integer, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.orm import Base, TimestampsMixin


class Organization(TimestampsMixin, Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    slug: Mapped[str]
    name: Mapped[str]
    time_zone: Mapped[str]
    currency: Mapped[str] = mapped_column(String(3))
    booking_window_days: Mapped[int] = mapped_column(Integer, server_default="30")
    minimum_notice_minutes: Mapped[int] = mapped_column(Integer, server_default="120")
    cancellation_policy_hours: Mapped[int] = mapped_column(Integer, server_default="24")
    pre_confirmation_ttl_hours: Mapped[int] = mapped_column(Integer, server_default="24")
    default_session_minutes: Mapped[int] = mapped_column(Integer, server_default="60")
    credit_expiry_days: Mapped[int | None]
    reminder_lead_hours: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), server_default="{24,2}"
    )
    allow_client_signup: Mapped[bool] = mapped_column(server_default="false")
    # BCP 47 tag of its people's messages, unless they choose their own (app/i18n).
    locale: Mapped[str] = mapped_column(server_default="en")
