"""The emails people wait for: invitations and password resets.

Rendered from Jinja2 templates (`templates/`, HTML autoescaped) into the outbox, in the
caller's transaction, as awaited messages: their own delivery job sends them within
seconds of the commit. The link's token is not in the outbox: the body holds a
placeholder, and delivery mints the token as it sends (`mint_token_for_message`).
"""

from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from app.notifications.models import NotificationKind
from app.notifications.outbox import TOKEN_PLACEHOLDER, enqueue
from app.organizations import repository as organizations
from app.people import account_tokens
from app.people.account_tokens import TokenPurpose
from app.people.models import User

_templates = Environment(
    loader=PackageLoader("app.people", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,  # a misspelt variable fails the test, not the email
    keep_trailing_newline=True,
)


@dataclass(frozen=True, slots=True)
class _Email:
    kind: NotificationKind
    purpose: TokenPurpose
    template: str
    path: str  # of the frontend page the link opens
    subject: str
    valid_for: str


_INVITATION = _Email(NotificationKind.INVITATION, TokenPurpose.INVITATION, "invitation",
                     "accept-invitation", "You are invited to {organization}", "7 days")
_PASSWORD_RESET = _Email(NotificationKind.PASSWORD_RESET, TokenPurpose.PASSWORD_RESET,
                         "password_reset", "reset-password",
                         "Reset your password at {organization}", "1 hour")
_PURPOSE_OF_KIND = {email.kind: email.purpose for email in (_INVITATION, _PASSWORD_RESET)}


def link(app_url: str, path: str, token: str) -> str:
    """The frontend page a token opens: `{app_url}/{path}?token=...` (tokens are URL-safe)."""
    return f"{app_url}/{path}?token={token}"


async def send_invitation(session: AsyncSession, user: User, *, app_url: str) -> None:
    """Queues the invitation email; its link works for 7 days, until the next one is sent."""
    await _queue(session, user, _INVITATION, app_url=app_url)


async def send_password_reset(session: AsyncSession, user: User, *, app_url: str) -> None:
    """Queues the password-reset email; its link works for an hour, until the next one."""
    await _queue(session, user, _PASSWORD_RESET, app_url=app_url)


async def _queue(session: AsyncSession, user: User, email: _Email, *, app_url: str) -> None:
    organization = await organizations.get_current(session)
    values = {"first_name": user.first_name, "organization": organization.name,
              "link": link(app_url, email.path, TOKEN_PLACEHOLDER),
              "valid_for": email.valid_for}
    await enqueue(
        session,
        kind=email.kind,
        recipient_user_id=user.id,
        subject=email.subject.format(organization=organization.name),
        body=_templates.get_template(f"{email.template}.txt").render(values),
        html_body=_templates.get_template(f"{email.template}.html").render(values),
        awaited=True,
    )


async def mint_token_for_message(session: AsyncSession, kind: NotificationKind,
                                 user_id: int) -> str:
    """The token an invitation or reset email links to, minted as it is sent: the
    `TokenMinter` delivery calls. The user's earlier token of that kind stops working."""
    return await account_tokens.mint(session, user_id, _PURPOSE_OF_KIND[kind])
