"""The buyer's messages about an online purchase: a receipt when the credits arrive, and a
note when the payment fails. Written to the outbox in the settling transaction, once each
(a dedupe key per purchase), in the buyer's language (app/i18n)."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.credits.ledger import Posting
from app.credits.models import CreditTransaction
from app.i18n.languages import Language
from app.notifications.models import NotificationKind
from app.notifications.outbox import enqueue
from app.organizations import repository as organizations
from app.organizations.models import Organization
from app.people.languages import language_of


def _credits(language: Language, count: int) -> str:
    return language.ngettext("{count} credit", "{count} credits", count).format(count=count)


def _paid(language: Language, purchase: CreditTransaction, organization: Organization) -> str:
    return language.money(purchase.amount_paid_cents or 0,
                          purchase.currency or organization.currency)


async def receipt(session: AsyncSession, posting: Posting) -> None:
    purchase, organization = posting.transaction, await organizations.get_current(session)
    language = await language_of(session, purchase.user_id)
    _ = language.gettext
    credits = _credits(language, purchase.amount)
    body = _("Thank you: your payment of {paid} has arrived. We have added {credits} to your "
             "balance, which is now {balance}.").format(
                 paid=_paid(language, purchase, organization), credits=credits,
                 balance=posting.balance.balance)
    if purchase.expires_at:
        body += " " + _("Valid until {day}.").format(
            day=language.day(purchase.expires_at, organization.time_zone))
    await enqueue(
        session, kind=NotificationKind.RECEIPT, recipient_user_id=purchase.user_id,
        subject=_("Credits added: {credits} - {organization}").format(
            credits=credits, organization=organization.name),
        body=body, locale=language.tag, dedupe_key=f"receipt:{purchase.id}")


async def payment_failed(session: AsyncSession, posting: Posting) -> None:
    purchase, organization = posting.transaction, await organizations.get_current(session)
    language = await language_of(session, purchase.user_id)
    _ = language.gettext
    await enqueue(
        session, kind=NotificationKind.PAYMENT_FAILED, recipient_user_id=purchase.user_id,
        subject=_("Your payment did not go through - {organization}").format(
            organization=organization.name),
        body=_("Your payment of {paid} for {credits} did not go through: {reason} No credits "
               "were added. If you were charged all the same, please contact "
               "{organization}.").format(
                   paid=_paid(language, purchase, organization),
                   credits=_credits(language, purchase.amount),
                   # The payment provider's own words, when it gave any.
                   reason=purchase.failure_reason or _("the payment failed."),
                   organization=organization.name),
        locale=language.tag, dedupe_key=f"payment-failed:{purchase.id}")
