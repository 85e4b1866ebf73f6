"""The demo has an appointment in every state, a weekly series, and a clean ledger."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.demo import seed_demo
from app.jobs.work import expire_unconfirmed_bookings
from app.organizations import repository as organizations
from tests.credits.support import violations

NEW_YORK = ZoneInfo("America/New_York")

APPOINTMENTS = """{ appointments(first: 50) { edges { node {
    state refundableUntil startsAt cancellationPreview { refundCredits } } } } }"""


async def test_demo_shows_every_state_and_both_sides_of_the_refund_deadline(api, db, settings):
    demo = await seed_demo(db, settings)

    data = await api.data(APPOINTMENTS, token=demo.admin_token)

    nodes = [edge["node"] for edge in data["appointments"]["edges"]]
    assert {node["state"] for node in nodes} == {
        "PRE_CONFIRMED", "CONFIRMED", "EXECUTED", "NO_SHOW", "CANCELLED"}
    now = datetime.now(UTC)
    deadlines = sorted(datetime.fromisoformat(node["refundableUntil"]) > now
                       for node in nodes if node["state"] in ("PRE_CONFIRMED", "CONFIRMED"))
    assert set(deadlines) == {False, True}  # some past their refund deadline, some before it
    async with db.transaction(None, read_only=True) as session:
        organization = await organizations.find_by_slug(session, "demo")
    assert await violations(db, organization.id) == []


async def test_the_demo_worker_expires_the_stale_booking_with_a_refund(api, db, settings):
    demo = await seed_demo(db, settings)
    async with db.transaction(None, read_only=True) as session:
        organization = await organizations.find_by_slug(session, "demo")

    await expire_unconfirmed_bookings(db, now=datetime.now(UTC),
                                      organization_ids=[organization.id])

    data = await api.data("""{ appointments(filter: {states: [CANCELLED]}) { edges { node {
        notes cancellationReason creditTransactions { type amount } } } } }""",
                          token=demo.admin_token)
    stale = next(edge["node"] for edge in data["appointments"]["edges"]
                 if edge["node"]["notes"] == "Never confirmed")
    assert stale["cancellationReason"] == "Expired: not confirmed in time."
    assert [(entry["type"], entry["amount"]) for entry in stale["creditTransactions"]] == [
        ("APPOINTMENT_DEBIT", -1), ("CANCELLATION_REFUND", 1)]


SERIES = """{ appointmentSeries(active: true) { totalCount edges { node {
    frequency startTime timeZone count active cancelledAt
    client { email } student { firstName } professional { user { email } }
    appointments(first: 100) { totalCount edges { node {
        state startsAt series { id } creditTransactions { type amount status } } } } } } } }"""


async def test_the_demo_client_has_an_active_weekly_series_with_real_debits(api, db, settings):
    demo = await seed_demo(db, settings)

    data = await api.data(SERIES, token=demo.client_token)

    [series] = [edge["node"] for edge in data["appointmentSeries"]["edges"]]
    assert series["client"]["email"] == "david@demo.example"
    assert series["student"]["firstName"] == "Max"
    assert series["professional"]["user"]["email"] == "maria@demo.example"
    assert (series["frequency"], series["startTime"], series["timeZone"]) == (
        "WEEKLY", "10:00", "America/New_York")
    assert series["active"] is True and series["cancelledAt"] is None
    occurrences = [edge["node"] for edge in series["appointments"]["edges"]]
    assert 4 <= len(occurrences) < series["count"]  # the window's weeks now, the rest later
    local = [datetime.fromisoformat(node["startsAt"]).astimezone(NEW_YORK)
             for node in occurrences]
    assert [(start.date(), start.time()) for start in local] == [
        (local[0].date() + timedelta(weeks=k), time(10)) for k in range(len(local))]
    assert all(node["state"] == "PRE_CONFIRMED" for node in occurrences)
    assert all([(entry["type"], entry["amount"], entry["status"])
                for entry in node["creditTransactions"]] == [
        ("APPOINTMENT_DEBIT", -1, "COMPLETED")] for node in occurrences)
