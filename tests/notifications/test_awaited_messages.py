"""Messages someone waits for (invitations, password resets) get their own delivery job,
committed with them; the sweep stays the safety net, and no message is sent twice."""

import asyncio
from datetime import timedelta

from sqlalchemy import text

from app.clock import utc_now
from app.jobs.tasks import DELIVER_NOTIFICATION_TASK
from app.notifications import delivery
from app.notifications.models import NotificationKind, NotificationStatus
from app.people import emails
from app.people.emails import mint_token_for_message
from tests.jobs.support import outbox as messages_of
from tests.notifications.support import RecordingSender, enqueue
from tests.support import Tenant


async def deferred_jobs(db, org: Tenant) -> list[dict]:
    async with db.engine.connect() as connection:
        rows = await connection.execute(text(
            "SELECT args FROM procrastinate_jobs WHERE task_name = :task "
            "AND (args->>'organization_id')::bigint = :org ORDER BY id"),
            {"task": DELIVER_NOTIFICATION_TASK, "org": org.id})
        return [row.args for row in rows]


async def invite_client(db, org: Tenant) -> None:
    async with db.transaction(org.id) as session:
        user = await session.get(type(org.client.user), (org.id, org.client.user.id))
        await emails.send_invitation(session, user, app_url="https://app.example.com")


async def test_an_awaited_message_defers_its_own_delivery_in_the_same_transaction(db, org):
    await enqueue(db, org, org.client, "Plain", kind=NotificationKind.BOOKING)
    await invite_client(db, org)
    try:
        async with db.transaction(org.id) as session:
            user = await session.get(type(org.client.user), (org.id, org.client.user.id))
            await emails.send_password_reset(session, user, app_url="https://app.example.com")
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass

    [invitation] = [message for message in await messages_of(db, org)
                    if message.kind is NotificationKind.INVITATION]
    assert await deferred_jobs(db, org) == [{"organization_id": org.id,
                                             "message_id": invitation.id}]


async def test_the_job_sends_its_message_and_a_later_sweep_does_not_send_it_again(db, org):
    await invite_client(db, org)
    [job] = await deferred_jobs(db, org)
    sender = RecordingSender()

    first = await delivery.deliver_one(db, org.id, job["message_id"], sender, now=utc_now(),
                                       mint_token=mint_token_for_message)
    again = await delivery.deliver_one(db, org.id, job["message_id"], sender, now=utc_now(),
                                       mint_token=mint_token_for_message)
    swept = await delivery.deliver_due(db, sender, now=utc_now(), organization_ids=[org.id],
                                       mint_token=mint_token_for_message)

    assert (first.sent, again.sent, swept.sent) == (1, 0, 0)
    assert [message.to for message in sender.sent] == [org.client.user.email]
    assert "https://app.example.com/accept-invitation?token=" in sender.sent[0].body


async def test_the_job_and_the_sweep_racing_send_the_message_once(db, org):
    for _ in range(5):
        await invite_client(db, org)
    jobs = await deferred_jobs(db, org)
    sender = RecordingSender()

    await asyncio.gather(
        delivery.deliver_due(db, sender, now=utc_now(), organization_ids=[org.id],
                             mint_token=mint_token_for_message, batch_size=2),
        *(delivery.deliver_one(db, org.id, job["message_id"], sender, now=utc_now(),
                               mint_token=mint_token_for_message) for job in jobs))

    assert len(sender.sent) == 5
    assert {message.status for message in await messages_of(db, org)} == {
        NotificationStatus.SENT}


async def test_a_worker_whose_clock_lags_the_database_still_sends_at_once(db, org):
    await invite_client(db, org)
    [job] = await deferred_jobs(db, org)
    sender = RecordingSender()
    lagging = utc_now() - timedelta(seconds=30)

    swept = await delivery.deliver_due(db, sender, now=lagging, organization_ids=[org.id],
                                       mint_token=mint_token_for_message)
    sent = await delivery.deliver_one(db, org.id, job["message_id"], sender, now=lagging,
                                      mint_token=mint_token_for_message)

    assert (swept.sent, sent.sent) == (0, 1)  # the sweep goes by its own clock
