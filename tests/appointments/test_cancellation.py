"""Cancellation frees the slot and refunds by the policy; the preview says the same."""

from datetime import timedelta

from app import global_ids as ids
from app.appointments import cancellation, reading
from tests.appointments.support import (
    CANCEL,
    add_slot,
    book,
    give_credits,
    hours_from_now,
    in_days,
)
from tests.credits.support import balance_of, entries_of

PREVIEW = """query($id: ID!) { node(id: $id) { ... on Appointment {
    cancellationPreview { refundCredits refundableUntil allowed reason } } } }"""


async def booked_by_client(api, db, org, *, hours_ahead=72):
    await give_credits(db, org, org.client, 2)
    slot = await add_slot(db, org, hours_from_now(hours_ahead))
    payload = await book(api, org.client, slot)
    return payload["appointment"]["id"], slot


async def cancel(api, member, appointment_id, **extra):
    body = await api.data(CANCEL, {"input": {"appointmentId": appointment_id, **extra}},
                          as_=member)
    return body["cancelAppointment"]


async def test_client_cancelling_before_refund_deadline_gets_full_refund(api, db, org):
    appointment_id, _ = await booked_by_client(api, db, org)

    preview = (await api.data(PREVIEW, {"id": appointment_id}, as_=org.client))["node"]
    payload = await cancel(api, org.client, appointment_id, reason="Sick")

    assert preview["cancellationPreview"]["refundCredits"] == 1
    assert preview["cancellationPreview"]["allowed"] is True
    assert payload["appointment"]["state"] == "CANCELLED"
    assert payload["appointment"]["timeSlot"]["status"] == "AVAILABLE"
    assert payload["appointment"]["cancelledBy"] == {"email": org.client.user.email}
    assert payload["appointment"]["cancellationReason"] == "Sick"
    assert payload["creditTransaction"] == {
        "type": "CANCELLATION_REFUND", "amount": 1,
        "reverses": {"type": "APPOINTMENT_DEBIT", "amount": -1}}
    assert payload["creditBalance"] == {"balance": 2}


async def test_client_cancelling_after_refund_deadline_gets_nothing(api, db, org):
    # 23 hours ahead: already past refundableUntil (24-hour policy).
    appointment_id, slot = await booked_by_client(api, db, org, hours_ahead=23)

    preview = (await api.data(PREVIEW, {"id": appointment_id}, as_=org.client))["node"]
    payload = await cancel(api, org.client, appointment_id)

    assert preview["cancellationPreview"] == {
        "refundCredits": 0, "allowed": True,
        "refundableUntil": (slot.starts_at - timedelta(hours=24)).isoformat(),
        "reason": "Late cancellation: past refundableUntil no credits are returned."}
    assert payload["appointment"]["state"] == "CANCELLED"
    assert payload["creditTransaction"] is None
    assert (await balance_of(db, org.id, org.client.user.id)).balance == 1


async def test_staff_cancelling_late_still_refunds_in_full(api, db, org):
    appointment_id, _ = await booked_by_client(api, db, org, hours_ahead=23)

    preview = (await api.data(PREVIEW, {"id": appointment_id}, as_=org.staff))["node"]
    payload = await cancel(api, org.staff, appointment_id)

    assert preview["cancellationPreview"]["refundCredits"] == 1
    assert payload["creditTransaction"]["amount"] == 1
    assert (await balance_of(db, org.id, org.client.user.id)).balance == 2


async def test_professional_cancelling_refunds_in_full(api, db, org):
    appointment_id, _ = await booked_by_client(api, db, org, hours_ahead=23)
    payload = await cancel(api, org.professional, appointment_id)
    assert payload["userErrors"] == []
    # The professional does not see the client's credits; the client sees the refund.
    balance = await api.data("{ creditBalance { balance lifetimeRefunded } }", as_=org.client)
    assert balance["creditBalance"] == {"balance": 2, "lifetimeRefunded": 1}


async def test_preview_matches_what_cancelling_then_does(db, org, api):
    """For each canceller and moment, the preview's refund is exactly the refund taken."""
    for member, hours_before_start in [(org.client, 30), (org.client, 2), (org.admin, 2)]:
        await give_credits(db, org, org.client, 1)
        slot = await add_slot(db, org, in_days(5) + timedelta(hours=len(org.slug) % 3))
        appointment_id = (await book(api, org.client, slot))["appointment"]["id"]
        pk = ids.decode(appointment_id, "Appointment")
        moment = slot.starts_at - timedelta(hours=hours_before_start)
        async with db.transaction(org.id) as session:
            appointment = await reading.get_appointment(session, member.principal, pk)
            preview = reading.cancellation_preview(member.principal, appointment, now=moment)
            change = await cancellation.cancel_appointment(session, member.principal, pk,
                                                           now=moment)
        refunded = change.transaction.amount if change.transaction else 0
        assert refunded == preview.refund_credits, (member.role, hours_before_start)


async def test_cancelling_twice_refunds_once(api, db, org):
    appointment_id, _ = await booked_by_client(api, db, org)

    first = await cancel(api, org.client, appointment_id)
    second = await cancel(api, org.client, appointment_id)

    assert first["creditTransaction"]["amount"] == 1
    assert second["userErrors"][0]["code"] == "INVALID_STATE_TRANSITION"
    refunds = [entry for entry in await entries_of(db, org.id, org.client.user.id)
               if entry.type.value == "CANCELLATION_REFUND"]
    assert len(refunds) == 1


async def test_idempotent_cancel_replays_the_refund(api, db, org):
    appointment_id, _ = await booked_by_client(api, db, org)

    first = await cancel(api, org.client, appointment_id, idempotencyKey="cancel-1")
    replay = await cancel(api, org.client, appointment_id, idempotencyKey="cancel-1")

    assert replay["userErrors"] == []
    assert replay["creditTransaction"] == first["creditTransaction"]
    assert (await balance_of(db, org.id, org.client.user.id)).balance == 2


async def test_a_freed_slot_can_be_booked_again(api, db, org):
    appointment_id, slot = await booked_by_client(api, db, org)
    await cancel(api, org.client, appointment_id)
    await give_credits(db, org, org.other_client, 1)

    again = await book(api, org.other_client, slot)

    assert again["userErrors"] == []
    assert again["appointment"]["timeSlot"]["status"] == "BOOKED"
