"""SQL for organizations. The tenant's own row is found through the session's tenant."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.organizations.models import Organization
from app.tenancy import current_organization_id


async def get_current(session: AsyncSession) -> Organization:
    """The organization the session works for."""
    organization = await session.get(Organization, current_organization_id(session))
    assert organization is not None, "a tenant session always names an existing organization"
    return organization


async def find_by_slug(session: AsyncSession, slug: str) -> Organization | None:
    """Organizations are readable before a tenant is known (login, CLI)."""
    return await session.scalar(select(Organization).where(Organization.slug == slug))


async def get_all_ids(session: AsyncSession) -> list[int]:
    """Every organization's id, for jobs that visit each tenant in turn."""
    return list(await session.scalars(select(Organization.id).order_by(Organization.id)))
