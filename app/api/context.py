"""The per-request context: token claims, the principal, the database session and loaders."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from app.api.loaders import Loaders
from app.auth import Principal, TokenClaims, TokenIssuer, read_token
from app.config import Settings
from app.db import Database
from app.driver_sql import DriverSession
from app.errors import Unauthenticated
from app.people.authentication import resolve_principal
from app.tenancy import TenantRequired

if TYPE_CHECKING:
    from app.scheduling.feed import SlotFeed


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
    # Websockets: the context lives as long as the connection, so each use of
    # `reading()` gets its own short transaction instead of one kept open.
    per_use_sessions: bool = False
    # The live slot feed of this process (subscriptions), and the websocket
    # connection_init payload, which may carry {"Authorization": "Bearer ..."}.
    slot_feed: "SlotFeed | None" = None
    connection_params: dict[str, Any] | None = None
    _principal: Principal | None = None
    # Set by run_mutation: the request wrote, so it reads on the primary from then on, never
    # on a replica that may lag behind its own write (DATABASE_READ_URL).
    wrote: bool = False
    _read_session: "AsyncSession | DriverSession | None" = None
    # Set by a compiled plan while it runs (app/api/compiled.py): its reads need no ORM
    # session, so they run on a `DriverSession`.
    on_driver: bool = False
    # Sibling resolvers run concurrently, but one session (one connection) can
    # only run one statement at a time, so reads take turns.
    _session_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self)

    @classmethod
    def for_request(cls, request: HTTPConnection, db: Database, settings: Settings) -> "Context":
        context = cls(
            request=request,
            db=db,
            settings=settings,
            claims=None,
            token_error=None,
            organization_header=_organization_header(request),
        )
        authorization = request.headers.get("authorization")
        if authorization:
            context.authenticate(authorization)
        return context

    def authenticate(self, authorization: str) -> None:
        """Takes the caller's identity from an `Authorization: Bearer <token>` value."""
        self.claims, self.token_error, self._principal = None, None, None
        scheme, _, token = authorization.partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("Use an `Authorization: Bearer <token>` header.")
            self.claims = read_token(token.strip(), secret=self.settings.signing_key())
        except Unauthenticated as error:
            self.token_error = error

    async def act_as(self, token: str) -> None:
        """From now on the request acts as the user of `token` (just issued by `login`), so
        the login payload's fields resolve for that user. What was read as the caller
        before (the read session, the loaders' caches) is dropped, never reused."""
        async with self._session_lock:
            await self.close()
        self.loaders = Loaders(self)
        self.authenticate(f"Bearer {token}")

    @property
    def app_url(self) -> str:
        """The frontend's base URL for emailed links: BOOKINGS_APP_URL, or in development
        (where it may be unset) this server's own."""
        return self.settings.app_url or str(self.request.base_url).rstrip("/")

    @property
    def token_issuer(self) -> TokenIssuer:
        return TokenIssuer(secret=self.settings.signing_key(),
                           lifetime=timedelta(minutes=self.settings.token_lifetime_minutes))

    @property
    def client_address(self) -> str | None:
        """The caller's IP address, as the server sees it: behind a proxy, the address the
        proxy forwards, if uvicorn trusts it to (its FORWARDED_ALLOW_IPS setting)."""
        return self.request.client.host if self.request.client else None

    @property
    def organization_id(self) -> int:
        if self.token_error is not None:
            raise self.token_error
        if self.claims is None:
            raise TenantRequired("Log in first: this needs an organization context.")
        return self.claims.organization_id

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """The request's read-only session, opened on first use and kept until the request ends
        (on a websocket, a short read-only transaction for each use)."""
        async with self._session_lock:
            # The caller's user is read with the tenant setup, in one round trip.
            actor_id = self.claims.user_id if self.claims is not None else None
            if self.per_use_sessions:
                async with self.db.transaction(self.organization_id, read_only=True,
                                               actor_id=actor_id, primary=self.wrote) as session:
                    yield session
                return
            if isinstance(self._read_session, DriverSession) and not self.on_driver:
                await self.close()  # the general road's reads need the ORM
            if self._read_session is None:
                self._read_session = (
                    DriverSession(self.db.engine_for_reads(primary=self.wrote),
                                  self.organization_id, actor_id)
                    if self.on_driver and actor_id is not None else
                    self.db.session(self.organization_id, read_only=True, actor_id=actor_id,
                                    primary=self.wrote))
            yield self._read_session

    async def principal(self, session: AsyncSession | None = None) -> Principal:
        """Who the request acts as; UNAUTHENTICATED without a valid token of an active user.

        Looked up once per request: in `session` if given (a mutation's own
        transaction, which then needs no read transaction), else in the read session.
        """
        if self._principal is None:
            self.require_authentication()
            if session is not None:
                self._principal = await self._resolve_principal(session)
                return self._principal
            async with self.reading() as read_session:
                # Sibling fields ask at once: the first one looks it up, the others wait
                # for the session and find it done.
                if self._principal is None:
                    self._principal = await self._resolve_principal(read_session)
        return self._principal

    async def principal_again(self) -> Principal:
        """The principal looked up anew: a websocket connection lives long, and its user
        may have been deactivated or have had their sessions revoked since it began."""
        self._principal = None
        return await self.principal()

    def require_authentication(self) -> None:
        """UNAUTHENTICATED unless the request carries a valid token."""
        if self.token_error is not None:
            raise self.token_error
        if self.claims is None:
            raise Unauthenticated("Authentication required: send `Authorization: Bearer <token>`.")

    async def _resolve_principal(self, session: AsyncSession) -> Principal:
        return await resolve_principal(
            session, self.claims, organization_header=self.organization_header
        )

    async def close(self) -> None:
        session, self._read_session = self._read_session, None
        if session is not None:
            await session.close()  # rolls back the read-only transaction

    async def start_over(self) -> None:
        """Forgets the work of an attempt that failed midway, before the query runs again
        (app/api/execution.py): a failed statement leaves the read session unusable, and
        the loaders may hold what it left half done."""
        async with self._session_lock:  # not while a resolver still reads
            with suppress(Exception):  # e.g. a connection the failure broke; it goes anyway
                await self.close()
        self.loaders = Loaders(self)


def _organization_header(request: HTTPConnection) -> str | None:
    """The X-Organization value, None if absent or blank. Repeated headers are read as one
    comma-joined value, as HTTP defines them, so a second header naming another
    organization makes the value name another organization too (and it is refused)."""
    values = [value.strip() for value in request.headers.getlist("x-organization")]
    return ", ".join(value for value in values if value) or None


Info = strawberry.Info[Context, None]
