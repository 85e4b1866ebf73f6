"""The declarative base every model maps onto; the schema itself lives in migrations/."""

from collections.abc import Mapping
from datetime import date, datetime, time
from enum import Enum as PythonEnum
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from sqlalchemy import BigInteger, DateTime, Enum, Identity, func, inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    # Fetch server-side defaults (ids, timestamps) with INSERT/UPDATE ... RETURNING,
    # so objects are complete after a flush without another round trip.
    __mapper_args__: ClassVar[dict[str, Any]] = {"eager_defaults": True}


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


Model = TypeVar("Model", bound=Base)

_TEMPORAL = (datetime, date, time)


def snapshot(instance: Base) -> dict[str, Any]:
    """The object's column values as JSON, for `from_snapshot` to give the object back as it
    was then (the stored result of an idempotent request, say). The object must be loaded."""
    values = {}
    for attribute in inspect(type(instance)).column_attrs:
        value = getattr(instance, attribute.key)
        values[attribute.key] = value.isoformat() if isinstance(value, _TEMPORAL) else value
    return values


def from_snapshot(model: type[Model], values: Mapping[str, Any]) -> Model:
    """A detached object with the values of a `snapshot`: in no session, never written back."""
    restored = {}
    for attribute in inspect(model).column_attrs:
        value = values.get(attribute.key)
        if value is not None:
            python_type = attribute.columns[0].type.python_type
            if python_type in _TEMPORAL:
                value = python_type.fromisoformat(value)
            elif issubclass(python_type, PythonEnum):
                value = python_type(value)
        restored[attribute.key] = value
    return model(**restored)
