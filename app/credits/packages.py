"""Credit packages: what an organization sells online (docs/rules.md: credit packages).

ADMIN creates and changes them; everyone in the organization sees the active ones, and
ADMIN and STAFF the retired ones too. A package is retired, never deleted: the purchases
made of it keep their meaning (the database grants no DELETE). A price change applies to
checkouts started afterwards; a started checkout keeps the price it was started at.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import validation
from app.auth import Principal
from app.credits.models import CreditPackage
from app.credits.service import MAX_CENTS, MAX_CREDITS
from app.errors import Forbidden, NotFound, ValidationFailed
from app.organizations import repository as organizations
from app.tenancy import current_organization_id

MAX_NAME_LENGTH = 100
MAX_VALIDITY_DAYS = 3650  # ten years


def may_see_retired(principal: Principal) -> bool:
    return principal.is_staff_or_admin


async def list_packages(session: AsyncSession, principal: Principal, *,
                        include_inactive: bool = False) -> Sequence[CreditPackage]:
    """The organization's packages, cheapest first: the active ones, or all of them for
    ADMIN and STAFF when asked (FORBIDDEN for anyone else)."""
    if include_inactive and not may_see_retired(principal):
        raise Forbidden("Only STAFF or ADMIN may see retired credit packages.")
    statement = (select(CreditPackage)
                 .where(CreditPackage.organization_id == current_organization_id(session))
                 .order_by(CreditPackage.price_cents, CreditPackage.id))
    if not include_inactive:
        statement = statement.where(CreditPackage.active)
    return list(await session.scalars(statement))


async def get_package(session: AsyncSession, principal: Principal,
                      package_id: int) -> CreditPackage:
    """A package the caller may see: NOT_FOUND for another organization's, and for a retired
    one unless the caller is ADMIN or STAFF."""
    package = await session.get(CreditPackage, (current_organization_id(session), package_id))
    if package is None or not (package.active or may_see_retired(principal)):
        raise NotFound("No such credit package.", field="package_id")
    return package


async def create_package(session: AsyncSession, principal: Principal, *, name: str,
                         credits: int, price_cents: int,
                         validity_days: int | None) -> CreditPackage:
    """A new active package, priced in the organization's currency (ADMIN)."""
    _check_admin(principal)
    organization = await organizations.get_current(session)
    package = CreditPackage(
        organization_id=organization.id,
        name=validation.required_text(name, "name", max_length=MAX_NAME_LENGTH),
        credits=validation.int_between(credits, 1, MAX_CREDITS, "credits"),
        price_cents=validation.int_between(price_cents, 0, MAX_CENTS, "price_cents"),
        currency=organization.currency,
        validity_days=_validity(validity_days),
        active=True,
    )
    session.add(package)
    await session.flush()
    return package


async def update_package(session: AsyncSession, principal: Principal, package_id: int,
                         changes: Mapping[str, Any]) -> CreditPackage:
    """Changes the package's `name`, `price_cents`, `validity_days` (None: the organization's
    expiry) or `active`, whichever `changes` holds (ADMIN). Retired (`active` False), it is
    no longer offered and its checkouts are refused; its credits never change: a package of
    other credits is another package."""
    _check_admin(principal)
    package = await get_package(session, principal, package_id)
    for attribute, value in changes.items():
        setattr(package, attribute, _checked(attribute, value))
    await session.flush()
    return package


def _checked(attribute: str, value: Any) -> Any:
    if value is None and attribute != "validity_days":
        raise ValidationFailed("Cannot be null.", field=attribute)
    match attribute:
        case "name":
            return validation.required_text(value, attribute, max_length=MAX_NAME_LENGTH)
        case "price_cents":
            return validation.int_between(value, 0, MAX_CENTS, attribute)
        case "validity_days":
            return _validity(value)
        case "active":
            return bool(value)
    raise ValueError(f"a credit package has no changeable {attribute!r}")


def _validity(days: int | None) -> int | None:
    if days is None:
        return None
    return validation.int_between(days, 1, MAX_VALIDITY_DAYS, "validity_days")


def _check_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Only an ADMIN may create or change credit packages.")
