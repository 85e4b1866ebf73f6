"""Starting a purchase online: a PENDING purchase of a package, and the provider's page to pay
on (docs/rules.md: buying credits online).

Everything is checked before anything is written or the provider is called: who may buy
for whom, the package (offered, not free), the return URLs, and that a provider is set up.
The PENDING entry, the provider's checkout and its record are then made in the caller's
transaction: if the provider refuses, nothing is written; if the transaction fails after
the provider made its checkout, the checkout names a purchase that does not exist, and
its events are ignored until it expires unpaid.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from app import idempotency
from app.auth import Principal, Role
from app.clock import utc_now
from app.config import Settings
from app.credits import ledger, packages
from app.credits.models import CreditTransaction
from app.credits.service import client_of
from app.errors import Forbidden, PaymentUnavailable, ValidationFailed
from app.i18n.languages import for_recipient
from app.organizations import repository as organizations
from app.payments.models import PaymentCheckout
from app.payments.provider import CheckoutRequest, PaymentProvider, PaymentProviderError
from app.payments.stripe_checkout import StripeCheckout

MAX_URL_LENGTH = 2048
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True, slots=True)
class StartedCheckout:
    url: str
    transaction: CreditTransaction


def configured_provider(settings: Settings) -> PaymentProvider | None:
    """The server's payment provider: Stripe with a secret key, else none."""
    if not settings.stripe_secret_key:
        return None
    return _stripe(settings.stripe_secret_key, settings.stripe_webhook_secret,
                   settings.stripe_api_base)


@lru_cache(maxsize=4)
def _stripe(secret_key: str, webhook_secret: str | None, api_base: str) -> StripeCheckout:
    # One client (and its connection pool) per configuration, not one per request.
    return StripeCheckout(secret_key=secret_key, webhook_secret=webhook_secret,
                          api_base=api_base)


async def start_checkout(
    session: AsyncSession,
    principal: Principal,
    provider: PaymentProvider | None,
    *,
    package_id: int,
    user_id: int | None,
    success_url: str,
    cancel_url: str,
    lifetime: timedelta,
    allow_local_http: bool,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> StartedCheckout:
    """A CLIENT buys for themself, STAFF and ADMIN for a client: a PENDING purchase of the
    package's credits at its price now, and the provider's page (`url`) to pay it on."""
    if principal.role is Role.PROFESSIONAL or (
            principal.role is Role.CLIENT and user_id not in (None, principal.user_id)):
        raise Forbidden("Clients buy credits for themselves; STAFF and ADMIN for a client.")
    buyer_id = principal.user_id if user_id is None else user_id
    now = utc_now(now)

    async def perform() -> StartedCheckout:
        package = await packages.get_package(session, principal, package_id)
        if not package.active:
            raise ValidationFailed("This package is retired and no longer sold.",
                                   field="package_id")
        if package.price_cents == 0:
            raise ValidationFailed("A free package is not bought online; STAFF record it "
                                   "with purchaseCredits.", field="package_id")
        success = return_url(success_url, "success_url", allow_local_http=allow_local_http)
        cancel = return_url(cancel_url, "cancel_url", allow_local_http=allow_local_http)
        buyer = await client_of(session, buyer_id)
        if provider is None:
            raise PaymentUnavailable("Online payment is not set up on this server "
                                     "(BOOKINGS_STRIPE_SECRET_KEY); nothing was bought.")
        organization = await organizations.get_current(session)
        days = (package.validity_days if package.validity_days is not None
                else organization.credit_expiry_days)
        posting = await ledger.purchase(
            session, user_id=buyer.id, credits=package.credits,
            amount_paid_cents=package.price_cents, currency=package.currency, now=now,
            expires_at=None if days is None else now + timedelta(days=days), pending=True,
            created_by_id=principal.user_id, description=f"Online purchase: {package.name}")
        transaction = posting.transaction
        expires_at = now + lifetime
        try:
            checkout = await provider.start_checkout(CheckoutRequest(
                organization_id=organization.id, transaction_id=transaction.id,
                product_name=package.name, amount_cents=package.price_cents,
                currency=package.currency, success_url=success, cancel_url=cancel,
                customer_email=buyer.email,
                locale=for_recipient(buyer.locale, organization.locale).tag,
                expires_at=expires_at,
                idempotency_key=f"bookings-checkout-{organization.id}-{transaction.id}"))
        except PaymentProviderError as error:
            raise PaymentUnavailable(f"{error} Nothing was bought; try again.") from error
        session.add(PaymentCheckout(
            organization_id=organization.id, transaction_id=transaction.id,
            provider=provider.name, session_id=checkout.session_id,
            credit_package_id=package.id, expires_at=expires_at))
        await session.flush()
        return StartedCheckout(url=checkout.url, transaction=transaction)

    request = {"package_id": package_id, "user_id": buyer_id, "success_url": success_url,
               "cancel_url": cancel_url}
    return await idempotency.run_once(
        session, caller_id=principal.user_id, key=idempotency_key, operation="startCheckout",
        request=request, perform=perform, made=StartedCheckout)


def return_url(value: str, field: str, *, allow_local_http: bool) -> str:
    """Where the provider sends the buyer back: https, or http to this machine in
    development."""
    url = value.strip()
    parts = urlsplit(url)
    if len(url) > MAX_URL_LENGTH or not parts.hostname:
        raise ValidationFailed(f"An absolute URL of at most {MAX_URL_LENGTH} characters.",
                               field=field)
    local_http = (parts.scheme == "http" and allow_local_http
                  and parts.hostname in _LOCAL_HOSTS)
    if parts.scheme != "https" and not local_http:
        raise ValidationFailed("The URL must be https (http only to localhost in "
                               "development).", field=field)
    return url
