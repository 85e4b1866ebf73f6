"""Who may book, act on and see appointments (docs/rules.md: roles)."""

import pytest

from tests.appointments.support import (
    BOOK,
    CANCEL,
    RESCHEDULE,
    action,
    add_slot,
    give_credits,
    in_days,
    slot_id,
)
from tests.support import error_codes


def outcome(body, field):
    if body.get("errors"):
        return error_codes(body)[0]
    errors = body["data"][field]["userErrors"]
    return errors[0]["code"] if errors else "ok"


@pytest.mark.parametrize(("actor", "for_client", "own_slot", "expected"), [
    ("client", None, True, "ok"),
    ("client", "other_client", True, "FORBIDDEN"),
    ("staff", "client", True, "ok"),
    ("admin", "client", True, "ok"),
    ("professional", "client", True, "ok"),
    ("professional", "client", False, "FORBIDDEN"),
    ("other_client", "client", True, "FORBIDDEN"),
])
async def test_who_may_book_for_whom(api, db, org, actor, for_client, own_slot, expected):
    await give_credits(db, org, org.client, 1)
    professional_id = None if own_slot else (await _other_profile_id(db, org))
    slot = await add_slot(db, org, in_days(3), professional_id=professional_id)
    variables = {"timeSlotId": slot_id(slot)}
    if for_client:
        variables["clientId"] = getattr(org, for_client).id

    body = await api.post(BOOK, {"input": variables}, as_=getattr(org, actor))

    assert outcome(body, "bookTimeSlot") == expected


async def _other_profile_id(db, org):
    from sqlalchemy import select

    from app.people.models import Professional

    async with db.transaction(org.id, read_only=True) as session:
        return await session.scalar(select(Professional.id).where(
            Professional.user_id == org.other_professional.user.id))


@pytest.fixture
async def appointment(api, db, org):
    """A PRE_CONFIRMED appointment of `client` with `professional`, three days ahead."""
    await give_credits(db, org, org.client, 1)
    slot = await add_slot(db, org, in_days(3))
    body = await api.data(BOOK, {"input": {"timeSlotId": slot_id(slot), "notes": "hello"}},
                          as_=org.client)
    return body["bookTimeSlot"]["appointment"]["id"]


@pytest.mark.parametrize(("actor", "expected"), [
    ("admin", "ok"), ("staff", "ok"), ("professional", "ok"), ("client", "ok"),
    ("other_professional", "NOT_FOUND"), ("other_client", "NOT_FOUND")])
async def test_who_may_confirm(api, org, appointment, actor, expected):
    body = await api.post(action("confirmAppointment"), {"input": {"appointmentId": appointment}},
                          as_=getattr(org, actor))
    assert outcome(body, "confirmAppointment") == expected


@pytest.mark.parametrize(("actor", "expected"), [
    ("admin", "ok"), ("staff", "ok"), ("professional", "ok"), ("client", "ok"),
    ("other_professional", "NOT_FOUND"), ("other_client", "NOT_FOUND")])
async def test_who_may_cancel(api, org, appointment, actor, expected):
    body = await api.post(CANCEL, {"input": {"appointmentId": appointment}},
                          as_=getattr(org, actor))
    assert outcome(body, "cancelAppointment") == expected


@pytest.mark.parametrize(("actor", "expected"), [
    ("admin", "ok"), ("staff", "ok"), ("professional", "ok"), ("client", "ok"),
    ("other_professional", "NOT_FOUND"), ("other_client", "NOT_FOUND")])
async def test_who_may_reschedule(api, db, org, appointment, actor, expected):
    new_slot = await add_slot(db, org, in_days(6))
    body = await api.post(RESCHEDULE, {"input": {"appointmentId": appointment,
                                                 "newTimeSlotId": slot_id(new_slot)}},
                          as_=getattr(org, actor))
    assert outcome(body, "rescheduleAppointment") == expected


@pytest.mark.parametrize(("mutation", "actor", "expected"), [
    # Allowed roles get past the permission check to the state check (before the start).
    ("executeAppointment", "admin", "INVALID_STATE_TRANSITION"),
    ("executeAppointment", "professional", "INVALID_STATE_TRANSITION"),
    ("executeAppointment", "staff", "FORBIDDEN"),
    ("executeAppointment", "client", "FORBIDDEN"),
    ("markNoShow", "admin", "INVALID_STATE_TRANSITION"),
    ("markNoShow", "staff", "INVALID_STATE_TRANSITION"),
    ("markNoShow", "professional", "INVALID_STATE_TRANSITION"),
    ("markNoShow", "client", "FORBIDDEN"),
    ("markNoShow", "other_professional", "NOT_FOUND"),
])
async def test_who_may_execute_or_mark_no_show(api, org, appointment, mutation, actor, expected):
    await api.data(action("confirmAppointment"), {"input": {"appointmentId": appointment}},
                   as_=org.admin)
    body = await api.post(action(mutation), {"input": {"appointmentId": appointment}},
                          as_=getattr(org, actor))
    assert outcome(body, mutation) == expected


LIST = "{ appointments(first: 50) { totalCount edges { node { id client { email } } } } }"


@pytest.mark.parametrize(("actor", "sees"), [
    ("admin", True), ("staff", True), ("professional", True), ("client", True),
    ("other_professional", False), ("other_client", False)])
