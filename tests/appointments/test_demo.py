"""The demo has an appointment in every state, and a clean ledger."""

from datetime import UTC, datetime

from app.demo import seed_demo
from app.jobs.work import expire_unconfirmed_bookings
from app.organizations import repository as organizations
from tests.credits.support import violations

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
