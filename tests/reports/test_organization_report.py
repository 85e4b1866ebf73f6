"""organizationReport (docs/rules.md: reports): a scripted week whose figures are computed by
hand, `outstanding` as it stood at the end of a past period, who sees what, and bad input."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from app.clock import utc_now
from tests.appointments.support import (
    CANCEL,
    add_slots,
    book,
    give_credits,
    hours_from_now,
    in_days,
)

REPORT = """query($from: Date!, $to: Date!, $professionals: [ID!]) {
  organizationReport(from: $from, to: $to, professionalIds: $professionals) {
    from to timeZone
    appointmentsByState { state count }
    professionals { professional { id } offeredMinutes bookedMinutes utilization
                    lateCancellations appointmentsByState { state count } }
    credits { purchased used refunded expired adjusted outstanding revenueCents currency }
  } }"""


def local_days(org_zone: str, first_offset: int, last_offset: int) -> dict[str, str]:
    today = utc_now().astimezone(ZoneInfo(org_zone)).date()
    return {"from": str(today + timedelta(days=first_offset)),
            "to": str(today + timedelta(days=last_offset))}


def counts(rows: list[dict]) -> dict[str, int]:
    return {row["state"]: row["count"] for row in rows if row["count"]}


async def test_a_scripted_week_adds_up_to_the_hand_computed_figures(api, db, org):
    await give_credits(db, org, org.client, 5)  # 5 credits for 12,500 cents
    soon, later, free = await add_slots(db, org, [hours_from_now(10), in_days(3), in_days(4)])
    await add_slots(db, org, [in_days(5)], minutes=30)
    late = await book(api, org.client, soon)  # cancelled inside the policy: late
    kept = await book(api, org.client, later)
    early = await book(api, org.client, free)  # cancelled three days ahead: refunded, not late
    for booked in (late, early):
        await api.data(CANCEL, {"input": {"appointmentId": booked["appointment"]["id"]}},
                       as_=org.client)

    report = (await api.data(REPORT, local_days("America/New_York", -1, 7),
                             as_=org.admin))["organizationReport"]

    assert report["timeZone"] == "America/New_York"
    assert counts(report["appointmentsByState"]) == {"PRE_CONFIRMED": 1, "CANCELLED": 2}
    [mine] = [row for row in report["professionals"]
              if row["professional"]["id"] == org.professional_id]
    # Offered: the three hour slots (the late one is AVAILABLE again) and the half hour.
    assert (mine["offeredMinutes"], mine["bookedMinutes"]) == (210, 60)
    assert mine["utilization"] == 60 / 210
    assert mine["lateCancellations"] == 1
    assert counts(mine["appointmentsByState"]) == {"PRE_CONFIRMED": 1, "CANCELLED": 2}
    [other] = [row for row in report["professionals"] if row is not mine]
    assert (other["offeredMinutes"], other["utilization"], counts(
        other["appointmentsByState"])) == (0, 0.0, {})
    # The late cancellation refunded nothing (the policy), the early one its credit.
    assert report["credits"] == {"purchased": 5, "used": 3, "refunded": 1, "expired": 0,
                                 "adjusted": 0, "outstanding": 3, "revenueCents": 12500,
                                 "currency": "USD"}
    assert kept["appointment"]["state"] == "PRE_CONFIRMED"


async def test_outstanding_of_a_past_period_is_what_clients_held_then(api, db, org):
    await give_credits(db, org, org.client, 4)

    before = (await api.data(REPORT, local_days("America/New_York", -30, -2),
                             as_=org.admin))["organizationReport"]["credits"]
    now = (await api.data(REPORT, local_days("America/New_York", -30, 0),
                          as_=org.admin))["organizationReport"]["credits"]

    assert (before["outstanding"], before["purchased"]) == (0, 0)
    assert (now["outstanding"], now["purchased"]) == (4, 4)


async def test_a_professional_sees_their_own_row_without_credits_and_a_client_nothing(api, org):
    days = local_days("America/New_York", 0, 6)

    own = (await api.data(REPORT, days, as_=org.professional))["organizationReport"]
    refused = await api.post(REPORT, days, as_=org.client)

    assert [row["professional"]["id"] for row in own["professionals"]] == [org.professional_id]
    assert own["credits"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_bad_periods_and_foreign_professionals_are_refused(api, org, other_org):
    cases = [
        ({"from": "2026-03-10", "to": "2026-03-09"}, "VALIDATION_FAILED"),
        ({"from": "2026-01-01", "to": "2027-01-02"}, "VALIDATION_FAILED"),
        ({**local_days("America/New_York", 0, 6),
          "professionals": [other_org.professional_id]}, "NOT_FOUND"),
    ]
    for variables, code in cases:
        answer = await api.post(REPORT, variables, as_=org.admin)
        assert answer["errors"][0]["extensions"]["code"] == code, (variables, answer)
