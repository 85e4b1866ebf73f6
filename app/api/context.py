"""The per-request context: token claims, the principal, the database session and loaders."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from app.api.loaders import Loaders
from app.auth import Principal, TokenClaims, read_token
from app.config import Settings
from app.db import Database
from app.errors import Unauthenticated
from app.people.authentication import resolve_principal
from app.tenancy import TenantRequired


@dataclass
class Context:
    request: HTTPConnection
    db: Database
    settings: Settings
    claims: TokenClaims | None
    # A bad token is reported when something needs the principal, so that
    # `login` still works and the error arrives as a GraphQL error.
    token_error: Unauthenticated | None
    organization_header: str | None
    loaders: Loaders = field(init=False)
    _principal: Principal | None = None
    _read_session: AsyncSession | None = None
    # Sibling resolvers run concurrently, but one session (one connection) can
    # only run one statement at a time, so reads take turns.
    _session_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self)

    @classmethod
    def for_request(cls, request: HTTPConnection, db: Database, settings: Settings) -> "Context":
        claims, token_error = None, None
        authorization = request.headers.get("authorization")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            try:
                if scheme.lower() != "bearer" or not token.strip():
                    raise Unauthenticated("Use an `Authorization: Bearer <token>` header.")
                claims = read_token(token.strip(), secret=settings.signing_key())
            except Unauthenticated as error:
                token_error = error
        return cls(
            request=request,
            db=db,
            settings=settings,
            claims=claims,
            token_error=token_error,
            organization_header=request.headers.get("x-organization"),
        )

    @property
    def organization_id(self) -> int:
        if self.token_error is not None:
            raise self.token_error
        if self.claims is None:
            raise TenantRequired("Log in first: this needs an organization context.")
        return self.claims.organization_id

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """The request's read-only session, opened on first use and kept until the request ends."""
        async with self._session_lock:
            if self._read_session is None:
                self._read_session = self.db.session(self.organization_id, read_only=True)
            yield self._read_session

    async def principal(self) -> Principal:
        """Who the request acts as; UNAUTHENTICATED without a valid token of an active user."""
        if self._principal is None:
            if self.token_error is not None:
                raise self.token_error
            if self.claims is None:
                raise Unauthenticated("Authentication required: send `Authorization: Bearer <token>`.")
            async with self.reading() as session:
                self._principal = await resolve_principal(
                    session, self.claims, organization_header=self.organization_header
                )
        return self._principal

    async def close(self) -> None:
        if self._read_session is not None:
            await self._read_session.close()  # rolls back the read-only transaction
            self._read_session = None


Info = strawberry.Info[Context, None]
