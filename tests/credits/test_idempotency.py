"""Idempotency keys over the API: a retry has one effect; a key means one input (docs/rules.md: idempotency)."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from app import idempotency
from app.idempotency import IdempotencyKey
from tests.credits.support import balance_of, entries_of

PURCHASE = """
mutation Purchase($input: PurchaseCreditsInput!) {
  purchaseCredits(input: $input) {
    creditTransaction { id amount }
    creditBalance { balance }
    userErrors { code field }
  }
}
"""

ADJUST = """
mutation Adjust($input: AdjustCreditsInput!) {
  adjustCredits(input: $input) {
    creditTransaction { id amount }
    creditBalance { balance }
    userErrors { code field }
  }
}
"""


def purchase_of(org, credits: int = 10, key: str | None = "purchase-1", **extra):
    return {"input": {"userId": org.client.id, "credits": credits, "amountPaidCents": 5000,
                      "idempotencyKey": key, **extra}}


async def test_a_replay_with_the_same_key_and_input_returns_the_first_result(api, db, org):
    first = await api.data(PURCHASE, purchase_of(org), as_=org.staff)
    replay = await api.data(PURCHASE, purchase_of(org), as_=org.staff)

    assert replay == first
    assert first["purchaseCredits"]["creditBalance"] == {"balance": 10}
    assert len(await entries_of(db, org.id, org.client.user.id)) == 1


async def test_a_replay_shows_the_balance_the_first_request_left(api, db, org):
    """docs/rules.md: idempotency: the stored result is returned, even after the balance moved on."""
    first = await api.data(PURCHASE, purchase_of(org), as_=org.staff)
    await api.data(PURCHASE, purchase_of(org, credits=3, key="purchase-2"), as_=org.staff)

    replay = await api.data(PURCHASE, purchase_of(org), as_=org.staff)

    assert replay == first
    assert replay["purchaseCredits"]["creditBalance"] == {"balance": 10}
    assert (await balance_of(db, org.id, org.client.user.id)).balance == 13


async def test_a_result_stored_by_the_previous_release_still_replays(api, db, org):
    """Keys live 24 hours, so a retry can cross an upgrade: results stored with the parts
    named credit_transaction and credit_balance (before the shared codec) still replay."""
    first = await api.data(PURCHASE, purchase_of(org), as_=org.staff)
    async with db.transaction(org.id) as session:
        await session.execute(text(
            "UPDATE idempotency_keys SET result = jsonb_build_object("
            "'credit_transaction', result->'transaction', 'credit_balance', result->'balance')"))

    assert await api.data(PURCHASE, purchase_of(org), as_=org.staff) == first


async def test_the_same_key_with_another_input_is_idempotency_key_reused(api, db, org):
    await api.data(PURCHASE, purchase_of(org, credits=10), as_=org.staff)

    reused = await api.data(PURCHASE, purchase_of(org, credits=11), as_=org.staff)

    assert reused["purchaseCredits"] == {
        "creditTransaction": None, "creditBalance": None,
        "userErrors": [{"code": "IDEMPOTENCY_KEY_REUSED", "field": ["input", "idempotencyKey"]}],
    }
    assert (await balance_of(db, org.id, org.client.user.id)).balance == 10


async def test_a_key_used_for_another_operation_is_reused_too(api, org):
    await api.data(PURCHASE, purchase_of(org, key="shared"), as_=org.admin)

    adjusted = await api.data(ADJUST, {"input": {"userId": org.client.id, "amount": 10,
                                                 "reason": "x", "idempotencyKey": "shared"}},
                              as_=org.admin)

    assert adjusted["adjustCredits"]["userErrors"] == [
        {"code": "IDEMPOTENCY_KEY_REUSED", "field": ["input", "idempotencyKey"]}]


async def test_twenty_concurrent_requests_with_one_key_have_one_effect(api, db, org):
    responses = await asyncio.gather(
        *(api.data(PURCHASE, purchase_of(org, key="burst"), as_=org.staff) for _ in range(20))
    )

    assert all(response == responses[0] for response in responses)
    assert responses[0]["purchaseCredits"]["userErrors"] == []
    assert len(await entries_of(db, org.id, org.client.user.id)) == 1
    assert (await balance_of(db, org.id, org.client.user.id)).balance == 10


async def test_keys_are_scoped_to_the_caller(api, db, org):
    await api.data(PURCHASE, purchase_of(org, key="same"), as_=org.staff)
    await api.data(PURCHASE, purchase_of(org, key="same"), as_=org.admin)

    assert (await balance_of(db, org.id, org.client.user.id)).balance == 20


async def test_a_refused_request_stores_no_key_so_its_retry_runs(api, db, org):
    refused = await api.data(PURCHASE, purchase_of(org, currency="ZZZ"), as_=org.staff)
    assert refused["purchaseCredits"]["userErrors"] == [
        {"code": "VALIDATION_FAILED", "field": ["input", "currency"]}]

    retried = await api.data(PURCHASE, purchase_of(org, currency="ZZZ"), as_=org.staff)
    assert retried == refused
    fixed = await api.data(PURCHASE, purchase_of(org, currency="EUR"), as_=org.staff)
    assert fixed["purchaseCredits"]["userErrors"] == []


async def test_an_adjustment_replay_has_one_effect(api, db, org):
    variables = {"input": {"userId": org.client.id, "amount": 3, "reason": "Goodwill",
                           "idempotencyKey": "adjust-1"}}
    first = await api.data(ADJUST, variables, as_=org.admin)
    replay = await api.data(ADJUST, variables, as_=org.admin)

    assert replay == first
    assert (await balance_of(db, org.id, org.client.user.id)).balance == 3


async def test_keys_are_kept_a_day_then_purged(api, db, org):
    await api.data(PURCHASE, purchase_of(org, key="old"), as_=org.staff)
    now = datetime.now(UTC)

    async with db.transaction(org.id) as session:
        assert await idempotency.purge_expired(session, now=now + timedelta(hours=23)) == 0
        assert await idempotency.purge_expired(session, now=now + timedelta(hours=25)) == 1
        assert await session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


async def test_an_empty_or_oversized_key_is_refused(api, org):
    for key in ("", "k" * 201):
        data = await api.data(PURCHASE, purchase_of(org, key=key), as_=org.staff)
        assert data["purchaseCredits"]["userErrors"] == [
            {"code": "VALIDATION_FAILED", "field": ["input", "idempotencyKey"]}]
