"""What the server asks of a payment provider, whichever it is: start a hosted checkout, read
its signed events, and tell a checkout's state. Stripe is `app.payments.stripe_checkout`;
another provider (Mercado Pago, which the system this continues meant to use) implements
the same `PaymentProvider`.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class CheckoutState(StrEnum):
    """Where a checkout stands, as the provider says."""

    OPEN = "open"  # the buyer has not paid yet (or an asynchronous payment is under way)
    PAID = "paid"
    FAILED = "failed"  # an asynchronous payment failed
    EXPIRED = "expired"  # never paid before the checkout ended


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    organization_id: int
    transaction_id: int
    product_name: str
    amount_cents: int
    currency: str  # ISO-4217, upper case
    success_url: str
    cancel_url: str
    customer_email: str | None
    # The buyer's language (a shipped BCP 47 tag): the provider's page speaks it if it can.
    locale: str
    expires_at: datetime
    # Sent to the provider so that a retried request makes no second checkout.
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class Checkout:
    session_id: str
    url: str


@dataclass(frozen=True, slots=True)
class CheckoutReport:
    """What the provider says of one checkout: in an event, or asked (reconciliation)."""

    session_id: str
    state: CheckoutState
    # Where the checkout says it belongs (the metadata the server gave it); None if absent.
    organization_id: int | None
    transaction_id: int | None
    amount_cents: int | None
    currency: str | None  # upper case


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """A verified event. `report` is None for events about anything but a checkout."""

    event_id: str
    type: str
    report: CheckoutReport | None


class PaymentProviderError(Exception):
    """The provider refused or could not be reached; nothing was bought."""


class InvalidEvent(Exception):
    """A webhook body that is not a correctly signed, recent event of the provider."""


class PaymentProvider(Protocol):
    name: str

    async def start_checkout(self, request: CheckoutRequest) -> Checkout: ...

    async def checkout_report(self, session_id: str) -> CheckoutReport: ...

    def read_event(self, body: bytes, headers: dict[str, str]) -> ProviderEvent:
        """The verified event of a webhook request; `InvalidEvent` otherwise."""
        ...
