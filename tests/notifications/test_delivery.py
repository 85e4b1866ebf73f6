"""Delivery: due messages are sent, failures retried with backoff, then marked FAILED."""

import asyncio
from datetime import timedelta

from app.notifications import delivery
from app.notifications.models import NotificationStatus
from tests.jobs.support import NOW
from tests.jobs.support import outbox as messages_of
from tests.notifications.support import RecordingSender, enqueue

MINUTE = timedelta(minutes=1)


async def deliver(db, org, sender, now, **options):
    return await delivery.deliver_due(db, sender, now=now, organization_ids=[org.id], **options)


async def test_due_messages_are_sent_once(db, org, other_org):
    await enqueue(db, org, org.client, "Booked")
    await enqueue(db, other_org, other_org.client, "Elsewhere")
    sender = RecordingSender()

    first = await deliver(db, org, sender, NOW)
    second = await deliver(db, org, sender, NOW + MINUTE)

    assert (first.sent, second.sent) == (1, 0)
    assert [(message.to, message.subject) for message in sender.sent] == [
        (org.client.user.email, "Booked")]
    [message] = await messages_of(db, org)
    assert (message.status, message.attempts, message.sent_at) == (
        NotificationStatus.SENT, 1, NOW)
    # the other organization's message waits for its own run
    [waiting] = await messages_of(db, other_org)
    assert waiting.status is NotificationStatus.PENDING


async def test_a_failing_message_is_retried_with_backoff_then_failed_without_holding_back_others(
    db, org
):
    # Given a message whose mailbox refuses it, queued before a good one
    await enqueue(db, org, org.other_client, "Refused")
    await enqueue(db, org, org.client, "Fine")
    sender = RecordingSender(refuse={org.other_client.user.email})

    # When delivery runs: now, too early for a retry, then whenever the retry is due
    first = await deliver(db, org, sender, NOW, max_attempts=3)
    too_early = await deliver(db, org, sender, NOW + MINUTE - timedelta(seconds=1),
                              max_attempts=3)
    second = await deliver(db, org, sender, NOW + MINUTE, max_attempts=3)
    third = await deliver(db, org, sender, NOW + 3 * MINUTE, max_attempts=3)
    after = await deliver(db, org, sender, NOW + 24 * 60 * MINUTE, max_attempts=3)

    # Then the good message went out at once; the refused one was tried 1, 2 and 4 minutes
    # apart, and is FAILED after its third attempt, with the last error kept
    assert [(r.sent, r.retrying, r.failed) for r in (first, too_early, second, third, after)] == [
        (1, 1, 0), (0, 0, 0), (0, 1, 0), (0, 0, 1), (0, 0, 0)]
    refused, fine = await messages_of(db, org)
    assert fine.status is NotificationStatus.SENT
    assert (refused.status, refused.attempts) == (NotificationStatus.FAILED, 3)
    assert refused.last_error == (
        f"ConnectionError: mailbox {org.other_client.user.email} unavailable")
    assert [message.subject for message in sender.sent] == ["Fine"]


async def test_concurrent_deliveries_send_each_message_once(db, org):
    for number in range(6):
        await enqueue(db, org, org.client, f"Message {number}")
    sender = RecordingSender()

    await asyncio.gather(*(deliver(db, org, sender, NOW, batch_size=2) for _ in range(3)))

    assert sorted(message.subject for message in sender.sent) == [
        f"Message {number}" for number in range(6)]
    assert {message.status for message in await messages_of(db, org)} == {NotificationStatus.SENT}


class SlowSender(RecordingSender):
    async def send(self, message) -> None:
        await asyncio.sleep(0.3)
        await super().send(message)


async def test_a_slow_batch_stops_before_its_lease_ends_and_hands_the_rest_back(
        db, org, monkeypatch):
    # A lease of 1 s leaves half a second to send in: past the lease another worker could
    # claim the rest and send them too.
    monkeypatch.setattr(delivery, "LEASE", timedelta(seconds=1))
    for number in range(6):
        await enqueue(db, org, org.client, f"Message {number}")
    sender = SlowSender()

    first = await delivery.deliver_due(db, sender, now=NOW, organization_ids=[org.id])
    waiting = [message for message in await messages_of(db, org)
               if message.status is NotificationStatus.PENDING]
    later = [await delivery.deliver_due(db, sender, now=NOW, organization_ids=[org.id])
             for _ in range(5)]

    assert 1 <= first.sent < 6
    assert waiting and all(message.attempts == 0 for message in waiting)
    assert first.sent + sum(report.sent for report in later) == 6
    assert len({message.subject for message in sender.sent}) == len(sender.sent) == 6


async def test_a_backlog_drains_in_one_run_a_batch_per_organization_in_turn(db, org, other_org):
    # 50 messages in batches of 2 is 25 batches: more than a run used to send (20).
    for number in range(50):
        await enqueue(db, org, org.client, f"Busy {number}")
    await enqueue(db, other_org, other_org.client, "Quiet")
    sender = RecordingSender()

    report = await delivery.deliver_due(db, sender, now=NOW, batch_size=2,
                                        organization_ids=[org.id, other_org.id])

    assert report.sent == 51
    # The quiet organization's message went in the first round, not after the busy backlog.
    assert [message.subject for message in sender.sent].index("Quiet") <= 2
