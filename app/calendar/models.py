"""A user's calendar feed: the hash of its token, and the version the token is made from."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, LargeBinary, func
from sqlalchemy.orm import Mapped, mapped_column

from app.orm import Base


class CalendarFeed(Base):
    __tablename__ = "calendar_feeds"

    organization_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    version: Mapped[int] = mapped_column(server_default="0")
    token_hash: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now())
