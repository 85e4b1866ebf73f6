"""Which language a person's messages are written in (docs/rules.md: languages)."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.i18n.languages import Language, for_recipient
from app.organizations import repository as organizations
from app.people import repository


async def language_of(session: AsyncSession, user_id: int) -> Language:
    """Their own language, else their organization's."""
    user = await repository.get_user(session, user_id)
    organization = await organizations.get_current(session)
    return for_recipient(None if user is None else user.locale, organization.locale)
