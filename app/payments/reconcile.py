"""`bookings payments reconcile`: online purchases still PENDING after their checkout should
have ended (a webhook that never came, or came while the server was down), asked of the
provider and settled as it says, through the webhook's own `settle`.

Idempotent: a purchase settled once is no longer PENDING, and running it again finds
nothing to do. Without a provider key it only lists them.
"""

import dataclasses
from datetime import datetime

from sqlalchemy import select

from app.clock import utc_now
from app.credits.models import CreditTransaction, TransactionStatus
from app.db import Database
from app.organizations.models import Organization
from app.payments.models import PaymentCheckout
from app.payments.provider import PaymentProvider, PaymentProviderError
from app.payments.settlement import settle


async def reconcile(db: Database, provider: PaymentProvider | None, *,
                    now: datetime | None = None) -> list[str]:
    """One line per overdue PENDING purchase: what the provider said and what was done."""
    now = utc_now(now)
    async with db.transaction(None, read_only=True) as session:
        organizations = (await session.execute(
            select(Organization.id, Organization.slug).order_by(Organization.id))).all()
    lines = []
    for organization_id, slug in organizations:
        async with db.transaction(organization_id, read_only=True) as session:
            overdue = (await session.execute(
                select(PaymentCheckout.transaction_id, PaymentCheckout.session_id,
                       PaymentCheckout.expires_at)
                .join(CreditTransaction,
                      (CreditTransaction.organization_id == PaymentCheckout.organization_id)
                      & (CreditTransaction.id == PaymentCheckout.transaction_id))
                .where(PaymentCheckout.organization_id == organization_id,
                       CreditTransaction.status == TransactionStatus.PENDING,
                       PaymentCheckout.expires_at <= now)
                .order_by(PaymentCheckout.transaction_id))).all()
        for transaction_id, session_id, expires_at in overdue:
            about = (f"{slug}: purchase {transaction_id} (checkout {session_id}, "
                     f"ended {expires_at:%Y-%m-%d %H:%M} UTC)")
            if provider is None:
                lines.append(f"{about}: PENDING; no provider key, not asked")
                continue
            try:
                report = await provider.checkout_report(session_id)
            except PaymentProviderError as error:
                lines.append(f"{about}: could not ask the provider: {error}")
                continue
            # Ours, not what the checkout's metadata says: the purchase found above.
            report = dataclasses.replace(report, organization_id=organization_id,
                                         transaction_id=transaction_id)
            async with db.transaction(organization_id) as session:
                outcome = await settle(session, report, now=now)
            lines.append(f"{about}: {report.state.value} at {provider.name}, {outcome.value}")
    return lines
