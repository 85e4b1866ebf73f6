"""Ways into an account and out of its sessions: invitations, sign-up, password reset and
change, and revoking sessions (docs/rules.md: accounts).

Every password set here goes through `check_password`. Every way in ends with a token of
the user's current session version (`authentication.logged_in`); moving that version on
ends every token issued before, on every replica, at the next request.
"""

import logging
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app import validation
from app.auth import Principal, Role, TokenIssuer, hash_password, verify_password
from app.db import Database, switch_tenant
from app.errors import Conflict, Forbidden, InvalidToken, ValidationFailed
from app.organizations import repository as organizations
from app.people import account_tokens, emails, repository, service, throttling
from app.people.account_tokens import TokenPurpose
from app.people.authentication import LoggedIn, logged_in
from app.people.models import User
from app.people.passwords import check_password
from app.people.throttling import Throttle
from app.tenancy import current_organization_id

logger = logging.getLogger(__name__)

MAX_SLUG_LENGTH = 100


@dataclass(frozen=True, slots=True)
class SignUpThrottle:
    """Sign-ups counted per organization, and per client address where one is known."""

    per_organization: int
    per_address: int
    window_seconds: int


class SignUpClosed(ValidationFailed):
    def __init__(self) -> None:
        # The same for an unknown organization: sign-up tells nothing about who exists.
        super().__init__("This organization does not take sign-ups.", field="organization")


# ---- invitations ----------------------------------------------------------


async def resend_invitation(
    session: AsyncSession, principal: Principal, user_id: int, *, app_url: str
) -> User:
    """A fresh invitation email; the earlier link stops working at once."""
    user = await service.get_user(session, principal, user_id, field="user_id")
    service.check_may_manage(principal, user.role)
    if not user.invitation_pending:
        raise Conflict("This user has already set a password: there is no invitation to resend.",
                       field="user_id")
    if not user.active:
        raise Conflict("This user is deactivated; reactivate them before inviting them again.",
                       field="user_id")
    await account_tokens.forget(session, user.id, TokenPurpose.INVITATION)
    await emails.send_invitation(session, user, app_url=app_url)
    return user


async def accept_invitation(
    db: Database, *, token: str, password: str, issuer: TokenIssuer
) -> LoggedIn:
    """Sets the invited user's password from the invitation's token, and logs them in."""
    async with db.transaction(None) as session:
        user = await _redeem(session, token, TokenPurpose.INVITATION)
        if not user.invitation_pending:
            raise InvalidToken()
        user.password_hash = hash_password(
            check_password(password, email=user.email, field="password"))
        await session.flush()
    return logged_in(user, issuer)


async def _redeem(session: AsyncSession, token: str, purpose: TokenPurpose) -> User:
    """The active user a token is for, the token used up in the session's transaction, which
    moves into the user's organization."""
    redeemed = await account_tokens.redeem(session, token, purpose)
    await switch_tenant(session, redeemed.organization_id)
    user = await repository.get_user(session, redeemed.user_id)
    if user is None or not user.active:
        raise InvalidToken()
    return user


# ---- sign-up --------------------------------------------------------------


async def sign_up(
    db: Database,
    *,
    organization_slug: str,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    phone: str,
    locale: str | None = None,
    client_address: str | None,
    throttle: SignUpThrottle,
    issuer: TokenIssuer,
) -> LoggedIn:
    """A new CLIENT of an organization that allows sign-up, logged in.

    The role is CLIENT by construction: nothing a caller sends can choose another.
    """
    slug = _slug(organization_slug)
    async with db.transaction(None, read_only=True) as session:
        organization = await organizations.find_by_slug(session, slug)
    if organization is None or not organization.allow_client_signup:
        raise SignUpClosed()
    await _count_sign_up(db, slug, client_address, throttle)
    async with db.transaction(organization.id) as session:
        try:
            user = await service.register_user(
                session, email=email, first_name=first_name, last_name=last_name,
                phone=phone, role=Role.CLIENT, password=password, locale=locale)
        except Conflict:
            # Said no more plainly than any other refusal: nothing about the account.
            raise Conflict("This email cannot be used to sign up here. If it is yours, log in "
                           "or reset your password.", field="email") from None
    return logged_in(user, issuer)


