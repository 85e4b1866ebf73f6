"""Roles, passwords, bearer tokens, and the Principal a request acts as.

Nothing here imports a domain package: every package asks `Principal` who is acting.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.errors import Unauthenticated


class Role(StrEnum):
    ADMIN = "ADMIN"
    STAFF = "STAFF"
    PROFESSIONAL = "PROFESSIONAL"
    CLIENT = "CLIENT"

    @property
    def is_staff_or_admin(self) -> bool:
        return self in (Role.ADMIN, Role.STAFF)


TOKEN_ALGORITHM = "HS256"

_hasher = PasswordHasher()
# Verified against when the account does not exist, so a login for an unknown
# email costs the same time as one with a wrong password.
_DECOY_HASH = _hasher.hash("decoy password that matches no login")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is acting: a user of one organization, with their current role."""

    user_id: int
    organization_id: int
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_staff_or_admin(self) -> bool:
        return self.role.is_staff_or_admin


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    organization_id: int
    # The user's session version when the token was issued: revoking sessions moves the
    # user's version on, and a token of an older one is refused (app/people/authentication.py).
    session_version: int


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if `password` matches; always spends one argon2 verification."""
    try:
        return _hasher.verify(password_hash or _DECOY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def issue_token(
    *, user_id: int, organization_id: int, role: Role, session_version: int, secret: str,
    lifetime: timedelta,
) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "org": organization_id,
        "role": role.value,
        "sv": session_version,
        "iat": now,
        "exp": now + lifetime,
    }
    return jwt.encode(claims, secret, algorithm=TOKEN_ALGORITHM)


@dataclass(frozen=True, slots=True)
class TokenIssuer:
    """Issues the bearer tokens of this server: one secret, one lifetime."""

    secret: str
    lifetime: timedelta

    def issue(self, *, user_id: int, organization_id: int, role: Role,
              session_version: int) -> str:
        return issue_token(user_id=user_id, organization_id=organization_id, role=role,
                           session_version=session_version, secret=self.secret,
                           lifetime=self.lifetime)


def read_token(token: str, *, secret: str) -> TokenClaims:
    """The verified claims of a bearer token; raises `Unauthenticated` for any fault."""
    try:
        claims, expires_at = _verified(token, secret)
    except jwt.ExpiredSignatureError as error:
        raise Unauthenticated("The token has expired; log in again.") from error
    except (jwt.InvalidTokenError, ValueError, TypeError) as error:
        raise Unauthenticated("The token is invalid.") from error
    if expires_at <= time.time():  # checked on every use: a remembered token expires too
        raise Unauthenticated("The token has expired; log in again.")
    return claims


# A frontend sends the same token with every request, and checking its signature cost as much
# as a small query's resolvers. Only tokens that passed every check are remembered (an
# exception is never cached), keyed with the secret that checked them; they hold no tenant
# data, and the user behind one is still looked up on every request.
@lru_cache(maxsize=4096)
def _verified(token: str, secret: str) -> tuple[TokenClaims, float]:
    claims = jwt.decode(
        token,
        secret,
        algorithms=[TOKEN_ALGORITHM],  # never trust the token's own `alg` (e.g. "none")
        options={"require": ["sub", "org", "exp", "iat"]},
    )
    # A token from before sessions had versions counts as version 0: it stays valid until
    # its owner first revokes their sessions.
    session_version = claims.get("sv", 0)
    if not isinstance(session_version, int) or isinstance(session_version, bool):
        raise jwt.InvalidTokenError("the session version is not an integer")
    return (TokenClaims(user_id=int(claims["sub"]), organization_id=int(claims["org"]),
                        session_version=session_version),
            float(claims["exp"]))
