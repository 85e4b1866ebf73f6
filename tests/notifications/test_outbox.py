"""The outbox takes messages inside the caller's transaction, once per dedupe key."""

import pytest

from app.notifications import outbox
from app.notifications.models import NotificationKind, NotificationStatus
from tests.jobs.support import outbox as messages_of
from tests.notifications.support import enqueue


async def test_a_message_is_stored_pending_for_its_recipient(db, org):
    message_id = await enqueue(db, org, org.client, "Booked", appointment_id=None)

    [message] = await messages_of(db, org)
    assert message.id == message_id
    assert (message.kind, message.status, message.attempts, message.recipient_user_id) == (
        NotificationKind.BOOKING, NotificationStatus.PENDING, 0, org.client.user.id)


async def test_a_dedupe_key_adds_the_message_once_per_organization(db, org, other_org):
    first = await enqueue(db, org, org.client, "Booked", dedupe_key="booking-7")
    second = await enqueue(db, org, org.client, "Booked", dedupe_key="booking-7")
    elsewhere = await enqueue(db, other_org, other_org.client, "Booked", dedupe_key="booking-7")

    assert first is not None and second is None and elsewhere is not None
    assert len(await messages_of(db, org)) == 1
    assert len(await messages_of(db, other_org)) == 1


async def test_a_rolled_back_transaction_leaves_no_message(db, org):
    with pytest.raises(RuntimeError):
        async with db.transaction(org.id) as session:
            await outbox.enqueue(session, kind="CANCELLATION", recipient_user_id=org.client.user.id,
                                 subject="Cancelled", body="Your appointment was cancelled.",
                                 locale="en")
            raise RuntimeError("the cancellation failed")

    assert await messages_of(db, org) == []


async def test_reminders_are_not_enqueued_by_hand(db, org):
    with pytest.raises(ValueError):
        await enqueue(db, org, org.client, "Reminder", kind=NotificationKind.REMINDER)
