"""What an event says (docs/webhooks.md): `type`, `timestamp`, and `data` holding the objects
as the API shows them to an ADMIN, field for field, named by their global IDs. Every event
type of the rules is written by the change it names, on every road that change takes."""

import json
from datetime import datetime, timedelta

from app import global_ids
from app.appointments import booking, lifecycle
from app.appointments.cancellation import expire_unconfirmed_bookings
from app.clock import utc_now
from app.credits import ledger
from app.organizations import repository as organizations
from app.people import repository as people
from app.webhooks.events import EVENT_TYPES
from tests.appointments.support import (
    CANCEL,
    RESCHEDULE,
    add_slots,
    book,
    give_credits,
    hours_from_now,
    in_days,
    slot_id,
)
from tests.jobs.support import principal
from tests.webhooks.support import deliveries, register

APPOINTMENT_AS_ADMIN = """query($id: ID!) { node(id: $id) { ... on Appointment {
    id state startsAt endsAt creditCost refundableUntil notes privateNotes bookedAt confirmedAt
    executedAt cancelledAt cancellationReason professional { id } client { id } student { id }
    timeSlot { id } series { id } cancelledBy { id } } } }"""
TRANSACTION_AS_ADMIN = """query($id: ID!, $user: ID!) {
  node(id: $id) { ... on CreditTransaction { id type status amount balanceAfter amountPaidCents
    currency paymentReference expiresAt description failureReason createdAt processedAt
    user { id } appointment { id } reverses { id } createdBy { id } } }
  creditBalance(userId: $user) { id balance lifetimePurchased lifetimeUsed lifetimeRefunded
    lifetimeExpired updatedAt user { id } } }"""


async def events(db, org) -> list[dict]:
    return [json.loads(row.payload) for row in await deliveries(db, org)]


async def test_appointment_events_hold_the_appointment_as_an_admin_sees_it(api, db, org):
    await register(api, org, "http://127.0.0.1:9/hooks", ["appointment.booked",
                                                          "appointment.cancelled"])
    await give_credits(db, org, org.client, 1)
    [slot] = await add_slots(db, org, [in_days(3)])
    booked = await book(api, org.client, slot, notes="First visit", studentId=org.student_id)
    appointment_id = booked["appointment"]["id"]
    await api.data(CANCEL, {"input": {"appointmentId": appointment_id, "reason": "Ill"}},
                   as_=org.client)

    [booked_event, cancelled_event] = await events(db, org)
    as_admin = (await api.data(APPOINTMENT_AS_ADMIN, {"id": appointment_id},
                               as_=org.admin))["node"]

    assert booked_event["type"] == "appointment.booked"
    assert booked_event["data"]["appointment"]["state"] == "PRE_CONFIRMED"
    assert booked_event["data"]["appointment"]["student"] == {"id": org.student_id}
    assert cancelled_event["type"] == "appointment.cancelled"
    assert cancelled_event["data"] == {"appointment": as_admin}
    assert as_admin["cancelledBy"] == {"id": org.client.id}


async def test_credit_events_hold_the_entry_and_the_balance_as_an_admin_sees_them(api, db, org):
    await register(api, org, "http://127.0.0.1:9/hooks", ["credits.adjusted"])
    await give_credits(db, org, org.client, 2)  # a purchase: not subscribed
    async with db.transaction(org.id) as session:
        posting = await ledger.adjust(session, user_id=org.client.user.id, amount=-1,
                                      reason="Correction", now=utc_now(),
                                      created_by_id=org.admin.user.id)

    [event] = await events(db, org)
    as_admin = await api.data(TRANSACTION_AS_ADMIN, {
        "id": global_ids.encode("CreditTransaction", posting.transaction.id),
        "user": org.client.id}, as_=org.admin)

    assert event["type"] == "credits.adjusted"
    assert event["data"] == {"transaction": as_admin["node"],
                             "balance": as_admin["creditBalance"]}
    assert abs(utc_now() - datetime.fromisoformat(event["timestamp"])) < timedelta(minutes=1)


async def test_every_event_type_is_written_by_its_change(api, db, org):
    await register(api, org, "http://127.0.0.1:9/hooks")
    await give_credits(db, org, org.client, 10)  # credits.purchased
    slots = await add_slots(db, org, [in_days(3), in_days(4), in_days(5)])
    started = await add_slots(db, org, [hours_from_now(-3), hours_from_now(-2)])
    booked = await book(api, org.client, slots[0])  # appointment.booked
    assert booked["userErrors"] == [], booked
    first = booked["appointment"]["id"]
    await api.data(RESCHEDULE, {"input": {"appointmentId": first,
                                          "newTimeSlotId": slot_id(slots[1])}}, as_=org.client)
    await api.data(CANCEL, {"input": {"appointmentId": first}}, as_=org.client)
    admin = principal(org.admin)
    now = utc_now()
    async with db.transaction(org.id) as session:
        pending = await ledger.purchase(session, user_id=org.client.user.id, credits=1,
                                        amount_paid_cents=100, currency="USD", now=now,
                                        expires_at=None, pending=True)
        await ledger.complete_purchase(session, transaction_id=pending.transaction.id, now=now)
        failing = await ledger.purchase(session, user_id=org.client.user.id, credits=1,
                                        amount_paid_cents=100, currency="USD", now=now,
                                        expires_at=None, pending=True)
        await ledger.fail_purchase(session, transaction_id=failing.transaction.id, now=now,
                                   failure_reason="Declined")
        await ledger.adjust(session, user_id=org.client.user.id, amount=1, reason="Gift",
                            now=now, expires_at=now + timedelta(seconds=1))
        await ledger.expire_lots(session, now=now + timedelta(seconds=2))
    past = [(await _book_directly(db, org, slot)) for slot in started]
    async with db.transaction(org.id) as session:
        for appointment_id in past:
            await lifecycle.confirm_appointment(session, admin, appointment_id,
                                                now=now - timedelta(hours=4))
        await lifecycle.execute_appointment(session, admin, past[0], now=now)
        await lifecycle.mark_no_show(session, admin, past[1], now=now)
    await book(api, org.client, slots[2])
    async with db.transaction(org.id) as session:
        await expire_unconfirmed_bookings(session, now=now + timedelta(days=5))

    written = {event["type"] for event in await events(db, org)}
    assert written == set(EVENT_TYPES)


async def test_the_one_statement_booking_writes_the_event_only_when_an_endpoint_wants_it(
        api, db, org):
    await give_credits(db, org, org.client, 2)
    first, second = await add_slots(db, org, [in_days(3), in_days(4)])
    await book(api, org.client, first)
    nothing_yet = await deliveries(db, org)
    await register(api, org, "http://127.0.0.1:9/hooks", ["appointment.booked"])

    booked = await book(api, org.client, second)

    assert nothing_yet == []
    [event] = await events(db, org)
    assert event["data"]["appointment"]["id"] == booked["appointment"]["id"]
    as_admin = (await api.data(APPOINTMENT_AS_ADMIN, {"id": booked["appointment"]["id"]},
                               as_=org.admin))["node"]
    assert event["data"] == {"appointment": as_admin}


async def _book_directly(db, org, slot) -> int:
    """A booking of a slot that has started (as STAFF may record one), its id."""
    async with db.transaction(org.id) as session:
        organization = await organizations.get_current(session)
        professional = await people.get_professional(session, slot.professional_id)
        change = await booking.book_slot(session, None, organization, professional, slot,
                                         client_id=org.client.user.id, student_id=None,
                                         notes=None, now=slot.starts_at - timedelta(hours=1))
        return change.appointment.id
