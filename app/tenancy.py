"""The tenant of a unit of work, and the error raised when there is none.

A database session is opened for exactly one organization (see `app.db`).
Repositories ask the session for its tenant instead of taking it as an
argument, so no caller can scope a query to the wrong organization.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import AccessError

TENANT_KEY = "organization_id"


class TenantRequired(AccessError):
    """Tenant data was asked for outside a tenant context: a programming error."""

    code = "TENANT_REQUIRED"

    def __init__(self, message: str = "This operation needs an organization context.") -> None:
        super().__init__(message)


def current_organization_id(session: AsyncSession) -> int:
    """The organization the session works for; raises `TenantRequired` if none was set."""
    organization_id = session.info.get(TENANT_KEY)
    if organization_id is None:
        raise TenantRequired()
    return organization_id
