"""The demo has an appointment in every state, and a clean ledger."""

from datetime import UTC, datetime

from app.demo import seed_demo
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
    assert deadlines == [False, True]  # one past its refund deadline, one before it
    async with db.transaction(None, read_only=True) as session:
        organization = await organizations.find_by_slug(session, "demo")
    assert await violations(db, organization.id) == []
