"""Demo credits: every demo client gets purchases (one still PENDING) and an adjustment; the
organization sells three packages online (one retired)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Role
from app.credits import ledger
from app.credits.models import CreditPackage
from app.organizations import repository as organizations
from app.people.models import User
from app.tenancy import current_organization_id


async def seed_demo_credits(session: AsyncSession) -> None:
    """Gives the organization's clients a short, realistic ledger (recorded by its admin)."""
    organization = await organizations.get_current(session)
    users = list(await session.scalars(
        select(User)
        .where(User.organization_id == current_organization_id(session),
               User.role.in_([Role.ADMIN, Role.CLIENT]))
        .order_by(User.id)
    ))
    admin = next(user for user in users if user.role is Role.ADMIN)
    now = datetime.now(UTC)
    days = organization.credit_expiry_days
    expires_at = None if days is None else now + timedelta(days=days)
    clients = [user for user in users if user.role is Role.CLIENT]
    for number, client in enumerate(clients):
        await ledger.purchase(
            session, user_id=client.id, credits=10, amount_paid_cents=40_000,
            currency=organization.currency, payment_reference=f"DEMO-{1000 + number}",
            now=now, expires_at=expires_at, created_by_id=admin.id,
        )
        await ledger.adjust(
            session, user_id=client.id, amount=2, reason="Welcome bonus",
            now=now, expires_at=now + timedelta(days=90), created_by_id=admin.id,
        )
    if clients:
        await ledger.purchase(
            session, user_id=clients[0].id, credits=5, amount_paid_cents=20_000,
            currency=organization.currency, payment_reference="DEMO-BANK-TRANSFER",
            pending=True, now=now, expires_at=expires_at, created_by_id=admin.id,
        )
    for name, credits, price_cents, validity_days, active in (
            ("5 sessions", 5, 22_500, None, True),
            ("10 sessions", 10, 40_000, 180, True),
            ("Trial session", 1, 3_000, 30, False)):
        session.add(CreditPackage(
            organization_id=organization.id, name=name, credits=credits,
            price_cents=price_cents, currency=organization.currency,
            validity_days=validity_days, active=active))
