"""The buyer's messages about an online purchase: a receipt when the credits arrive, and a
note when the payment fails. Written to the outbox in the settling transaction, once each
(a dedupe key per purchase)."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.credits.ledger import Posting
from app.notifications.models import NotificationKind
from app.notifications.outbox import enqueue
from app.organizations import repository as organizations


def money(cents: int, currency: str) -> str:
    return f"{cents / 100:,.2f} {currency}"


def _credits(count: int) -> str:
    return f"{count} credit{'s' if count != 1 else ''}"


async def receipt(session: AsyncSession, posting: Posting) -> None:
    purchase, organization = posting.transaction, await organizations.get_current(session)
    paid = money(purchase.amount_paid_cents or 0, purchase.currency or organization.currency)
    await enqueue(
        session, kind=NotificationKind.RECEIPT, recipient_user_id=purchase.user_id,
        subject=f"{_credits(purchase.amount)} added - {organization.name}",
        body=(f"Thank you: your payment of {paid} has arrived. {_credits(purchase.amount)} "
              f"are in your balance, which is now {posting.balance.balance}."
              + (f" They are valid until {purchase.expires_at:%d %B %Y}."
                 if purchase.expires_at else "")),
        dedupe_key=f"receipt:{purchase.id}")


async def payment_failed(session: AsyncSession, posting: Posting) -> None:
    purchase, organization = posting.transaction, await organizations.get_current(session)
    await enqueue(
        session, kind=NotificationKind.PAYMENT_FAILED, recipient_user_id=purchase.user_id,
        subject=f"Your payment did not go through - {organization.name}",
        body=(f"Your payment of {money(purchase.amount_paid_cents or 0, purchase.currency or '')}"
              f" for {_credits(purchase.amount)} did not go through: "
              f"{purchase.failure_reason or 'the payment failed.'} No credits were added. If "
              f"you were charged all the same, please contact {organization.name}."),
        dedupe_key=f"payment-failed:{purchase.id}")
