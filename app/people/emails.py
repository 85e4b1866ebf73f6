"""The emails people wait for: invitations and password resets.

Rendered from Jinja2 templates (`templates/`, HTML autoescaped, their words in `{% trans %}`
blocks of the gettext catalogues) into the outbox in the recipient's language, in the
caller's transaction, as awaited messages: their own delivery job sends them within
seconds of the commit. The link's token is not in the outbox: the body holds a
placeholder, and delivery mints the token as it sends (`mint_token_for_message`).
"""

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from app.i18n import languages
from app.i18n.languages import N_, for_recipient
from app.notifications.models import NotificationKind
from app.notifications.outbox import TOKEN_PLACEHOLDER, enqueue
from app.organizations import repository as organizations
from app.people import account_tokens
from app.people.account_tokens import TokenPurpose
from app.people.models import User


@cache
def _templates(tag: str) -> Environment:
    """The templates, speaking the language of `tag`: one environment per language, as Jinja
    installs its translations on the environment."""
    speaking = languages.language(tag)
    environment = Environment(
        loader=PackageLoader("app.people", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a misspelt variable fails the test, not the email
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    # New-style: `{% trans %}` output is escaped like any other value in HTML.
    environment.install_gettext_callables(speaking.gettext, speaking.ngettext, newstyle=True)
    return environment


@dataclass(frozen=True, slots=True)
class _Email:
    kind: NotificationKind
    purpose: TokenPurpose
    template: str
    path: str  # of the frontend page the link opens
    subject: str  # a message id: translated when the email is queued
    valid_for: timedelta


_INVITATION = _Email(NotificationKind.INVITATION, TokenPurpose.INVITATION, "invitation",
                     "accept-invitation", N_("You are invited to {organization}"),
                     timedelta(days=7))
_PASSWORD_RESET = _Email(NotificationKind.PASSWORD_RESET, TokenPurpose.PASSWORD_RESET,
                         "password_reset", "reset-password",
                         N_("Reset your password at {organization}"), timedelta(hours=1))
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
    language = for_recipient(user.locale, organization.locale)
    values = {"first_name": user.first_name, "organization": organization.name,
              "link": link(app_url, email.path, TOKEN_PLACEHOLDER),
              "valid_for": language.duration(email.valid_for), "lang": language.tag}
    templates = _templates(language.tag)
    await enqueue(
        session,
        kind=email.kind,
        recipient_user_id=user.id,
        subject=language.gettext(email.subject).format(organization=organization.name),
        body=templates.get_template(f"{email.template}.txt").render(values),
        html_body=templates.get_template(f"{email.template}.html").render(values),
        locale=language.tag,
        awaited=True,
    )


async def mint_token_for_message(session: AsyncSession, kind: NotificationKind,
                                 user_id: int) -> str:
    """The token an invitation or reset email links to, minted as it is sent: the
    `TokenMinter` delivery calls. The user's earlier token of that kind stops working."""
    return await account_tokens.mint(session, user_id, _PURPOSE_OF_KIND[kind])
