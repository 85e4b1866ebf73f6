"""Rescheduling moves an appointment atomically; a price change is settled."""

from datetime import timedelta

from tests.appointments.support import (
    RESCHEDULE,
    add_slot,
    book,
    give_credits,
    hours_from_now,
    in_days,
    slot_id,
)
from tests.credits.support import balance_of


async def reschedule(api, member, appointment_id, new_slot, **extra):
    body = await api.data(RESCHEDULE, {"input": {
        "appointmentId": appointment_id, "newTimeSlotId": slot_id(new_slot), **extra}}, as_=member)
    return body["rescheduleAppointment"]


async def slot_statuses(api, member, *slots):
    query = "query($id: ID!) { node(id: $id) { ... on TimeSlot { status } } }"
    return [(await api.data(query, {"id": slot_id(slot)}, as_=member))["node"]["status"]
            for slot in slots]


async def test_client_moves_to_another_slot_of_the_same_professional(api, db, org):
    await give_credits(db, org, org.client, 1)
    old, new = await add_slot(db, org, in_days(3)), await add_slot(db, org, in_days(5))
    appointment_id = (await book(api, org.client, old))["appointment"]["id"]
    await api.data("""mutation($id: ID!) { confirmAppointment(input: {appointmentId: $id}) {
        userErrors { code } } }""", {"id": appointment_id}, as_=org.client)

    payload = await reschedule(api, org.client, appointment_id, new)

    assert payload["userErrors"] == []
    assert payload["appointment"]["id"] == appointment_id
    assert payload["appointment"]["state"] == "CONFIRMED"  # the state carries over
    assert payload["appointment"]["startsAt"] == new.starts_at.isoformat()
    assert payload["creditTransaction"] is None  # same price: no credits move
    assert await slot_statuses(api, org.admin, old, new) == ["AVAILABLE", "BOOKED"]
    assert (await balance_of(db, org.id, org.client.user.id)).balance == 0


async def test_a_price_change_is_settled_on_reschedule(api, db, org):
    await give_credits(db, org, org.client, 5)
    old, new = await add_slot(db, org, in_days(3)), await add_slot(db, org, in_days(5))
    appointment_id = (await book(api, org.client, old))["appointment"]["id"]
    await api.data("""mutation($id: ID!) { updateProfessional(input: {id: $id, creditCost: 3}) {
        userErrors { code } } }""", {"id": org.professional_id}, as_=org.admin)

    payload = await reschedule(api, org.client, appointment_id, new)

    assert payload["appointment"]["creditCost"] == 3
    assert payload["creditTransaction"] == {"type": "APPOINTMENT_DEBIT", "amount": -3}
    assert payload["creditBalance"] == {"balance": 2}  # 5 - 1, +1 refunded, -3


async def test_a_dearer_slot_needs_only_the_difference_and_says_so(api, db, org):
    """docs/rules.md: appointments: the difference is debited. With 1 credit paid and the price now 3,
    a client holding 1 more is short by 1, holding 2 more is enough."""
    await give_credits(db, org, org.client, 2)
    old, new = await add_slot(db, org, in_days(3)), await add_slot(db, org, in_days(5))
    appointment_id = (await book(api, org.client, old))["appointment"]["id"]
    await api.data("""mutation($id: ID!) { updateProfessional(input: {id: $id, creditCost: 3}) {
        userErrors { code } } }""", {"id": org.professional_id}, as_=org.admin)

    short = await reschedule(api, org.client, appointment_id, new)
    await give_credits(db, org, org.client, 1)
    enough = await reschedule(api, org.client, appointment_id, new)

    assert short["userErrors"] == [{
        "code": "INSUFFICIENT_CREDITS", "field": ["input", "newTimeSlotId"],
        "message": "Not enough credits: the price is now 3 credits, 2 more than the 1 paid."}]
    assert enough["userErrors"] == []
    assert enough["creditBalance"] == {"balance": 0}


async def test_a_move_keeps_the_cancellation_policy_of_the_booking(api, db, org):
    """The contract: refundableUntil is a snapshot of the policy at booking (24 hours here),
    so a later policy change (48 hours) does not apply to the moved appointment."""
    await give_credits(db, org, org.client, 1)
    old, new = await add_slot(db, org, in_days(3)), await add_slot(db, org, in_days(5))
    appointment_id = (await book(api, org.client, old))["appointment"]["id"]
    await api.data("""mutation { updateOrganizationSettings(input: {cancellationPolicyHours: 48})
        { userErrors { code } } }""", as_=org.admin)

    payload = await reschedule(api, org.client, appointment_id, new)

    assert payload["userErrors"] == []
    assert payload["appointment"]["refundableUntil"] == (
        new.starts_at - timedelta(hours=24)).isoformat()


async def test_client_may_not_reschedule_after_refund_deadline_but_staff_may(api, db, org):
    await give_credits(db, org, org.client, 1)
    old = await add_slot(db, org, hours_from_now(20))
    new = await add_slot(db, org, hours_from_now(48))
    appointment_id = (await book(api, org.client, old))["appointment"]["id"]

    by_client = await reschedule(api, org.client, appointment_id, new)
    by_staff = await reschedule(api, org.staff, appointment_id, new)

    assert by_client["userErrors"] == [{
        "code": "INVALID_STATE_TRANSITION", "field": ["input", "appointmentId"],
        "message": "Clients may reschedule only until refundableUntil."}]
    assert by_staff["userErrors"] == []


async def test_rescheduling_to_a_taken_or_foreign_slot_changes_nothing(api, db, org, tenants):
    from tests.scheduling.support import add_professional

    await give_credits(db, org, org.client, 1)
    await give_credits(db, org, org.other_client, 1)
    mine, taken = await add_slot(db, org, in_days(3)), await add_slot(db, org, in_days(4))
    other_professional = await add_professional(db, org)
    elsewhere = await add_slot(db, org, in_days(5), professional_id=other_professional.id)
    appointment_id = (await book(api, org.client, mine))["appointment"]["id"]
    await book(api, org.other_client, taken)

    to_taken = await reschedule(api, org.client, appointment_id, taken)
    to_other_professional = await reschedule(api, org.client, appointment_id, elsewhere)

    assert to_taken["userErrors"][0]["code"] == "SLOT_UNAVAILABLE"
    assert to_other_professional["userErrors"] == [{
        "code": "VALIDATION_FAILED", "field": ["input", "newTimeSlotId"],
        "message": "Reschedule to a slot of the same professional."}]
    assert await slot_statuses(api, org.admin, mine, elsewhere) == ["BOOKED", "AVAILABLE"]
