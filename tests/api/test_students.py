"""updateStudent: a guardian (or STAFF, ADMIN) renames or deactivates a student. A deactivated
student keeps their history but cannot be booked for. Who may is in the permission matrix
(tests/security/test_permission_matrix.py)."""

import pytest

from tests.appointments.support import add_slot, book, give_credits, in_days

UPDATE = """
mutation Update($input: UpdateStudentInput!) {
  updateStudent(input: $input) {
    student { id firstName lastName dateOfBirth active }
    userErrors { code field message }
  }
}
"""
STUDENT = """query($id: ID!) { node(id: $id) { ... on Student {
    firstName lastName dateOfBirth active } } }"""


async def update(api, member, **changes) -> dict:
    return (await api.data(UPDATE, {"input": changes}, as_=member))["updateStudent"]


async def test_a_guardian_renames_their_student_and_the_rest_stays(api, org):
    renamed = await update(api, org.client, id=org.student_id, firstName="Kiddo",
                           dateOfBirth="2018-04-02")

    assert renamed == {"student": {"id": org.student_id, "firstName": "Kiddo",
                                   "lastName": "Tester", "dateOfBirth": "2018-04-02",
                                   "active": True},
                       "userErrors": []}
    again = await update(api, org.staff, id=org.student_id, dateOfBirth=None)
    assert again["student"]["dateOfBirth"] is None  # an explicit null clears it
    assert again["student"]["firstName"] == "Kiddo"


async def test_a_deactivated_student_cannot_be_booked_for_and_keeps_their_history(api, db,
                                                                                   org):
    await give_credits(db, org, org.client, 5)
    earlier, later = await add_slot(db, org, in_days(3)), await add_slot(db, org, in_days(4))
    booked = await book(api, org.client, earlier, studentId=org.student_id)

    deactivated = await update(api, org.client, id=org.student_id, active=False)
    refused = await book(api, org.client, later, studentId=org.student_id)

    assert deactivated["student"]["active"] is False
    assert refused["userErrors"] == [{
        "code": "VALIDATION_FAILED", "field": ["input", "studentId"],
        "message": "This student is deactivated and cannot be booked for."}]
    history = await api.data("query($id: ID!) { node(id: $id) { ... on Appointment { "
                             "state student { firstName active } } } }",
                             {"id": booked["appointment"]["id"]}, as_=org.client)
    assert history["node"] == {"state": "PRE_CONFIRMED",
                               "student": {"firstName": "Kid", "active": False}}

    await update(api, org.client, id=org.student_id, active=True)
    assert (await book(api, org.client, later, studentId=org.student_id))["userErrors"] == []


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"firstName": "  "}, "firstName", "required"),
    ({"lastName": "x" * 1000}, "lastName", "characters"),
    ({"dateOfBirth": "2999-01-01"}, "dateOfBirth", "in the future"),
    ({"active": None}, "active", "Cannot be null."),
])
async def test_bad_input_is_refused_naming_the_field_and_changes_nothing(api, org, changes,
                                                                         field, message):
    refused = await update(api, org.client, id=org.student_id, **changes)

    assert refused["student"] is None
    [error] = refused["userErrors"]
    assert (error["code"], error["field"]) == ("VALIDATION_FAILED", ["input", field])
    assert message in error["message"]
    stored = await api.data(STUDENT, {"id": org.student_id}, as_=org.client)
    assert stored["node"] == {"firstName": "Kid", "lastName": "Tester", "dateOfBirth": None,
                              "active": True}


async def test_an_unknown_or_foreign_student_is_not_found(api, org, other_org):
    for student_id in ("not-an-id", other_org.student_id):
        refused = await update(api, org.admin, id=student_id, firstName="X")
        assert refused["userErrors"] == [{"code": "NOT_FOUND", "field": ["input", "id"],
                                          "message": refused["userErrors"][0]["message"]}]
    stored = await api.data(STUDENT, {"id": other_org.student_id}, as_=other_org.admin)
    assert stored["node"]["firstName"] == "Kid"
