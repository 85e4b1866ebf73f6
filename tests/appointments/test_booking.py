"""Booking: slot, appointment and debit in one transaction, or nothing (docs/rules.md: appointments)."""

from datetime import timedelta

from sqlalchemy import func, select

from app.appointments.models import Appointment
from app.scheduling import repository as scheduling
from tests.appointments.support import (
    BOOK,
    CANCEL,
    HOUR,
    add_slot,
    add_slots,
    book,
    give_credits,
    in_days,
    slot_id,
)
from tests.credits.support import balance_of, entries_of
from tests.support import counting_statements


async def slot_status(db, org, slot) -> str:
    async with db.transaction(org.id, read_only=True) as session:
        return (await scheduling.get_slot(session, slot.id)).status.value


async def appointment_count(db, org) -> int:
    async with db.transaction(org.id, read_only=True) as session:
        return await session.scalar(select(func.count()).select_from(Appointment))


async def test_client_books_a_slot_and_pays_with_credits(api, db, org):
    starts = in_days(3)
    slot = await add_slot(db, org, starts)
    await give_credits(db, org, org.client, 5)

    payload = await book(api, org.client, slot, notes="First visit")

    appointment = payload["appointment"]
    assert payload["userErrors"] == []
    assert appointment["state"] == "PRE_CONFIRMED"
    assert appointment["creditCost"] == 1
    assert appointment["startsAt"] == starts.isoformat()
    assert appointment["refundableUntil"] == (starts - timedelta(hours=24)).isoformat()
    assert appointment["timeSlot"] == {"id": slot_id(slot), "status": "BOOKED"}
    assert appointment["client"] == {"email": org.client.user.email}
    assert appointment["notes"] == "First visit"
    assert payload["creditTransaction"] == {"type": "APPOINTMENT_DEBIT", "amount": -1,
                                            "balanceAfter": 4}
    assert payload["creditBalance"] == {"balance": 4}


async def test_booking_without_enough_credits_changes_nothing(api, db, org):
    slot = await add_slot(db, org, in_days(3))

    payload = await book(api, org.client, slot)

    assert payload["appointment"] is None
    assert [error["code"] for error in payload["userErrors"]] == ["INSUFFICIENT_CREDITS"]
    assert await slot_status(db, org, slot) == "AVAILABLE"
    assert await appointment_count(db, org) == 0
    assert await entries_of(db, org.id, org.client.user.id) == []


async def test_a_booked_slot_is_unavailable(api, db, org):
    slot = await add_slot(db, org, in_days(3))
    await give_credits(db, org, org.client, 1)
    await give_credits(db, org, org.other_client, 1)
    await book(api, org.client, slot)

    payload = await book(api, org.other_client, slot)

    assert payload["userErrors"] == [{"code": "SLOT_UNAVAILABLE", "field": ["input", "timeSlotId"],
                                      "message": "This slot is no longer available."}]
    assert (await balance_of(db, org.id, org.other_client.user.id)).balance == 1


async def test_a_blocked_slot_is_unavailable(api, db, org):
    slot = await add_slot(db, org, in_days(3))
    await give_credits(db, org, org.client, 1)
    await api.data("mutation($id: ID!) { blockTimeSlot(id: $id) { userErrors { code } } }",
                   {"id": slot_id(slot)}, as_=org.staff)

    payload = await book(api, org.client, slot)

    assert [error["code"] for error in payload["userErrors"]] == ["SLOT_UNAVAILABLE"]


async def test_booking_window_limits_how_far_ahead(api, db, org):
    await give_credits(db, org, org.client, 5)
    beyond = await add_slot(db, org, in_days(31))
    inside = await add_slot(db, org, in_days(29))

    refused = await book(api, org.client, beyond)
    accepted = await book(api, org.client, inside)

    assert refused["userErrors"] == [{
        "code": "OUTSIDE_BOOKING_WINDOW", "field": ["input", "timeSlotId"],
        "message": "Slots can be booked at most 30 days ahead."}]
    assert accepted["userErrors"] == []


async def test_minimum_notice_binds_clients_but_not_staff(api, db, org, tenants):
    from datetime import UTC, datetime

    await give_credits(db, org, org.client, 5)
    starts = (datetime.now(UTC) + HOUR).replace(microsecond=0)
    client_slot = await add_slot(db, org, starts)
    staff_slot = await add_slot(db, org, starts + HOUR)

    by_client = await book(api, org.client, client_slot)
    by_staff = await book(api, org.staff, staff_slot, clientId=org.client.id)

    assert [error["code"] for error in by_client["userErrors"]] == ["OUTSIDE_BOOKING_WINDOW"]
    assert by_staff["userErrors"] == []
    assert by_staff["appointment"]["client"] == {"email": org.client.user.email}


async def test_a_slot_that_already_started_cannot_be_booked_by_anyone(api, db, org):
    from datetime import UTC, datetime

    await give_credits(db, org, org.client, 5)
    slot = await add_slot(db, org, (datetime.now(UTC) - HOUR).replace(microsecond=0))

    payload = await book(api, org.admin, slot, clientId=org.client.id)

    assert [error["code"] for error in payload["userErrors"]] == ["OUTSIDE_BOOKING_WINDOW"]