async def test_who_sees_the_appointment(api, org, appointment, actor, sees):
    data = await api.data(LIST, as_=getattr(org, actor))
    assert data["appointments"]["totalCount"] == (1 if sees else 0)
    node = await api.post("query($id: ID!) { node(id: $id) { id } }", {"id": appointment},
                          as_=getattr(org, actor))
    assert (error_codes(node) or ["ok"]) == (["ok"] if sees else ["NOT_FOUND"])


@pytest.mark.parametrize(("actor", "private_visible"), [
    ("admin", True), ("professional", True), ("staff", False), ("client", False)])
async def test_private_notes_for_the_professional_and_admin_only(api, org, appointment, actor,
                                                                 private_visible):
    await api.data(action("confirmAppointment"), {"input": {"appointmentId": appointment,
                                                            "notes": "Private remark"}},
                   as_=org.professional)
    query = """query($id: ID!) { node(id: $id) { ... on Appointment { notes privateNotes } } }"""
    data = await api.data(query, {"id": appointment}, as_=getattr(org, actor))
    assert data["node"] == {"notes": "hello",
                            "privateNotes": "Private remark" if private_visible else None}


async def test_a_professional_sees_their_clients_but_not_others(api, org, appointment):
    users = await api.data("{ users(role: CLIENT) { edges { node { email } } } }",
                           as_=org.professional)
    assert [edge["node"]["email"] for edge in users["users"]["edges"]] == [org.client.user.email]
    other = await api.data("{ users(role: CLIENT) { totalCount } }", as_=org.other_professional)
    assert other["users"]["totalCount"] == 0


async def test_time_slot_shows_the_appointment_to_those_who_see_it(api, db, org, appointment):
    query = """query($id: ID!) { node(id: $id) { ... on Appointment { timeSlot { id } } } }"""
    slot_gid = (await api.data(query, {"id": appointment}, as_=org.admin))["node"]["timeSlot"]["id"]
    slot_query = """query($id: ID!) { node(id: $id) { ... on TimeSlot { appointment { id } } } }"""

    for actor, expected in [("client", {"id": appointment}), ("other_client", None),
                            ("staff", {"id": appointment})]:
        data = await api.data(slot_query, {"id": slot_gid}, as_=getattr(org, actor))
        assert data["node"]["appointment"] == expected


async def test_appointment_credit_transactions_hidden_from_professionals(api, org, appointment):
    query = """query($id: ID!) { node(id: $id) { ... on Appointment {
        creditTransactions { type amount appointment { id } } } } }"""
    as_client = await api.data(query, {"id": appointment}, as_=org.client)
    as_professional = await api.data(query, {"id": appointment}, as_=org.professional)
    assert as_client["node"]["creditTransactions"] == [
        {"type": "APPOINTMENT_DEBIT", "amount": -1, "appointment": {"id": appointment}}]
    assert as_professional["node"]["creditTransactions"] == []


@pytest.mark.parametrize(("actor", "shows_credits"), [
    ("professional", False), ("staff", True), ("client", True)])
async def test_mutation_payloads_show_credits_only_to_those_who_may_see_them(
        api, db, org, actor, shows_credits):
    """A professional books and cancels for a client without seeing the client's credits,
    which `creditBalance(userId:)` would refuse them."""
    await give_credits(db, org, org.client, 2)
    slot = await add_slot(db, org, in_days(3))
    variables = {"timeSlotId": slot_id(slot)}
    if actor != "client":
        variables["clientId"] = org.client.id
    booked = (await api.data(BOOK, {"input": variables}, as_=getattr(org, actor)))["bookTimeSlot"]
    cancelled = (await api.data(CANCEL, {"input": {"appointmentId": booked["appointment"]["id"]}},
                                as_=getattr(org, actor)))["cancelAppointment"]

    assert booked["userErrors"] == [] and cancelled["userErrors"] == []
    if shows_credits:
        assert booked["creditTransaction"]["type"] == "APPOINTMENT_DEBIT"
        assert booked["creditBalance"] == {"balance": 1}
        assert cancelled["creditTransaction"]["type"] == "CANCELLATION_REFUND"
        assert cancelled["creditBalance"] == {"balance": 2}
    else:
        assert booked["creditTransaction"] is None and booked["creditBalance"] is None
        assert cancelled["creditTransaction"] is None and cancelled["creditBalance"] is None


@pytest.mark.parametrize(("actor", "sees"), [
    ("professional", True), ("other_professional", False), ("staff", True), ("client", True),
    ("other_client", False)])
async def test_the_student_of_an_appointment_can_be_fetched_again_by_its_id(api, db, org, actor,
                                                                           sees):
    """Whoever is shown `Appointment.student` can also fetch that student with `node`."""
    me = await api.data("{ me { students { id } } }", as_=org.client)
    student_id = me["me"]["students"][0]["id"]
    await give_credits(db, org, org.client, 1)
    slot = await add_slot(db, org, in_days(3))
    await api.data(BOOK, {"input": {"timeSlotId": slot_id(slot), "studentId": student_id}},
                   as_=org.client)

    body = await api.post("query($id: ID!) { node(id: $id) { ... on Student { id firstName } } }",
                          {"id": student_id}, as_=getattr(org, actor))

    if sees:
        assert body["data"]["node"] == {"id": student_id, "firstName": "Kid"}
    else:
        assert error_codes(body) == ["NOT_FOUND"]
