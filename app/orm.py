"""The declarative base every model maps onto; the schema itself lives in migrations/."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, Enum, Identity, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    # Fetch server-side defaults (ids, timestamps) with INSERT/UPDATE ... RETURNING,
    # so objects are complete after a flush without another round trip.
    __mapper_args__ = {"eager_defaults": True}


class TenantMixin:
    """Tenant tables key every row by (organization_id, id)."""

    organization_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)


class TimestampsMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


def text_enum(enum: type[StrEnum]) -> Enum:
    """A Python enum stored as text; the migration's CHECK constraint lists the values.

    Text plus CHECK, not a PostgreSQL enum type, so adding a value is a plain
    constraint change in a reversible migration.
    """
    return Enum(enum, native_enum=False, create_constraint=False, length=None)
