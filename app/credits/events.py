"""The webhook events of credits (docs/webhooks.md): `data.transaction` is the ledger entry
and `data.balance` the client's balance right after it, as the API shows them to an ADMIN.

The ledger records them (app/credits/ledger.py), so no movement of credits is left out.
"""

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.credits.models import CreditBalance, CreditTransaction
from app.global_ids import encode
from app.webhooks import events
from app.webhooks.events import reference

PURCHASED = "credits.purchased"
PURCHASE_COMPLETED = "credits.purchase_completed"
PURCHASE_FAILED = "credits.purchase_failed"
REFUNDED = "credits.refunded"
ADJUSTED = "credits.adjusted"
EXPIRED = "credits.expired"


def transaction_data(entry: CreditTransaction) -> dict[str, Any]:
    return {
        "id": encode("CreditTransaction", entry.id),
        "type": entry.type.value,
        "status": entry.status.value,
        "amount": entry.amount,
        "balanceAfter": entry.balance_after,
        "amountPaidCents": entry.amount_paid_cents,
        "currency": entry.currency,
        "paymentReference": entry.payment_reference,
        "expiresAt": entry.expires_at,
        "description": entry.description,
        "failureReason": entry.failure_reason,
        "createdAt": entry.created_at,
        "processedAt": entry.processed_at,
        "user": reference("User", entry.user_id),
        "appointment": reference("Appointment", entry.appointment_id),
        "reverses": reference("CreditTransaction", entry.reverses_id),
        "createdBy": reference("User", entry.created_by_id),
    }


def balance_data(balance: CreditBalance) -> dict[str, Any]:
    return {
        "id": encode("CreditBalance", balance.user_id),
        "balance": balance.balance,
        "lifetimePurchased": balance.lifetime_purchased,
        "lifetimeUsed": balance.lifetime_used,
        "lifetimeRefunded": balance.lifetime_refunded,
        "lifetimeExpired": balance.lifetime_expired,
        "updatedAt": balance.updated_at,
        "user": reference("User", balance.user_id),
    }


async def posted(session: AsyncSession, event_type: str, entry: CreditTransaction,
                 balance: CreditBalance, *, at: datetime) -> None:
    """Records `event_type` of a ledger entry (flushed) and the balance after it."""
    await events.record(session, event_type, {"transaction": transaction_data(entry),
                                              "balance": balance_data(balance)}, at=at)
