"""Throttling of failed logins per account (organization + email), kept in PostgreSQL.

Every attempt is counted before the password is checked, in one atomic upsert,
so concurrent guesses cannot slip past the limit, and every replica sees the
same count. A successful login clears the count. The account is named by what
the caller typed, hashed, so an unknown email or organization is throttled
exactly like a real one and the refusal reveals nothing.

Sign-ups and password-reset requests are counted the same way, in the same table, under
keys of their own (`purpose_key`).
"""

import hashlib
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import RateLimited

_COUNT = text("SELECT attempts, retry_after_seconds FROM bookings_count_login_attempt(:key, :window)")
_CLEAR = text("SELECT bookings_clear_login_attempts(:key)")


@dataclass(frozen=True, slots=True)
class Throttle:
    """At most `max_attempts` counted attempts per key in a window of `window_seconds`."""

    max_attempts: int
    window_seconds: int


def account_key(organization_slug: str, email: str) -> bytes:
    """The hashed name of an account as typed: slug and email, trimmed and lowercased."""
    typed = f"{organization_slug.strip().lower()}\n{email.strip().lower()}"
    return hashlib.sha256(typed.encode()).digest()


def purpose_key(purpose: str, *parts: str) -> bytes:
    """The hashed name of what another throttle counts (e.g. "signup", slug, address).

    BLAKE2b personalised with the purpose: no key of one purpose can equal a key of
    another, nor a login's `account_key`, whatever the caller typed.
    """
    typed = "\n".join(part.strip().lower() for part in parts)
    return hashlib.blake2b(typed.encode(), digest_size=32, person=purpose.encode()).digest()


async def count_attempt(
    session: AsyncSession,
    key: bytes,
    throttle: Throttle,
    *,
    counted: str = "failed logins for this account",
) -> RateLimited | None:
    """Counts one attempt; the refusal to raise once the key used up its `max_attempts`
    (`counted` names them in the message).

    Returned, not raised, so the caller commits the count before refusing.
    """
    attempts, retry_after = (
        await session.execute(_COUNT, {"key": key, "window": throttle.window_seconds})
    ).one()
    if attempts <= throttle.max_attempts:
        return None
    minutes = -(-retry_after // 60)
    return RateLimited(
        f"Too many {counted}; try again in {minutes} minute"
        f"{'' if minutes == 1 else 's'}.",
        retry_after_seconds=retry_after,
    )


async def clear(session: AsyncSession, key: bytes) -> None:
    """Forgets the account's attempts after a successful login."""
    await session.execute(_CLEAR, {"key": key})
