"""The server wired to a local Stripe stand-in, per test."""

import pytest

from tests.payments.stripe_standin import StripeStandIn
from tests.payments.support import stripe_settings
from tests.support import GraphQLClient


@pytest.fixture
def standin():
    with StripeStandIn() as running:
        yield running


@pytest.fixture
def http(app_with, standin):
    """An HTTP client of the server with Stripe set up against the stand-in."""
    return app_with(**stripe_settings(standin))


@pytest.fixture
def pay(http) -> GraphQLClient:
    return GraphQLClient(http)
