"""The availability query: notice and window, time zones cutting days, errors, statement count."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from app.auth import Role
from app.organizations.models import Organization
from app.scheduling import availability, service
from app.scheduling.models import Weekday
from tests.scheduling.support import (
    AVAILABILITY,
    add_professional,
    admin,
    create_rule,
    generate,
    gid,
    principal,
    upcoming,
)
from tests.support import counting_statements

NEW_YORK = ZoneInfo("America/New_York")
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def ny(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), NEW_YORK).astimezone(UTC)


async def _weekly_hours(db, org, professional, weekdays, start, end, first, last):
    async with db.transaction(org.id) as session:
        for weekday in weekdays:
            await service.create_rule(
                session,
                admin(org),
                professional.id,
                weekday=weekday,
                start_time=start,
                end_time=end,
            )
        await service.fill_time_slots(session, professional, first, last, now=LONG_AGO)


async def _availability(
    db, org, professional_ids, first, last, *, now, time_zone=None, member=None
):
    async with db.transaction(org.id, read_only=True) as session:
        results = await availability.get_availability(
            session,
            principal(member or org.client),
            professional_ids,
            first,
            last,
            time_zone=time_zone,
            now=now,
        )
    return [
        (
            result.time_zone,
            {day.date: [slot.starts_at for slot in day.slots] for day in result.days},
        )
        for result in results
    ]


async def test_minimum_notice_and_booking_window_bound_the_offered_starts(db, org):
    professional = await add_professional(db, org)
    await _weekly_hours(
        db, org, professional, list(Weekday), time(9), time(17), date(2027, 1, 4), date(2027, 1, 10)
    )
    async with db.transaction(org.id) as session:
        await session.execute(
            update(Organization)
            .where(Organization.id == org.id)
            .values(minimum_notice_minutes=180, booking_window_days=3)
        )
    now = ny(date(2027, 1, 5), 11)  # earliest start 14:00, latest start Jan 8 11:00

    [(zone, days)] = await _availability(
        db, org, [professional.id], date(2027, 1, 4), date(2027, 1, 10), now=now
    )

    assert zone == "America/New_York"
    assert days == {
        date(2027, 1, 4): [],
        date(2027, 1, 5): [ny(date(2027, 1, 5), hour) for hour in (14, 15, 16)],
        date(2027, 1, 6): [ny(date(2027, 1, 6), hour) for hour in range(9, 17)],
        date(2027, 1, 7): [ny(date(2027, 1, 7), hour) for hour in range(9, 17)],
        date(2027, 1, 8): [ny(date(2027, 1, 8), hour) for hour in (9, 10, 11)],
        date(2027, 1, 9): [],
        date(2027, 1, 10): [],
    }


async def test_time_zone_chooses_where_days_are_cut(db, org):
    # Monday 18:00-22:00 in New York is 23:00Z-03:00Z: Monday night in London,
    # Tuesday morning in Kolkata.
    professional = await add_professional(db, org)
    monday, tuesday = date(2027, 1, 11), date(2027, 1, 12)
    await _weekly_hours(db, org, professional, [Weekday.MONDAY], time(18), time(22), monday, monday)
    now = datetime(2027, 1, 1, tzinfo=UTC)
    starts = [datetime(2027, 1, 11, 23, tzinfo=UTC)] + [
        datetime(2027, 1, 12, hour, tzinfo=UTC) for hour in (0, 1, 2)
    ]

    own = await _availability(db, org, [professional.id], monday, tuesday, now=now)
    london = await _availability(
        db, org, [professional.id], monday, tuesday, now=now, time_zone="Europe/London"
    )
    kolkata = await _availability(
        db, org, [professional.id], monday, tuesday, now=now, time_zone="Asia/Kolkata"
    )

    assert own == [("America/New_York", {monday: starts, tuesday: []})]
    assert london == [("Europe/London", {monday: starts[:1], tuesday: starts[1:]})]
    assert kolkata == [("Asia/Kolkata", {monday: [], tuesday: starts})]


async def test_each_professional_is_cut_in_their_own_zone_by_default(db, org):
    london = await add_professional(db, org, time_zone="Europe/London")
    new_york = await add_professional(db, org)
    day = date(2027, 1, 11)
    for professional in (london, new_york):
        await _weekly_hours(db, org, professional, [Weekday.MONDAY], time(0), time(1), day, day)

    result = await _availability(
        db, org, [new_york.id, london.id], day, day, now=datetime(2027, 1, 1, tzinfo=UTC)
    )

    assert result == [
        ("America/New_York", {day: [datetime(2027, 1, 11, 5, tzinfo=UTC)]}),
        ("Europe/London", {day: [datetime(2027, 1, 11, 0, tzinfo=UTC)]}),
    ]


async def test_inactive_professionals_offer_nothing(db, org):
    professional = await add_professional(db, org)
    day = date(2027, 1, 11)
    await _weekly_hours(db, org, professional, [Weekday.MONDAY], time(9), time(10), day, day)
    async with db.transaction(org.id) as session:
        await session.execute(
            update(type(professional))
            .where(type(professional).id == professional.id)
            .values(active=False)
        )

    assert await _availability(
        db, org, [professional.id], day, day, now=datetime(2027, 1, 1, tzinfo=UTC)
    ) == [("America/New_York", {day: []})]


@pytest.mark.parametrize("role", list(Role))
async def test_every_role_sees_availability_over_the_api(api, org, role):
    day = upcoming(Weekday.WEDNESDAY)
    await create_rule(api, org.admin, org.professional_id, Weekday.WEDNESDAY, "09:00", "11:00")
    await generate(api, org.admin, org.professional_id, day, day)

    data = await api.data(
        AVAILABILITY,
        {
            "ids": [org.professional_id],
            "from": day.isoformat(),
            "to": day.isoformat(),
            "timeZone": "America/New_York",
        },
        as_=org.by_role(role),
    )

    [result] = data["availability"]
    [day_view] = result["days"]
    assert result["professional"] == {"id": org.professional_id}
    assert result["timeZone"] == "America/New_York"
    assert day_view["date"] == day.isoformat()
    assert [
        (slot["startsAt"], slot["endsAt"], slot["status"], slot["professional"]["id"])
        for slot in day_view["slots"]
    ] == [
        (ny(day, 9).isoformat(), ny(day, 10).isoformat(), "AVAILABLE", org.professional_id),
        (ny(day, 10).isoformat(), ny(day, 11).isoformat(), "AVAILABLE", org.professional_id),
    ]


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"from": "2027-01-01", "to": "2027-03-04"}, "VALIDATION_FAILED"),  # 63 days
        ({"from": "2027-01-02", "to": "2027-01-01"}, "VALIDATION_FAILED"),
        ({"timeZone": "Mars/Olympus_Mons"}, "VALIDATION_FAILED"),
        ({"timeZone": "EST5EDT "}, "VALIDATION_FAILED"),
    ],
)
async def test_bad_ranges_and_unknown_zones_are_clear_errors(api, org, variables, code):
    body = await api.post(
        AVAILABILITY,
        {"ids": [org.professional_id], "from": "2027-01-01", "to": "2027-01-07", **variables},
        as_=org.client,
    )

    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == [code]


async def test_sixty_two_days_are_allowed(api, org):
    data = await api.data(
        AVAILABILITY,
        {"ids": [org.professional_id], "from": "2027-01-01", "to": "2027-03-03"},
        as_=org.client,
    )

    assert len(data["availability"][0]["days"]) == 62


async def test_another_organizations_professional_is_not_found(api, org, other_org):
    for ids in (
        [other_org.professional_id],
        [org.professional_id, other_org.professional_id],
        ["not-an-id"],
        [gid("User", org.client.user.id)],
    ):
        body = await api.post(
            AVAILABILITY, {"ids": ids, "from": "2027-01-01", "to": "2027-01-07"}, as_=org.client
        )

        assert body["data"] is None
        assert [error["extensions"]["code"] for error in body["errors"]] == ["NOT_FOUND"]


async def test_availability_issues_a_constant_number_of_statements(api, db, org):
    first = upcoming(Weekday.MONDAY)
    last = first + timedelta(days=6)
    professionals = [await add_professional(db, org) for _ in range(20)]
    for professional in professionals:
        await _weekly_hours(db, org, professional, list(Weekday), time(8), time(18), first, last)
    every_id = [gid("Professional", professional.id) for professional in professionals]
    query = """query ($ids: [ID!]!, $from: Date!, $to: Date!) {
      availability(professionalIds: $ids, from: $from, to: $to) {
        professional { id timeZone } timeZone
        days { date slots { id startsAt endsAt status professional { id sessionMinutes } } }
      }
    }"""

    small_variables = {"ids": every_id[:1], "from": first.isoformat(), "to": first.isoformat()}
    large_variables = {"ids": every_id, "from": first.isoformat(), "to": last.isoformat()}
    # The first run of a document takes the general road; from then on its compiled plan
    # answers (app/api/compiled.py). Neither may grow with the answer.
    with counting_statements(db) as general_small:
        await api.data(query.replace("query (", "query Small (", 1), small_variables,
                       as_=org.client)
    with counting_statements(db) as general_road:
        await api.data(query, large_variables, as_=org.client)
    with counting_statements(db) as small:
        small_data = await api.data(query, small_variables, as_=org.client)
    with counting_statements(db) as large:
        large_data = await api.data(query, large_variables, as_=org.client)

    slot_count = sum(
        len(day["slots"]) for result in large_data["availability"] for day in result["days"]
    )
    assert len(small_data["availability"][0]["days"][0]["slots"]) == 10
    assert slot_count == 20 * 7 * 10
    assert len(general_road) == len(general_small) <= 6, general_road
    assert len(large) == len(small) <= len(general_road), large
