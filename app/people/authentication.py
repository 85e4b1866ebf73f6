"""Logging in, and turning a verified token into the Principal of a request."""

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal, Role, TokenClaims, TokenIssuer, verify_password
from app.db import ACTOR_ROW_KEY, Database
from app.errors import Forbidden, Unauthenticated, ValidationFailed
from app.organizations import repository as organizations
from app.organizations.models import Organization
from app.people import repository, throttling
from app.people.models import User
from app.people.throttling import Throttle
from app.tenancy import current_organization_id


@dataclass(frozen=True, slots=True)
class LoggedIn:
    user: User
    token: str


class InvalidCredentials(ValidationFailed):
    def __init__(self) -> None:
        # One message for every cause, so a caller cannot probe which part was wrong.
        super().__init__("Invalid organization, email or password.")


async def log_in(
    db: Database,
    *,
    organization_slug: str,
    email: str,
    password: str,
    issuer: TokenIssuer,
    throttle: Throttle | None = None,
) -> LoggedIn:
    """Checks the credentials and issues a bearer token for the user.

    With a `throttle`, an account that failed too often is refused (RATE_LIMITED)
    before its password is even checked, whether or not the account exists.
    """
    key = throttling.account_key(organization_slug, email)
    if throttle is not None:
        # Its own committed transaction: the attempt counts even though the login fails.
        async with db.transaction(None) as session:
            refusal = await throttling.count_attempt(session, key, throttle)
        if refusal is not None:
            raise refusal
    async with db.transaction(None, read_only=True) as session:
        organization = await organizations.find_by_slug(session, organization_slug.strip().lower())
    user = None
    if organization is not None:
        async with db.transaction(organization.id, read_only=True) as session:
            user = await repository.find_user_by_email(session, email.strip())
    password_hash = user.password_hash if user is not None and user.active else None
    if not verify_password(password_hash, password):
        raise InvalidCredentials()
    assert user is not None and organization is not None
    if throttle is not None:
        async with db.transaction(None) as session:
            await throttling.clear(session, key)
    return logged_in(user, issuer)


def logged_in(user: User, issuer: TokenIssuer) -> LoggedIn:
    """The user with a fresh token of their current session version."""
    return LoggedIn(user=user, token=issuer.issue(
        user_id=user.id, organization_id=user.organization_id, role=user.role,
        session_version=user.session_version))


# Built once: every request runs it, and building a statement and its cache key on every
# call cost about as much as running it.
_PRINCIPAL = (
    select(User.id, User.role, User.active, User.session_version, Organization.slug)
    .join(Organization, Organization.id == User.organization_id)
    .where(User.organization_id == bindparam("organization_id"), User.id == bindparam("user_id"))
)


async def resolve_principal(
    session: AsyncSession, claims: TokenClaims, *, organization_header: str | None
) -> Principal:
    """The principal a verified token stands for, as the database sees it now.

    The role comes from the database, not the token, so a role change or a
    deactivation takes effect on the next request; so does revoking the user's sessions,
    which moves on the session version the token must carry.
    """
    await session.connection()  # begins the transaction, if not yet: its setup may read the user
    fetched = session.info.get(ACTOR_ROW_KEY)
    if fetched is not None and fetched[0] == claims.user_id:
        row = fetched[1]  # read with the tenant setup, in the same round trip
    else:
        row = (
            await session.execute(
                _PRINCIPAL,
                {"organization_id": current_organization_id(session), "user_id": claims.user_id},
            )
        ).one_or_none()
    if row is None or not row.active:
        raise Unauthenticated("The token's user does not exist or is deactivated.")
    if row.session_version != claims.session_version:
        raise Unauthenticated("This session has ended (signed out everywhere, or the password "
                              "was reset); log in again.")
    if organization_header is not None and organization_header.strip().lower() != row.slug:
        raise Forbidden("The X-Organization header names another organization than the token.")
    return Principal(user_id=row.id, organization_id=claims.organization_id, role=Role(row.role))
