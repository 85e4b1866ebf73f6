"""Reminders at each reminderLeadHours before start, at most one per lead time (docs/operations.md: background jobs)."""

from datetime import timedelta

from app.appointments import cancellation
from app.jobs import work
from app.notifications.models import NotificationKind, NotificationStatus
from tests.jobs.support import (
    DAY,
    HOUR,
    NOW,
    book,
    confirm,
    outbox,
    principal,
    set_organization,
)

MINUTE = timedelta(minutes=1)


async def reminders(db, org) -> list[tuple[int, int, int]]:
    """(appointment id, lead hours, recipient) of every reminder, oldest first."""
    return [(message.appointment_id, message.lead_hours, message.recipient_user_id)
            for message in await outbox(db, org, kind=NotificationKind.REMINDER)]


async def test_each_lead_time_gets_one_reminder_per_open_appointment(db, org, other_org):
    # Given lead times 24 h and 2 h here, 48 h in the other organization
    starts = NOW + 3 * DAY
    confirmed = await book(db, org, starts)
    await confirm(db, org, confirmed)
    unconfirmed = await book(db, org, starts + 2 * HOUR, client=org.other_client)
    cancelled = await book(db, org, starts + 4 * HOUR)
    async with db.transaction(org.id) as session:
        await cancellation.cancel_appointment(session, principal(org.staff), cancelled.id,
                                              now=NOW)
    await set_organization(db, other_org, reminder_lead_hours=[48])
    elsewhere = await book(db, other_org, starts)
    only = [org.id, other_org.id]

    async def run_at(moment):
        return await work.queue_reminders(db, now=moment, organization_ids=only)

    # When the job runs at these moments (twice at each)
    assert [await run_at(starts - 49 * HOUR), await run_at(starts - 49 * HOUR)] == [0, 0]
    assert [await run_at(starts - 48 * HOUR), await run_at(starts - 48 * HOUR)] == [1, 0]
    assert [await run_at(starts - 24 * HOUR), await run_at(starts - 24 * HOUR)] == [1, 0]
    assert [await run_at(starts - 22 * HOUR), await run_at(starts - 22 * HOUR)] == [1, 0]
    assert [await run_at(starts - 2 * HOUR), await run_at(starts - 2 * HOUR)] == [1, 0]
    assert await run_at(starts + 3 * HOUR) == 0  # the unconfirmed one's 2 h lead: it expired

    # Then each open appointment got one reminder per lead time, addressed to its client
    client, other_client = org.client.user.id, org.other_client.user.id
    assert await reminders(db, org) == [
        (confirmed.id, 24, client), (unconfirmed.id, 24, other_client), (confirmed.id, 2, client)]
    assert await reminders(db, other_org) == [(elsewhere.id, 48, other_org.client.user.id)]
    assert all(cancelled.id != appointment_id for appointment_id, *_ in await reminders(db, org))
    [message] = await outbox(db, other_org, kind=NotificationKind.REMINDER)
    assert message.status is NotificationStatus.PENDING
    assert message.subject == (
        "Reminder: your appointment on Thursday, March 6, 2031, 7:00\u202fAM (Eastern Time)")
    assert "Professional Tester" in message.body


async def test_a_late_booking_gets_only_the_nearest_reminder(db, org):
    # Given a booking an hour before its start, with lead times 24 h and 2 h
    await book(db, org, NOW + HOUR)

    assert await work.queue_reminders(db, now=NOW, organization_ids=[org.id]) == 1
    assert [lead for _, lead, _ in await reminders(db, org)] == [2]
