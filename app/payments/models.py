"""A purchase's checkout at the payment provider, and the provider's events acted on."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, func
from sqlalchemy.orm import Mapped, mapped_column

from app.orm import Base


class PaymentCheckout(Base):
    """The provider's checkout of one PENDING purchase (the ledger entry stays as written)."""

    __tablename__ = "payment_checkouts"

    organization_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    provider: Mapped[str]
    session_id: Mapped[str]
    credit_package_id: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PaymentEvent(Base):
    """A provider event acted on; its key makes a second delivery change nothing."""

    __tablename__ = "payment_events"

    organization_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    provider: Mapped[str] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(primary_key=True)
    type: Mapped[str]
    transaction_id: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())
