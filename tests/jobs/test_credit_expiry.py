"""Lots past their date lose their remainder, hourly (docs/rules.md: credits; docs/operations.md: background jobs)."""

from app.credits.models import TransactionType
from app.jobs import work
from tests.credits.support import balance_of, entries_of
from tests.jobs.support import DAY, HOUR, NOW, give_credits


async def test_expired_lots_lose_their_remainder_once_and_only_in_their_organization(
    db, org, other_org
):
    # Given a lot expiring tomorrow and one that never expires; the other organization's lot
    # expires a day later
    await give_credits(db, org, org.client, 5, expires_at=NOW + DAY)
    await give_credits(db, org, org.client, 2)
    await give_credits(db, other_org, other_org.client, 5, expires_at=NOW + 2 * DAY)
    only = [org.id, other_org.id]

    # When the job runs an hour after the first expiry, twice
    first = await work.expire_credit_lots(db, now=NOW + DAY + HOUR, organization_ids=only)
    second = await work.expire_credit_lots(db, now=NOW + DAY + HOUR, organization_ids=only)

    # Then the expired lot's 5 credits are gone, with one EXPIRATION entry
    assert (first, second) == (5, 0)
    balance = await balance_of(db, org.id, org.client.user.id)
    assert (balance.balance, balance.lifetime_expired) == (2, 5)
    entries = await entries_of(db, org.id, org.client.user.id)
    assert [(entry.type, entry.amount) for entry in entries] == [
        (TransactionType.PURCHASE, 5), (TransactionType.PURCHASE, 2),
        (TransactionType.EXPIRATION, -5)]
    # and the other organization's lot, not yet due, is untouched
    other = await balance_of(db, other_org.id, other_org.client.user.id)
    assert (other.balance, other.lifetime_expired) == (5, 0)
