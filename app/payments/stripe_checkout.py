"""Stripe Checkout as the `PaymentProvider`, through Stripe's own `stripe` library.

A checkout is a Checkout Session in payment mode: one line of the package's price in the
organization's currency, metadata naming the organization and the PENDING purchase, and
an idempotency key of ours, so a retried request makes no second session. Events are
verified by `stripe.Webhook.construct_event` (the signature, and a timestamp at most
`TOLERANCE_SECONDS` old, against replays).
"""

from typing import Any

import stripe

from app.payments.provider import (
    Checkout,
    CheckoutReport,
    CheckoutRequest,
    CheckoutState,
    InvalidEvent,
    PaymentProviderError,
    ProviderEvent,
)

TOLERANCE_SECONDS = 300  # Stripe's own default
TIMEOUT_SECONDS = 10.0
# The events that move a checkout; any other is acknowledged and ignored.
_EVENT_STATES = {
    "checkout.session.completed": None,  # paid, or an asynchronous payment under way
    "checkout.session.async_payment_succeeded": CheckoutState.PAID,
    "checkout.session.async_payment_failed": CheckoutState.FAILED,
    "checkout.session.expired": CheckoutState.EXPIRED,
}


class StripeCheckout:
    name = "stripe"

    def __init__(self, *, secret_key: str, webhook_secret: str | None, api_base: str) -> None:
        self._client = stripe.StripeClient(
            secret_key, base_addresses={"api": api_base},
            http_client=stripe.HTTPXClient(timeout=TIMEOUT_SECONDS),
            # Safe to retry: every creation carries our idempotency key.
            max_network_retries=2)
        self._webhook_secret = webhook_secret

    async def start_checkout(self, request: CheckoutRequest) -> Checkout:
        metadata = {"organization_id": str(request.organization_id),
                    "transaction_id": str(request.transaction_id)}
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [{"quantity": 1, "price_data": {
                "currency": request.currency.lower(), "unit_amount": request.amount_cents,
                "product_data": {"name": request.product_name}}}],
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "client_reference_id": f"{request.organization_id}:{request.transaction_id}",
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "expires_at": int(request.expires_at.timestamp()),
        }
        if request.customer_email:
            params["customer_email"] = request.customer_email
        params["locale"] = checkout_locale(request.locale)
        try:
            session = await self._client.v1.checkout.sessions.create_async(
                params, {"idempotency_key": request.idempotency_key})
        except stripe.StripeError as error:
            raise PaymentProviderError(_message(error)) from error
        if not session.url:
            raise PaymentProviderError("Stripe made a checkout without a page to pay on.")
        return Checkout(session_id=session.id, url=session.url)

    async def checkout_report(self, session_id: str) -> CheckoutReport:
        try:
            session = await self._client.v1.checkout.sessions.retrieve_async(session_id)
        except stripe.StripeError as error:
            raise PaymentProviderError(_message(error)) from error
        return _report(session, None)

    def read_event(self, body: bytes, headers: dict[str, str]) -> ProviderEvent:
        if not self._webhook_secret:
            raise InvalidEvent("no webhook secret is configured")
        try:
            event = stripe.Webhook.construct_event(
                body, headers.get("stripe-signature"), self._webhook_secret,
                tolerance=TOLERANCE_SECONDS)
        except stripe.SignatureVerificationError as error:
            raise InvalidEvent(f"bad signature: {error.user_message or error}") from error
        except ValueError as error:  # not JSON, or not an event
            raise InvalidEvent("not a Stripe event") from error
        if event.type not in _EVENT_STATES:
            return ProviderEvent(event_id=event.id, type=event.type, report=None)
        return ProviderEvent(event_id=event.id, type=event.type,
                             report=_report(event.data.object, _EVENT_STATES[event.type]))


def _report(stripe_session: stripe.StripeObject, state: CheckoutState | None) -> CheckoutReport:
    """A Checkout Session as a report; `state` None: read from the session itself."""
    session = stripe_session.to_dict()
    if state is None:
        if session.get("status") == "expired":
            state = CheckoutState.EXPIRED
        elif (session.get("status") == "complete"
              and session.get("payment_status") in ("paid", "no_payment_required")):
            state = CheckoutState.PAID
        else:
            state = CheckoutState.OPEN
    metadata = session.get("metadata") or {}
    currency = session.get("currency")
    return CheckoutReport(
        session_id=session["id"], state=state,
        organization_id=_number(metadata.get("organization_id")),
        transaction_id=_number(metadata.get("transaction_id")),
        amount_cents=session.get("amount_total"),
        currency=currency.upper() if isinstance(currency, str) else None)


def _number(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def checkout_locale(tag: str) -> str:
    """The language of Stripe's payment page for a shipped tag: Checkout takes "en",
    "en-GB", "es" (Spain's Spanish) and "es-419" (Latin America's), and refuses others."""
    language, _, region = tag.partition("-")
    if language == "es":
        return "es" if region in ("", "ES") else "es-419"
    return "en-GB" if region == "GB" else "en"


def _message(error: stripe.StripeError) -> str:
    return f"Stripe refused the checkout: {error.user_message or type(error).__name__}."
