"""`bookings payments reconcile`: PENDING purchases whose checkout has ended are asked of
Stripe and settled as it says, once; without a key they are only listed."""

import asyncio
from datetime import UTC, datetime, timedelta

from app import global_ids as ids
from app.payments.checkout import configured_provider, start_checkout
from app.payments.reconcile import reconcile
from tests.credits.support import principal_of
from tests.payments.stripe_standin import SECRET_KEY
from tests.payments.support import SUCCESS_URL, package, purchases_of, stripe_settings
from tests.test_cli import bookings

LONG_AGO = datetime.now(UTC) - timedelta(hours=3)


async def started_long_ago(db, org, provider, package_pk: int) -> str:
    """A checkout of the client's, started three hours ago (its hour is up): its session id."""
    async with db.transaction(org.id) as session:
        started = await start_checkout(
            session, principal_of(org.client), provider, package_id=package_pk, user_id=None,
            success_url=SUCCESS_URL, cancel_url=SUCCESS_URL, lifetime=timedelta(hours=1),
            allow_local_http=False, now=LONG_AGO)
    return started.url.rpartition("/")[2]


async def test_overdue_checkouts_are_settled_as_stripe_says_and_only_once(
        pay, db, org, settings, standin):
    provider = configured_provider(settings.model_copy(update=stripe_settings(standin)))
    package_pk = ids.decode(await package(pay, org, credits=5, price_cents=20000),
                            "CreditPackage")
    paid, expired, _still_open = [await started_long_ago(db, org, provider, package_pk)
                                  for _ in range(3)]
    standin.sessions[paid].update(status="complete", payment_status="paid")
    standin.sessions[expired].update(status="expired")
    fresh = await pay.data("""mutation($id: ID!) { startCheckout(input: {packageId: $id,
        successUrl: "https://app.example.com/", cancelUrl: "https://app.example.com/"})
        { userErrors { code } } }""", {"id": ids.encode("CreditPackage", package_pk)},
        as_=org.client)
    assert fresh["startCheckout"]["userErrors"] == []

    lines = [line for line in await reconcile(db, provider) if line.startswith(org.slug)]
    again = [line for line in await reconcile(db, provider) if line.startswith(org.slug)]

    assert [line.rpartition(": ")[2] for line in lines] == [
        "paid at stripe, completed", "expired at stripe, failed", "open at stripe, unchanged"]
    assert [line.rpartition(": ")[2] for line in again] == ["open at stripe, unchanged"]
    statuses = [p.status.value for p in await purchases_of(db, org, org.client)]
    assert statuses == ["COMPLETED", "FAILED", "PENDING", "PENDING"]  # the last: not overdue


async def test_without_a_key_reconcile_only_lists(pay, db, org, settings, standin):


    provider = configured_provider(settings.model_copy(update=stripe_settings(standin)))
    package_pk = ids.decode(await package(pay, org), "CreditPackage")
    await started_long_ago(db, org, provider, package_pk)

    lines = [line for line in await reconcile(db, None) if line.startswith(org.slug)]

    assert len(lines) == 1 and lines[0].endswith("PENDING; no provider key, not asked")
    assert [p.status.value for p in await purchases_of(db, org, org.client)] == ["PENDING"]


async def test_the_command_settles_and_says_what_it_did(pay, db, org, settings, standin,
                                                       database_url, tmp_path):
    provider = configured_provider(settings.model_copy(update=stripe_settings(standin)))
    package_pk = ids.decode(await package(pay, org), "CreditPackage")
    paid = await started_long_ago(db, org, provider, package_pk)
    standin.sessions[paid].update(status="complete", payment_status="paid")

    def run() -> str:
        result = bookings("payments", "reconcile", database_url=database_url,
                          data_dir=tmp_path, BOOKINGS_STRIPE_SECRET_KEY=SECRET_KEY,
                          BOOKINGS_STRIPE_API_BASE=standin.url)
        assert result.returncode == 0, result.stderr
        return result.stdout

    first, second = await asyncio.to_thread(run), await asyncio.to_thread(run)

    assert f"{org.slug}: purchase" in first and "paid at stripe, completed" in first
    assert f"{org.slug}: purchase" not in second
    assert [p.status.value for p in await purchases_of(db, org, org.client)] == ["COMPLETED"]
