"""Users (every person who logs in), professional profiles, and students."""

from datetime import date

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from app.auth import Role
from app.orm import Base, TenantMixin, TimestampsMixin, text_enum


class User(TenantMixin, TimestampsMixin, Base):
    __tablename__ = "users"

    email: Mapped[str]
    first_name: Mapped[str]
    last_name: Mapped[str]
    phone: Mapped[str]
    role: Mapped[Role] = mapped_column(text_enum(Role))
    password_hash: Mapped[str | None]
    active: Mapped[bool] = mapped_column(server_default="true")
    # Their own language for messages (BCP 47); None: the organization's.
    locale: Mapped[str | None]
    # Carried by every token; a token of an older version is refused (revokeSessions).
    session_version: Mapped[int] = mapped_column(server_default="0")

    @property
    def invitation_pending(self) -> bool:
        """Invited and not yet accepted: every way in sets a password (docs/rules.md)."""
        return self.password_hash is None


class Professional(TenantMixin, TimestampsMixin, Base):
    __tablename__ = "professionals"

    user_id: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str | None]
    specialization: Mapped[str | None]
    bio: Mapped[str | None]
    license_number: Mapped[str | None]
    time_zone: Mapped[str]
    session_minutes: Mapped[int]
    buffer_minutes: Mapped[int] = mapped_column(server_default="0")
    credit_cost: Mapped[int] = mapped_column(server_default="1")
    active: Mapped[bool] = mapped_column(server_default="true")


class Student(TenantMixin, Base):
    __tablename__ = "students"

    guardian_id: Mapped[int] = mapped_column(BigInteger)
    first_name: Mapped[str]
    last_name: Mapped[str]
    date_of_birth: Mapped[date | None]
    active: Mapped[bool] = mapped_column(server_default="true")
