"""GET /exports/appointments.csv: the report's appointments as CSV, with the same visibility,
local times, and cells a spreadsheet cannot take for formulas."""

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

from app.clock import utc_now
from app.people import repository as people
from tests.appointments.support import CANCEL, add_slots, book, give_credits, in_days
from tests.reports.test_organization_report import REPORT, local_days

PATH = "/exports/appointments.csv"


def rows(answer) -> list[dict]:
    return list(csv.DictReader(io.StringIO(answer.text)))


async def test_the_csv_has_one_row_per_appointment_with_the_reports_totals(api, db, org):
    await give_credits(db, org, org.client, 3)
    first, second = await add_slots(db, org, [in_days(2), in_days(3)])
    booked = await book(api, org.client, first, studentId=org.student_id)
    cancelled = await book(api, org.client, second)
    await api.data(CANCEL, {"input": {"appointmentId": cancelled["appointment"]["id"]}},
                   as_=org.client)
    days = local_days("America/New_York", -1, 7)

    answer = await api.http.get(PATH, params=days,
                                headers={"Authorization": f"Bearer {org.admin.token}"})
    report = (await api.data(REPORT, days, as_=org.admin))["organizationReport"]

    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    found = rows(answer)
    by_state = {row["state"]: 0 for row in found}
    for row in found:
        by_state[row["state"]] += 1
    assert by_state == {entry["state"]: entry["count"]
                        for entry in report["appointmentsByState"] if entry["count"]}
    [kept] = [row for row in found if row["appointment_id"] == booked["appointment"]["id"]]
    local = first.starts_at.astimezone(ZoneInfo("America/New_York"))
    assert kept["starts_at"] == local.strftime("%Y-%m-%d %H:%M")
    assert kept["student"] == f"{org.student.first_name} {org.student.last_name}"
    assert kept["credits"] == "1" and kept["cancelled_by"] == ""
    [gone] = [row for row in found if row["state"] == "CANCELLED"]
    assert gone["cancelled_by"] == f"{org.client.user.first_name} {org.client.user.last_name}"


async def test_a_name_that_looks_like_a_formula_stays_text(api, db, org):
    async with db.transaction(org.id) as session:
        user = await people.get_user(session, org.client.user.id)
        user.first_name = "=HYPERLINK(\"http://evil.example\")"
    await give_credits(db, org, org.client, 1)
    [slot] = await add_slots(db, org, [in_days(2)])
    await book(api, org.client, slot)

    answer = await api.http.get(PATH, params=local_days("America/New_York", 0, 6),
                                headers={"Authorization": f"Bearer {org.admin.token}"})

    [row] = rows(answer)
    assert row["client"].startswith("'=HYPERLINK(")


async def test_no_token_is_401_a_client_403_and_a_bad_period_400(api, org):
    days = local_days("America/New_York", 0, 6)
    today = utc_now().date()

    anonymous = await api.http.get(PATH, params=days)
    client = await api.http.get(PATH, params=days,
                                headers={"Authorization": f"Bearer {org.client.token}"})
    backwards = await api.http.get(PATH, params={"from": str(today), "to": str(
        today - timedelta(days=1))}, headers={"Authorization": f"Bearer {org.admin.token}"})
    not_a_date = await api.http.get(PATH, params={"from": "yesterday", "to": str(today)},
                                    headers={"Authorization": f"Bearer {org.admin.token}"})

    assert (anonymous.status_code, client.status_code) == (401, 403)
    assert (backwards.status_code, not_a_date.status_code) == (400, 400)
    assert "before" in backwards.text and "YYYY-MM-DD" in not_a_date.text


async def test_a_professional_exports_only_their_own_appointments(api, db, org):
    await give_credits(db, org, org.client, 3)
    async with db.transaction(org.id, read_only=True) as session:
        other = await people.find_professional_by_user(session, org.other_professional.user.id)
    [mine] = await add_slots(db, org, [in_days(2)])
    [theirs] = await add_slots(db, org, [in_days(2)], professional_id=other.id)
    await book(api, org.client, mine)
    await book(api, org.client, theirs)

    answer = await api.http.get(PATH, params=local_days("America/New_York", 0, 6),
                                headers={"Authorization": f"Bearer {org.professional.token}"})

    assert [row["professional"] for row in rows(answer)] == [
        f"{org.professional.user.first_name} {org.professional.user.last_name}"]
