"""Confirm, execute, no-show and every refused transition (docs/rules.md: appointments)."""

from datetime import timedelta

import pytest

from app import global_ids as ids
from app.appointments import cancellation, lifecycle, rescheduling
from app.errors import InvalidStateTransition
from tests.appointments.support import HOUR, action, add_slot, book, give_credits, in_days
from tests.credits.support import balance_of


def ids_of(payload):
    return payload["appointment"]["id"]


async def booked(api, db, org, days=3):
    await give_credits(db, org, org.client, 1)
    slot = await add_slot(db, org, in_days(days))
    return ids_of(await book(api, org.client, slot)), slot


async def act(api, member, name, appointment_id, notes=None):
    body = await api.data(action(name), {"input": {"appointmentId": appointment_id,
                                                   "notes": notes}}, as_=member)
    return body[name]


async def test_confirm_then_execute_after_the_start(api, db, org):
    appointment_id, slot = await booked(api, db, org)

    confirmed = await act(api, org.client, "confirmAppointment", appointment_id)
    early = await act(api, org.professional, "executeAppointment", appointment_id)

    assert confirmed["appointment"]["state"] == "CONFIRMED"
    assert confirmed["appointment"]["confirmedAt"] is not None
    assert early["userErrors"] == [{
        "code": "INVALID_STATE_TRANSITION", "field": ["input", "appointmentId"],
        "message": "Cannot execute an appointment before its start time."}]

    # After the start (a controlled clock): the function the resolver calls.
    pk = ids.decode(appointment_id, "Appointment")
    async with db.transaction(org.id) as session:
        change = await lifecycle.execute_appointment(
            session, org.professional.principal, pk, notes="Went well",
            now=slot.starts_at + timedelta(minutes=5))
    assert change.appointment.state.value == "EXECUTED"
    assert change.appointment.private_notes == "Went well"
    assert change.appointment.notes is None


async def test_no_show_after_the_start_keeps_the_credits(api, db, org):
    appointment_id, slot = await booked(api, db, org)
    await act(api, org.staff, "confirmAppointment", appointment_id)
    async with db.transaction(org.id) as session:
        change = await lifecycle.mark_no_show(
            session, org.staff.principal, ids.decode(appointment_id, "Appointment"),
            now=slot.starts_at + HOUR)
    assert change.appointment.state.value == "NO_SHOW"
    assert (await balance_of(db, org.id, org.client.user.id)).balance == 0


@pytest.mark.parametrize(("first", "then"), [
    ("confirmAppointment", "confirmAppointment"),
    (None, "executeAppointment"),  # PRE_CONFIRMED cannot be executed
    (None, "markNoShow"),
])
async def test_transitions_outside_the_diagram_are_refused(api, db, org, first, then):
    appointment_id, _ = await booked(api, db, org)
    if first:
        await act(api, org.admin, first, appointment_id)

    payload = await act(api, org.admin, then, appointment_id)

    assert payload["userErrors"][0]["code"] == "INVALID_STATE_TRANSITION"


@pytest.mark.parametrize("terminal", ["CANCELLED", "EXECUTED", "NO_SHOW"])
async def test_nothing_leaves_a_terminal_state(db, org, api, terminal):
    appointment_id, slot = await booked(api, db, org)
    pk = ids.decode(appointment_id, "Appointment")
    after = slot.starts_at + HOUR
    admin = org.admin.principal
    async with db.transaction(org.id) as session:
        if terminal == "CANCELLED":
            await cancellation.cancel_appointment(session, admin, pk)
        else:
            await lifecycle.confirm_appointment(session, admin, pk)
            move = (lifecycle.execute_appointment if terminal == "EXECUTED"
                    else lifecycle.mark_no_show)
            await move(session, admin, pk, now=after)

    for transition in (lifecycle.confirm_appointment, cancellation.cancel_appointment):
        with pytest.raises(InvalidStateTransition):
            async with db.transaction(org.id) as session:
                await transition(session, admin, pk, now=after)
    for transition in (lifecycle.execute_appointment, lifecycle.mark_no_show):
        with pytest.raises(InvalidStateTransition):
            async with db.transaction(org.id) as session:
                await transition(session, admin, pk, now=after)


async def test_an_unconfirmed_booking_cannot_be_confirmed_once_it_has_started(api, db, org):
    """docs/rules.md: appointments: unconfirmed at its start, a booking expires, whether or not the expiry
    job has run yet; confirming it then is refused."""
    appointment_id, slot = await booked(api, db, org)
    pk = ids.decode(appointment_id, "Appointment")

    for moment in (slot.starts_at, slot.starts_at + timedelta(minutes=1)):
        with pytest.raises(InvalidStateTransition, match="not confirmed before its start"):
            async with db.transaction(org.id) as session:
                await lifecycle.confirm_appointment(session, org.admin.principal, pk, now=moment)
    async with db.transaction(org.id) as session:
        change = await lifecycle.confirm_appointment(
            session, org.admin.principal, pk, now=slot.starts_at - timedelta(seconds=1))
    assert change.appointment.state.value == "CONFIRMED"


async def test_an_appointment_that_has_started_cannot_be_moved(api, db, org):
    appointment_id, slot = await booked(api, db, org)
    later = await add_slot(db, org, in_days(5))
    pk = ids.decode(appointment_id, "Appointment")

    with pytest.raises(InvalidStateTransition, match="has started cannot be moved"):
        async with db.transaction(org.id) as session:
            await rescheduling.reschedule_appointment(session, org.staff.principal, pk,
                                                      new_slot_id=later.id,
                                                      now=slot.starts_at + timedelta(minutes=10))
