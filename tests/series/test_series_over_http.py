"""The whole life of a recurring series over HTTP (the issue's "Done when"): a 10-week
weekly series booked with 8 weeks inside the booking window and one of them blocked by time
off (7 booked, 1 skipped and listed); the window moves and the extension job books the rest,
telling client and professional once of a later blocked week; a late cancellation of the
rest refunds only what the policy allows. The client's balance is read over GraphQL and
the ledger invariants hold at every step.

The API runs on the real clock; the jobs run in-process with the clock moved on."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app import global_ids as ids
from app.clock import utc_now
from app.credits import invariants
from app.i18n.languages import language
from app.jobs import work
from tests.jobs.support import give_credits, outbox, slots_of, work_every_day

WEEK = timedelta(weeks=1)
HOUR = timedelta(hours=1)
NEW_YORK = ZoneInfo("America/New_York")
WINDOW_DAYS = 52
# Five days' notice: the first occurrence (one to two days away) is inside the no-refund
# period; the next (eight to nine days away) and every later one are not.
POLICY_HOURS = 24 * 5
CREDITS = 12

SETTINGS = """mutation($input: UpdateOrganizationSettingsInput!) {
  updateOrganizationSettings(input: $input) { userErrors { code field message } } }"""
TIME_OFF = """mutation($input: CreateTimeOffInput!) { createTimeOff(input: $input) {
  timeOff { id } userErrors { code field message } } }"""
BOOK = """mutation($input: BookSeriesInput!) { bookSeries(input: $input) {
  series { id count active }
  appointments { id startsAt state }
  skipped { startsAt code message }
  creditBalance { balance }
  userErrors { code field message } } }"""
CANCEL = """mutation($input: CancelSeriesInput!) { cancelSeries(input: $input) {
  series { id active cancelledAt }
  cancelledAppointments { id startsAt state }
  refundedCredits
  creditBalance { balance }
  userErrors { code field message } } }"""
SERIES = """query { appointmentSeries {
  totalCount
  edges { node { id active cancelledAt
    appointments(first: 100) { totalCount edges { node { id startsAt state } } } } } } }"""
BALANCE = "query { creditBalance { balance lifetimeUsed lifetimeRefunded } }"


def occurrence(first: datetime, weeks: int) -> datetime:
    """The start `weeks` after `first`: the same New York wall-clock time."""
    local = first.astimezone(NEW_YORK)
    return datetime.combine(local.date() + weeks * WEEK, local.time(),
                            tzinfo=NEW_YORK).astimezone(UTC)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def balance_of(api, member) -> dict:
    return (await api.data(BALANCE, as_=member))["creditBalance"]


async def ledger_violations(db, org) -> list[str]:
    """`bookings check-ledger` for the organization."""
    async with db.transaction(org.id, read_only=True) as session:
        report = await invariants.check(session)
    return [str(violation) for violation in report.violations]


async def block(api, org, starts_at: datetime) -> None:
    made = (await api.data(TIME_OFF, {"input": {
        "professionalId": org.professional_id, "startsAt": starts_at.isoformat(),
        "endsAt": (starts_at + HOUR).isoformat(), "reason": "Away"}}, as_=org.admin))
    assert made["createTimeOff"]["userErrors"] == []


async def test_a_series_booked_extended_and_cancelled_late_over_http(api, db, org):
    now = utc_now()
    settings = await api.data(SETTINGS, {"input": {
        "bookingWindowDays": WINDOW_DAYS, "cancellationPolicyHours": POLICY_HOURS}},
        as_=org.admin)
    assert settings["updateOrganizationSettings"]["userErrors"] == []
    await work_every_day(db, org, org.professional_profile.id)  # 9-10 New York, every day
    await work.fill_booking_windows(db, now=now, organization_ids=[org.id])
    await give_credits(db, org, org.client, CREDITS, now=now)
    # The first occurrence: the first slot a day or more ahead, so it is one to two days
    # away; weeks 0-7 lie inside the 52 days, weeks 8 and 9 do not.
    first = next(slot for slot in await slots_of(db, org, org.professional_profile.id)
                 if slot.starts_at > now + timedelta(days=1))
    weeks = [occurrence(first.starts_at, k) for k in range(10)]
    assert weeks[7] <= now + timedelta(days=WINDOW_DAYS) < weeks[8]
    await block(api, org, weeks[3])
    assert await balance_of(api, org.client) == {
        "balance": CREDITS, "lifetimeUsed": 0, "lifetimeRefunded": 0}

    # ---- booking: 7 booked now, week 3 skipped and listed; weeks 8-9 wait ---------------
    booked = (await api.data(BOOK, {"input": {
        "timeSlotId": ids.encode("TimeSlot", first.id), "frequency": "WEEKLY", "count": 10}},
        as_=org.client))["bookSeries"]

    assert booked["userErrors"] == []
    assert [instant(a["startsAt"]) for a in booked["appointments"]] == (
        weeks[:3] + weeks[4:8])
    assert {a["state"] for a in booked["appointments"]} == {"PRE_CONFIRMED"}
    assert [(instant(skip["startsAt"]), skip["code"]) for skip in booked["skipped"]] == [
        (weeks[3], "SLOT_UNAVAILABLE")]
    assert booked["series"]["active"] is True
    assert booked["creditBalance"] == {"balance": CREDITS - 7}
    assert await balance_of(api, org.client) == {
        "balance": CREDITS - 7, "lifetimeUsed": 7, "lifetimeRefunded": 0}
    assert await ledger_violations(db, org) == []
    assert await outbox(db, org, kind="SERIES_SKIPPED") == []  # listed in the answer instead

    # ---- the window moves: the job books week 8 and reports the blocked week 9 once ------
    later = now + 2 * WEEK
    await block(api, org, weeks[9])
    await work.fill_booking_windows(db, now=later, organization_ids=[org.id])
    first_run = await work.extend_series(db, now=later, organization_ids=[org.id])
    second_run = await work.extend_series(db, now=later + timedelta(days=1),
                                          organization_ids=[org.id])

    assert first_run == (1, 1)
    assert second_run == (0, 0)
    told = await outbox(db, org, kind="SERIES_SKIPPED")
    assert sorted(message.recipient_user_id for message in told) == sorted(
        [org.client.user.id, org.professional.user.id])
    blocked_day = language("en").moment(weeks[9], "America/New_York")
    assert all(blocked_day in message.body for message in told)
    assert await balance_of(api, org.client) == {
        "balance": CREDITS - 8, "lifetimeUsed": 8, "lifetimeRefunded": 0}
    assert await ledger_violations(db, org) == []
    listed = (await api.data(SERIES, as_=org.client))["appointmentSeries"]
    [node] = [edge["node"] for edge in listed["edges"]]
    occurrences = node["appointments"]
    assert occurrences["totalCount"] == 8
    assert [instant(edge["node"]["startsAt"]) for edge in occurrences["edges"]] == (
        weeks[:3] + weeks[4:9])
    assert node["active"] is False  # all 10 handled: 8 booked, 2 skipped

    # ---- late cancellation of the rest: week 0 is inside the policy, the others are not -
    cancelled = (await api.data(CANCEL, {"input": {"seriesId": booked["series"]["id"]}},
                                as_=org.client))["cancelSeries"]

    assert cancelled["userErrors"] == []
    assert [instant(a["startsAt"]) for a in cancelled["cancelledAppointments"]] == (
        weeks[:3] + weeks[4:9])
    assert {a["state"] for a in cancelled["cancelledAppointments"]} == {"CANCELLED"}
    assert cancelled["refundedCredits"] == 7  # all but week 0's credit
    assert cancelled["creditBalance"] == {"balance": CREDITS - 8 + 7}
    assert cancelled["series"]["active"] is False
    assert cancelled["series"]["cancelledAt"] is not None
    assert await balance_of(api, org.client) == {
        "balance": CREDITS - 1, "lifetimeUsed": 8, "lifetimeRefunded": 7}
    assert await ledger_violations(db, org) == []
    after = (await api.data(SERIES, as_=org.client))["appointmentSeries"]["edges"][0]["node"]
    assert {edge["node"]["state"] for edge in after["appointments"]["edges"]} == {"CANCELLED"}
