"""Completing or failing an online purchase on the provider's word, once.

An event is acted on in the organization its checkout names (its metadata, which only the
server wrote and the provider signed), under that tenant's row-level security, and only if
that organization has this very checkout for this very purchase: an event naming another
organization's purchase finds nothing and changes nothing. The event's id is recorded in
the same transaction (`payment_events`), so a second delivery, even at the same moment to
another server, waits for the first and then finds it done.

A paid checkout completes the purchase only if the amount and currency paid are the
purchase's; otherwise the purchase fails, the mismatch is logged, and no credits are
added. Reconciliation (`app.payments.reconcile`) settles through the same `settle`.
"""

import logging
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import utc_now
from app.credits import ledger
from app.credits import repository as credits
from app.credits.models import TransactionStatus, TransactionType
from app.db import Database
from app.payments import messages
from app.payments.models import PaymentCheckout, PaymentEvent
from app.payments.provider import CheckoutReport, CheckoutState, ProviderEvent

logger = logging.getLogger(__name__)


class Settled(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    UNCHANGED = "unchanged"  # still open, or settled before
    IGNORED = "ignored"  # not about a purchase of ours
    REPLAYED = "replayed"  # this event was acted on before


async def act_on_event(db: Database, provider: str, event: ProviderEvent, *,
                       now: datetime | None = None) -> Settled:
    """Acts on a verified event once; what it did."""
    report = event.report
    if report is None or report.organization_id is None or report.transaction_id is None:
        return Settled.IGNORED
    async with db.transaction(report.organization_id) as session:
        if await _checkout(session, provider, report) is None:
            logger.warning("payment event %s names no checkout of ours (organization %s, "
                           "purchase %s); ignored", event.event_id, report.organization_id,
                           report.transaction_id)
            return Settled.IGNORED
        claimed = await session.scalar(
            insert(PaymentEvent)
            .values(organization_id=report.organization_id, provider=provider,
                    event_id=event.event_id, type=event.type,
                    transaction_id=report.transaction_id)
            .on_conflict_do_nothing()
            .returning(PaymentEvent.event_id))
        if claimed is None:
            return Settled.REPLAYED
        return await settle(session, report, now=utc_now(now))


async def settle(session: AsyncSession, report: CheckoutReport, *, now: datetime) -> Settled:
    """Completes or fails the checkout's PENDING purchase as the report says, in the
    session's organization (whose checkout the caller found)."""
    purchase = await credits.lock_transaction(session, report.transaction_id)
    if (purchase is None or purchase.type is not TransactionType.PURCHASE
            or purchase.status is not TransactionStatus.PENDING):
        return Settled.UNCHANGED
    match report.state:
        case CheckoutState.PAID if (report.amount_cents, report.currency) == (
                purchase.amount_paid_cents, purchase.currency):
            posting = await ledger.complete_purchase(session, transaction_id=purchase.id,
                                                     now=now)
            await messages.receipt(session, posting)
            return Settled.COMPLETED
        case CheckoutState.PAID:
            logger.warning(
                "checkout %s paid %s %s for purchase %s of %s %s: failed, no credits added",
                report.session_id, report.amount_cents, report.currency, purchase.id,
                purchase.amount_paid_cents, purchase.currency)
            reason = (f"The amount paid ({report.amount_cents} {report.currency}) is not the "
                      f"price ({purchase.amount_paid_cents} {purchase.currency}).")
        case CheckoutState.FAILED:
            reason = "The payment failed."
        case CheckoutState.EXPIRED:
            reason = "The checkout expired unpaid."
        case _:
            return Settled.UNCHANGED
    posting = await ledger.fail_purchase(session, transaction_id=purchase.id, now=now,
                                         failure_reason=reason)
    if report.state is not CheckoutState.EXPIRED:  # an abandoned checkout needs no note
        await messages.payment_failed(session, posting)
    return Settled.FAILED


async def _checkout(session: AsyncSession, provider: str,
                    report: CheckoutReport) -> PaymentCheckout | None:
    return await session.scalar(select(PaymentCheckout).where(
        PaymentCheckout.organization_id == report.organization_id,
        PaymentCheckout.transaction_id == report.transaction_id,
        PaymentCheckout.provider == provider,
        PaymentCheckout.session_id == report.session_id))
