"""A seeded random fortnight of bookings, cancellations (early and late), purchases,
adjustments and expiries; every figure of organizationReport equals a naive recomputation
from the rows themselves, and the ledger stays clean."""

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from app.clock import utc_now
from app.credits import invariants, ledger
from tests.appointments.support import CANCEL, add_slots, book, give_credits, hours_from_now
from tests.reports.test_organization_report import REPORT, local_days

ZONE = "America/New_York"


async def naive(db, org, days: dict[str, str]) -> dict:
    """The report's figures, added up in Python from every row of the organization."""
    zone = ZoneInfo(ZONE)
    start = datetime.combine(date.fromisoformat(days["from"]), time(), zone)
    end = datetime.combine(date.fromisoformat(days["to"]) + timedelta(days=1), time(), zone)
    async with db.transaction(org.id, read_only=True) as session:
        appointments = (await session.execute(text(
            "SELECT professional_id, state, starts_at, ends_at, client_id, cancelled_by_id, "
            "cancelled_at, refundable_until FROM appointments"))).all()
        slots = (await session.execute(text(
            "SELECT professional_id, status, starts_at, ends_at FROM time_slots"))).all()
        entries = (await session.execute(text(
            "SELECT type, status, amount, amount_paid_cents, processed_at "
            "FROM credit_transactions"))).all()
    in_period = [a for a in appointments if start <= a.starts_at < end]
    by_state: dict[str, int] = {}
    for appointment in in_period:
        by_state[appointment.state] = by_state.get(appointment.state, 0) + 1
    mine = [a for a in in_period if a.professional_id == org.professional_profile.id]
    offered = sum((s.ends_at - s.starts_at).total_seconds() // 60 for s in slots
                  if s.professional_id == org.professional_profile.id
                  and start <= s.starts_at < end and s.status in ("AVAILABLE", "BOOKED"))
    booked = sum((a.ends_at - a.starts_at).total_seconds() // 60 for a in mine
                 if a.state != "CANCELLED")
    late = sum(1 for a in mine if a.state == "CANCELLED" and a.cancelled_by_id == a.client_id
               and a.cancelled_at > a.refundable_until)
    done = [e for e in entries if e.status == "COMPLETED" and e.processed_at < end]
    period = [e for e in done if e.processed_at >= start]

    def total(kind: str, sign: int = 1) -> int:
        return sign * sum(e.amount for e in period if e.type == kind)

    return {"by_state": by_state, "offered": offered, "booked": booked, "late": late,
            "credits": {"purchased": total("PURCHASE"), "used": total("APPOINTMENT_DEBIT", -1),
                        "refunded": total("CANCELLATION_REFUND"),
                        "expired": total("EXPIRATION", -1),
                        "adjusted": total("ADMIN_ADJUSTMENT"),
                        "outstanding": sum(e.amount for e in done),
                        "revenueCents": sum(e.amount_paid_cents or 0 for e in period
                                            if e.type == "PURCHASE"),
                        "currency": "USD"}}


@pytest.mark.parametrize("seed", [1, 2])
async def test_every_figure_equals_a_naive_recomputation(api, db, org, seed):
    rng = random.Random(seed)
    await give_credits(db, org, org.client, 40)
    # Within the first day a cancellation is late (the policy's 24 hours): many slots there.
    hours = [3 + 2 * n for n in range(10)] + [rng.choice([6, 12, 20]) + 24 * day
                                              for day in range(1, 14) for _ in range(2)]
    starts = sorted({hours_from_now(hour).replace(minute=0, second=0) for hour in hours})
    slots = await add_slots(db, org, starts)
    for slot in slots:
        if rng.random() < 0.7:
            booked = await book(api, org.client, slot)
            if booked["appointment"] and rng.random() < 0.5:  # some late, some early
                canceller = rng.choice([org.client, org.admin])  # only the client's count
                await api.data(CANCEL, {"input": {
                    "appointmentId": booked["appointment"]["id"]}}, as_=canceller)
    # At least one late cancellation that is not the client's own, which does not count.
    [soon] = await add_slots(db, org, [hours_from_now(4).replace(minute=0, second=0)])
    by_staff = await book(api, org.client, soon)
    await api.data(CANCEL, {"input": {"appointmentId": by_staff["appointment"]["id"]}},
                   as_=org.admin)
    now = utc_now()
    async with db.transaction(org.id) as session:
        for _ in range(rng.randint(1, 4)):
            await ledger.adjust(session, user_id=org.client.user.id, amount=rng.randint(1, 3),
                                reason="Goodwill", now=now,
                                expires_at=now + timedelta(seconds=rng.choice([1, 10**6])))
        await ledger.expire_lots(session, now=now + timedelta(seconds=5))
    days = local_days(ZONE, -1, 15)

    report = (await api.data(REPORT, days, as_=org.admin))["organizationReport"]
    expected = await naive(db, org, days)

    assert {e["state"]: e["count"] for e in report["appointmentsByState"]
            if e["count"]} == expected["by_state"]
    [mine] = [row for row in report["professionals"]
              if row["professional"]["id"] == org.professional_id]
    assert (mine["offeredMinutes"], mine["bookedMinutes"], mine["lateCancellations"]) == (
        expected["offered"], expected["booked"], expected["late"])
    assert report["credits"] == expected["credits"]
    [checked] = [r for r in await invariants.check_every_organization(db)
                 if r.organization == org.slug]
    assert checked.ok, checked.violations
