"""Credit balances, the append-only ledger, lots with expiry, and which lots each entry drew."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, DateTime, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.orm import Base, TenantMixin, text_enum


class TransactionType(StrEnum):
    PURCHASE = "PURCHASE"
    APPOINTMENT_DEBIT = "APPOINTMENT_DEBIT"
    CANCELLATION_REFUND = "CANCELLATION_REFUND"
    ADMIN_ADJUSTMENT = "ADMIN_ADJUSTMENT"
    EXPIRATION = "EXPIRATION"


class TransactionStatus(StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"



class CreditBalance(Base):
    """One row per client: the balance (never negative) and the lifetime counters."""

    __tablename__ = "credit_balances"

    organization_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    balance: Mapped[int] = mapped_column(server_default="0")
    lifetime_purchased: Mapped[int] = mapped_column(server_default="0")
    lifetime_used: Mapped[int] = mapped_column(server_default="0")
    lifetime_refunded: Mapped[int] = mapped_column(server_default="0")
    lifetime_expired: Mapped[int] = mapped_column(server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CreditTransaction(TenantMixin, Base):
    """A ledger entry. Written once; only a PENDING purchase's settlement changes it later."""

    __tablename__ = "credit_transactions"

    user_id: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[TransactionType] = mapped_column(text_enum(TransactionType))
    status: Mapped[TransactionStatus] = mapped_column(text_enum(TransactionStatus))
    amount: Mapped[int]
    balance_after: Mapped[int | None]
    reverses_id: Mapped[int | None] = mapped_column(BigInteger)
    appointment_id: Mapped[int | None] = mapped_column(BigInteger)
    amount_paid_cents: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    payment_reference: Mapped[str | None]
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str | None]
    failure_reason: Mapped[str | None]
    # `metadata` is taken by the declarative base.
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CreditLot(TenantMixin, Base):
    """Credits granted at once (a completed purchase, a positive adjustment), expiring together."""

    __tablename__ = "credit_lots"

    user_id: Mapped[int] = mapped_column(BigInteger)
    source_transaction_id: Mapped[int] = mapped_column(BigInteger)
    original_amount: Mapped[int]
    remaining: Mapped[int]
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class CreditLotDraw(Base):
    """How many credits one entry (debit, expiration, negative adjustment) took from one lot."""

    __tablename__ = "credit_lot_draws"

    organization_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    lot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    amount: Mapped[int]


class CreditPackage(TenantMixin, Base):
    """Credits an organization sells online at a price; retired (`active` false), never deleted."""

    __tablename__ = "credit_packages"

    name: Mapped[str]
    credits: Mapped[int]
    price_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # Days a purchase's credits stay valid; None: the organization's credit_expiry_days.
    validity_days: Mapped[int | None]
    active: Mapped[bool] = mapped_column(server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