async def test_client_books_for_own_student_only(api, db, org):
    await give_credits(db, org, org.client, 5)
    await give_credits(db, org, org.other_client, 5)
    first, second = await add_slot(db, org, in_days(3)), await add_slot(db, org, in_days(4))

    own = await book(api, org.client, first, studentId=org.student_id)
    foreign = await book(api, org.other_client, second, studentId=org.student_id)

    assert own["appointment"]["student"] == {"firstName": "Kid"}
    assert foreign["userErrors"] == [{"code": "NOT_FOUND", "field": ["input", "studentId"],
                                      "message": "No such student of this client."}]


async def test_the_database_refuses_a_student_of_another_client(db, org):
    """The composite foreign key (student, guardian) holds even if the code forgot to check."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    slot = await add_slot(db, org, in_days(3))
    with pytest.raises(IntegrityError, match="appointments_organization_id_student_id_client_id"):
        async with db.transaction(org.id) as session:
            session.add(Appointment(
                professional_id=org.professional_profile.id, client_id=org.other_client.user.id,
                student_id=org.student.id, time_slot_id=slot.id, starts_at=slot.starts_at,
                ends_at=slot.ends_at, state="PRE_CONFIRMED", credit_cost=1,
                refundable_until=slot.starts_at))


async def test_idempotent_booking_replays_the_first_result(api, db, org):
    await give_credits(db, org, org.client, 5)
    slot, other = await add_slot(db, org, in_days(3)), await add_slot(db, org, in_days(4))
    variables = {"input": {"timeSlotId": slot_id(slot), "idempotencyKey": "book-1"}}

    first = (await api.data(BOOK, variables, as_=org.client))["bookTimeSlot"]
    replay = (await api.data(BOOK, variables, as_=org.client))["bookTimeSlot"]
    reused = (await api.data(BOOK, {"input": {"timeSlotId": slot_id(other),
                                              "idempotencyKey": "book-1"}},
                             as_=org.client))["bookTimeSlot"]

    assert replay["appointment"]["id"] == first["appointment"]["id"]
    assert replay["creditTransaction"] == first["creditTransaction"]
    assert replay["userErrors"] == []
    assert [error["code"] for error in reused["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert await appointment_count(db, org) == 1
    assert (await balance_of(db, org.id, org.client.user.id)).balance == 4
    assert await slot_status(db, org, other) == "AVAILABLE"


async def test_a_replay_answers_as_the_first_request_did_even_after_a_cancellation(
        api, db, org):
    """docs/rules.md: idempotency: the stored result is returned, not the appointment as it is now."""
    await give_credits(db, org, org.client, 5)
    slot = await add_slot(db, org, in_days(3))
    variables = {"input": {"timeSlotId": slot_id(slot), "idempotencyKey": "book-then-cancel"}}
    first = (await api.data(BOOK, variables, as_=org.client))["bookTimeSlot"]
    cancelled = await api.data(CANCEL, {"input": {"appointmentId": first["appointment"]["id"]}},
                               as_=org.client)
    assert cancelled["cancelAppointment"]["appointment"]["state"] == "CANCELLED"

    replay = (await api.data(BOOK, variables, as_=org.client))["bookTimeSlot"]

    # The payload's own objects are the stored ones; related objects (the slot) are current.
    assert replay["appointment"].pop("timeSlot") == {"id": slot_id(slot), "status": "AVAILABLE"}
    assert first["appointment"].pop("timeSlot") == {"id": slot_id(slot), "status": "BOOKED"}
    assert replay == first
    assert replay["appointment"]["state"] == "PRE_CONFIRMED"
    assert replay["creditBalance"] == {"balance": 4}
    assert await appointment_count(db, org) == 1
    assert (await balance_of(db, org.id, org.client.user.id)).balance == 5


async def test_malformed_and_foreign_slot_ids_are_not_found(api, db, org, other_org):
    await give_credits(db, org, org.client, 5)
    foreign = await add_slot(db, other_org, in_days(3))

    for bad in ["nonsense", slot_id(foreign)]:
        body = await api.data(BOOK, {"input": {"timeSlotId": bad}}, as_=org.client)
        assert body["bookTimeSlot"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert await slot_status(db, other_org, foreign) == "AVAILABLE"


BOOK_AND_PAY = """mutation Book($input: BookTimeSlotInput!) {
  bookTimeSlot(input: $input) {
    appointment { id state startsAt creditCost }
    creditTransaction { amount balanceAfter }
    creditBalance { balance }
    userErrors { code }
  }
}"""


async def test_a_booking_is_two_statements_between_begin_and_commit(api, db, org):
    """Slot, professional, their user, client and organization come with the tenant setup;
    every write is one more statement, whoever books."""
    await give_credits(db, org, org.client, 2)
    first, second = await add_slots(db, org, [in_days(2), in_days(3)])
    with counting_statements(db) as statements:
        booked = await api.data(BOOK_AND_PAY, {"input": {"timeSlotId": slot_id(first)}},
                                as_=org.client)
    assert booked["bookTimeSlot"]["userErrors"] == []
    assert len(statements) == 2, "\n".join(statements)
    assert "prefetched" in statements[0]
    with counting_statements(db) as statements:
        booked = await api.data(BOOK_AND_PAY, {"input": {"timeSlotId": slot_id(second),
                                                 "clientId": org.client.id}}, as_=org.staff)
    assert booked["bookTimeSlot"]["userErrors"] == []
    assert len(statements) == 2, "\n".join(statements)
    assert "prefetched" in statements[0]
