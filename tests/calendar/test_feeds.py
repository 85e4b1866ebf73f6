"""Calendar feeds (docs/rules.md: calendar feeds): each user's secret iCalendar URL, parsed
back with `icalendar`; UIDs stay, SEQUENCE grows with every change, a cancellation shows
as CANCELLED, rotating ends the old URL, and nobody sees another's URL."""

from urllib.parse import urlsplit

from icalendar import Calendar

from tests.appointments.support import add_slots, book, give_credits, in_days, slot_id

FEED_URL = "{ me { calendarFeedUrl } }"
ROTATE = "mutation { rotateCalendarFeed { user { calendarFeedUrl } userErrors { code } } }"
RESCHEDULE = """mutation($id: ID!, $slot: ID!) { rescheduleAppointment(input: {appointmentId: $id,
    newTimeSlotId: $slot}) { userErrors { code message } } }"""
CANCEL = """mutation($id: ID!) { cancelAppointment(input: {appointmentId: $id}) {
    userErrors { code message } } }"""


async def feed_url(api, member) -> str:
    return (await api.data(FEED_URL, as_=member))["me"]["calendarFeedUrl"]


async def events(api, url: str) -> list:
    answer = await api.http.get(urlsplit(url).path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/calendar")
    return [component for component in Calendar.from_ical(answer.content).walk()
            if component.name == "VEVENT"]


async def test_a_booking_then_a_reschedule_then_a_cancellation_show_in_both_feeds(
        api, db, org):
    await give_credits(db, org, org.client, 3)
    first, second = await add_slots(db, org, [in_days(3), in_days(4)])
    booked = await book(api, org.client, first, studentId=org.student_id)
    appointment_id = booked["appointment"]["id"]
    client_url, professional_url = await feed_url(api, org.client), await feed_url(
        api, org.professional)

    [as_client] = await events(api, client_url)
    [as_professional] = await events(api, professional_url)

    assert str(as_client["uid"]) == f"{appointment_id}@testserver" == str(as_professional["uid"])
    assert as_client.decoded("dtstart") == first.starts_at
    assert as_client.decoded("dtstart").utcoffset().total_seconds() == 0
    assert (int(as_client["sequence"]), str(as_client["status"])) == (0, "TENTATIVE")
    student = f"{org.student.first_name} {org.student.last_name}"
    assert str(as_client["summary"]).endswith(f"({student})")
    assert org.client.user.first_name in str(as_professional["summary"])

    moved = await api.data(RESCHEDULE, {"id": appointment_id, "slot": slot_id(second)},
                           as_=org.client)
    assert moved["rescheduleAppointment"]["userErrors"] == []
    [rescheduled] = await events(api, client_url)
    cancelled_answer = await api.data(CANCEL, {"id": appointment_id}, as_=org.client)
    assert cancelled_answer["cancelAppointment"]["userErrors"] == []
    [cancelled] = await events(api, professional_url)

    assert str(rescheduled["uid"]) == str(cancelled["uid"]) == f"{appointment_id}@testserver"
    assert rescheduled.decoded("dtstart") == second.starts_at
    assert int(rescheduled["sequence"]) > 0
    assert int(cancelled["sequence"]) > int(rescheduled["sequence"])
    assert str(cancelled["status"]) == "CANCELLED"


async def test_an_unchanged_feed_answers_304_to_its_etag(api, db, org):
    await give_credits(db, org, org.client, 1)
    [slot] = await add_slots(db, org, [in_days(2)])
    await book(api, org.client, slot)
    path = urlsplit(await feed_url(api, org.client)).path

    first = await api.http.get(path)
    again = await api.http.get(path, headers={"If-None-Match": first.headers["etag"]})

    assert (first.status_code, again.status_code) == (200, 304)
    assert again.content == b""


async def test_rotating_ends_the_old_url_as_if_it_never_existed(api, org):
    old = await feed_url(api, org.client)

    rotated = (await api.data(ROTATE, as_=org.client))["rotateCalendarFeed"]
    new = rotated["user"]["calendarFeedUrl"]

    assert rotated["userErrors"] == [] and new != old
    assert await feed_url(api, org.client) == new
    gone = await api.http.get(urlsplit(old).path)
    unknown = await api.http.get("/calendar/" + "A" * 43 + ".ics")
    assert (gone.status_code, gone.text) == (unknown.status_code, unknown.text)
    assert gone.status_code == 404
    assert (await api.http.get(urlsplit(new).path)).status_code == 200


async def test_only_its_owner_sees_a_feeds_url(api, org):
    query = "query($id: ID!) { node(id: $id) { ... on User { calendarFeedUrl } } }"
    for member in (org.admin, org.staff):  # the only others who may see the client
        seen = await api.data(query, {"id": org.client.id}, as_=member)
        assert seen["node"]["calendarFeedUrl"] is None
    assert (await feed_url(api, org.client)).endswith(".ics")


async def test_a_feed_shows_nothing_of_another_organization(api, db, org, other_org):
    await give_credits(db, other_org, other_org.client, 1)
    [slot] = await add_slots(db, other_org, [in_days(2)])
    await book(api, other_org.client, slot)

    assert await events(api, await feed_url(api, org.client)) == []
    assert len(await events(api, await feed_url(api, other_org.client))) == 1


async def test_a_feed_speaks_its_owners_language(api, db, org):
    """The owner's own language, else the organization's: a Spanish-speaking client reads
    Spanish; the professional, in an English organization, English."""
    await give_credits(db, org, org.client, 1)
    [slot] = await add_slots(db, org, [in_days(3)])
    await book(api, org.client, slot, studentId=org.student_id, notes="Traer los informes")
    chosen = await api.data("""mutation($input: UpdateUserInput!) { updateUser(input: $input) {
        userErrors { code } } }""", {"input": {"id": org.client.id, "locale": "es-AR"}},
                            as_=org.client)
    assert chosen["updateUser"]["userErrors"] == []

    [as_client] = await events(api, await feed_url(api, org.client))
    [as_professional] = await events(api, await feed_url(api, org.professional))

    professional = f"{org.professional.user.first_name} {org.professional.user.last_name}"
    student = f"{org.student.first_name} {org.student.last_name}"
    assert str(as_client["summary"]) == f"Sesión con {professional} ({student})"
    assert str(as_client["description"]) == "Estado: a confirmar\nNotas: Traer los informes"
    assert as_client["summary"].params["LANGUAGE"] == "es-AR"
    assert as_professional["summary"].params["LANGUAGE"] == "en"
    assert str(as_professional["summary"]).startswith("Session with ")
    assert str(as_professional["description"]).startswith("State: awaiting confirmation")
