"""Tokens sent by email (invitations, password resets): minted, forgotten, redeemed.

A token is 32 random bytes, URL-safe; the database keeps only its SHA-256 (migration
0008), and only the newest token per user and purpose: minting replaces the earlier one.
Redeeming deletes the token in the caller's transaction, so it works once, and a refusal
that rolls the transaction back leaves it usable.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidToken


class TokenPurpose(StrEnum):
    INVITATION = "INVITATION"
    PASSWORD_RESET = "PASSWORD_RESET"

    @property
    def lifetime(self) -> timedelta:
        return _LIFETIMES[self]


_LIFETIMES = {TokenPurpose.INVITATION: timedelta(days=7),
              TokenPurpose.PASSWORD_RESET: timedelta(hours=1)}
TOKEN_BYTES = 32
# Longer input is no token of ours; refused before hashing anything.
MAX_TOKEN_LENGTH = 100

_MINT = text("SELECT bookings_mint_account_token(:user_id, :purpose, :token_hash, :lifetime)")
_FORGET = text("SELECT bookings_forget_account_token(:user_id, :purpose)")
_REDEEM = text(
    "SELECT organization_id, user_id, token_hash "
    "FROM bookings_redeem_account_token(:purpose, :token_hash)"
)


@dataclass(frozen=True, slots=True)
class RedeemedToken:
    organization_id: int
    user_id: int


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def mint(session: AsyncSession, user_id: int, purpose: TokenPurpose) -> str:
    """A new token for a user of the session's organization; the earlier one stops working."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires_at = await session.scalar(_MINT, {
        "user_id": user_id, "purpose": purpose.value, "token_hash": _digest(token),
        "lifetime": int(purpose.lifetime.total_seconds()),
    })
    if expires_at is None:  # the function writes nothing outside a tenant transaction
        raise RuntimeError("account tokens are minted inside an organization's transaction")
    return token


async def forget(session: AsyncSession, user_id: int, purpose: TokenPurpose) -> None:
    """The user's token for `purpose`, if any, stops working."""
    await session.execute(_FORGET, {"user_id": user_id, "purpose": purpose.value})


async def redeem(session: AsyncSession, token: str, purpose: TokenPurpose) -> RedeemedToken:
    """Uses up a live token and says whose it was; INVALID_TOKEN if unknown, used, expired
    or replaced, with one message for all four. Deleted in the caller's transaction."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken()
    presented = _digest(token)
    row = (await session.execute(_REDEEM, {"purpose": purpose.value,
                                           "token_hash": presented})).one_or_none()
    # The lookup matched on the hash already; comparing again in constant time keeps the
    # check itself free of timing differences, whatever the index does.
    if row is None or not hmac.compare_digest(bytes(row.token_hash), presented):
        raise InvalidToken()
    return RedeemedToken(organization_id=row.organization_id, user_id=row.user_id)