async def _count_sign_up(db: Database, slug: str, client_address: str | None,
                         throttle: SignUpThrottle) -> None:
    counted = [(throttling.purpose_key("signup-org", slug), throttle.per_organization,
                "sign-ups for this organization")]
    if client_address:
        counted.append((throttling.purpose_key("signup-address", slug, client_address),
                        throttle.per_address, "sign-ups from this address"))
    # Its own committed transaction: the attempt counts even if the sign-up is refused.
    async with db.transaction(None) as session:
        refusals = [await throttling.count_attempt(
            session, key, Throttle(max_attempts=limit,
                                        window_seconds=throttle.window_seconds),
            counted=counted_what) for key, limit, counted_what in counted]
    for refusal in refusals:
        if refusal is not None:
            raise refusal


def _slug(organization_slug: str) -> str:
    slug = organization_slug.strip().lower()
    if not slug or len(slug) > MAX_SLUG_LENGTH:
        raise ValidationFailed("Name the organization by its slug, e.g. \"sunrise-therapy\".",
                               field="organization")
    return slug


# ---- password reset and change --------------------------------------------


async def request_password_reset(
    db: Database, *, organization_slug: str, email: str, app_url: str, throttle: Throttle
) -> None:
    """Emails a reset link if the account exists and is active; otherwise does nothing.

    The caller's answer is the same either way, and so is the work it waits for: one
    transaction that counts the attempt and looks for the account, and one commit; an
    account that exists adds only the email's two inserts. So neither the answer nor its
    timing tells who has an account. Past the throttle (per account as typed) nothing is
    sent either, silently for the same reason.
    """
    slug = _slug(organization_slug)
    address = validation.email(email, "email")
    key = throttling.purpose_key("password-reset", slug, address)
    async with db.transaction(None) as session:
        refusal = await throttling.count_attempt(session, key, throttle,
                                                 counted="password resets")
        if refusal is not None:
            logger.warning("password reset throttled (%s)", refusal.message)
            return
        organization = await organizations.find_by_slug(session, slug)
        if organization is None:
            return
        await switch_tenant(session, organization.id)
        user = await repository.find_user_by_email(session, address)
        if user is not None and user.active:
            await emails.send_password_reset(session, user, app_url=app_url)


async def reset_password(
    db: Database, *, token: str, new_password: str, issuer: TokenIssuer
) -> LoggedIn:
    """Sets a new password from a reset token, ends every other session, and logs the user
    in. A pending invitation is fulfilled too: the person has a password now."""
    async with db.transaction(None) as session:
        user = await _redeem(session, token, TokenPurpose.PASSWORD_RESET)
        user.password_hash = hash_password(
            check_password(new_password, email=user.email, field="new_password"))
        await account_tokens.forget(session, user.id, TokenPurpose.INVITATION)
        await session.flush()
        await _end_sessions(session, user)
    return logged_in(user, issuer)


async def change_password(
    session: AsyncSession, principal: Principal, *, current_password: str, new_password: str
) -> User:
    """Changes the caller's own password; needs the current one. Sessions stay open:
    `revokeSessions` ends them."""
    user = await service.get_me(session, principal)
    if not verify_password(user.password_hash, current_password):
        raise ValidationFailed("The current password is not right.", field="current_password")
    user.password_hash = hash_password(
        check_password(new_password, email=user.email, field="new_password"))
    await session.flush()
    return user


# ---- sessions -------------------------------------------------------------


async def revoke_sessions(
    session: AsyncSession, principal: Principal, user_id: int | None = None
) -> User:
    """Ends every session of a user (default: the caller's own): every token issued so far
    stops working at its next request, on every replica. Another user's: ADMIN only."""
    target = principal.user_id if user_id is None else user_id
    if target != principal.user_id and not principal.is_admin:
        raise Forbidden("Only an ADMIN may end another user's sessions.")
    user = await service.get_user(session, principal, target, field="user_id")
    await _end_sessions(session, user)
    return user


async def _end_sessions(session: AsyncSession, user: User) -> None:
    """Moves the user's session version on, in one atomic increment (two concurrent
    revocations both count), and into the loaded `user` for the token issued next."""
    statement = (update(User)
                 .where(User.organization_id == current_organization_id(session),
                        User.id == user.id)
                 .values(session_version=User.session_version + 1)
                 .returning(User.session_version)
                 .execution_options(synchronize_session=False))
    set_committed_value(user, "session_version", await session.scalar(statement))
