"""Creating organizations and changing their settings."""

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import validation
from app.auth import Principal
from app.db import switch_tenant
from app.errors import Conflict, Forbidden, ValidationFailed
from app.i18n.languages import checked_tag
from app.organizations import repository
from app.organizations.models import Organization

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


async def get_current(session: AsyncSession) -> Organization:
    """Gets the organization of the session's tenant; every role may see it."""
    return await repository.get_current(session)


async def create(
    session: AsyncSession, *, slug: str, name: str, time_zone: str, currency: str = "USD"
) -> Organization:
    """Creates an organization and makes it the session's tenant for the rest of the transaction."""
    if not _SLUG.match(slug):
        raise ValidationFailed(
            "Slugs are 2-63 lower-case letters, digits or dashes, starting with a letter or digit.",
            field="slug",
        )
    if await repository.find_by_slug(session, slug) is not None:
        raise Conflict(f"An organization with slug {slug!r} already exists.", field="slug")
    organization = Organization(
        slug=slug,
        name=validation.required_text(name, "name"),
        time_zone=validation.time_zone(time_zone, "time_zone"),
        currency=validation.currency_code(currency, "currency"),
    )
    session.add(organization)
    await session.flush()
    await switch_tenant(session, organization.id)
    return organization


async def update_settings(
    session: AsyncSession, principal: Principal, changes: Mapping[str, Any]
) -> Organization:
    """Changes the organization's name, zone, currency, language or booking settings (ADMIN
    only).

    `changes` holds only the attributes given; `credit_expiry_days=None` means
    credits never expire.
    """
    if not principal.is_admin:
        raise Forbidden("Only an ADMIN may change the organization's settings.")
    organization = await repository.get_current(session)
    for attribute, value in changes.items():
        setattr(organization, attribute, _checked_setting(attribute, value))
    await session.flush()
    return organization


def _checked_setting(attribute: str, value: Any) -> Any:
    if value is None and attribute != "credit_expiry_days":
        raise ValidationFailed("Cannot be null.", field=attribute)
    match attribute:
        case "name":
            return validation.required_text(value, attribute)
        case "time_zone":
            return validation.time_zone(value, attribute)
        case "currency":
            return validation.currency_code(value, attribute)
        case "reminder_lead_hours":
            return _reminder_lead_hours(value, attribute)
        case "allow_client_signup":
            return value
        case "locale":
            return checked_tag(value, attribute)
        case "credit_expiry_days" if value is None:
            return None
        case _:
            low, high = _BOUNDS[attribute]
            return validation.int_between(value, low, high, attribute)


# The same bounds as the table's CHECK constraints.
_BOUNDS = {
    "booking_window_days": (1, 365),
    "minimum_notice_minutes": (0, 43200),
    "cancellation_policy_hours": (0, 720),
    "pre_confirmation_ttl_hours": (1, 720),
    "default_session_minutes": (5, 720),
    "credit_expiry_days": (1, 3650),
}


def _reminder_lead_hours(hours: list[int], field: str) -> list[int]:
    if len(hours) > 5:
        raise ValidationFailed("At most 5 reminder lead times.", field=field)
    for value in hours:
        validation.int_between(value, 1, 720, field)
    return sorted(set(hours), reverse=True)
