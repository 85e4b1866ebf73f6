"""bookSeries, cancelSeries and appointmentSeries over GraphQL."""

from app import global_ids as ids
from app.clock import utc_now
from tests.series.test_booking_series import ready

BOOK = """mutation($input: BookSeriesInput!) { bookSeries(input: $input) {
    series { id frequency weekday startTime timeZone count until active
             appointments { totalCount edges { node { id startsAt series { id } } } } }
    appointments { id state }
    skipped { startsAt code message }
    creditBalance { balance }
    userErrors { code field message } } }"""
CANCEL = """mutation($input: CancelSeriesInput!) { cancelSeries(input: $input) {
    series { id active cancelledAt }
    cancelledAppointments { id state }
    refundedCredits
    creditBalance { balance }
    userErrors { code field message } } }"""
LIST = """query($active: Boolean) { appointmentSeries(active: $active) {
    totalCount edges { node { id client { email } professional { id } } } } }"""


async def test_a_client_books_a_series_sees_it_and_cancels_it(api, db, org):
    slots = await ready(db, org, credits=10, now=utc_now())
    slot_id = ids.encode("TimeSlot", slots[1].id)

    booked = (await api.data(BOOK, {"input": {"timeSlotId": slot_id, "frequency": "WEEKLY",
                                              "count": 10}}, as_=org.client))["bookSeries"]
    listed = (await api.data(LIST, {"active": True}, as_=org.client))["appointmentSeries"]
    others = (await api.data(LIST, {}, as_=org.other_client))["appointmentSeries"]
    cancelled = (await api.data(CANCEL, {"input": {"seriesId": booked["series"]["id"]}},
                                as_=org.client))["cancelSeries"]

    assert booked["userErrors"] == []
    assert booked["series"]["frequency"] == "WEEKLY"
    assert booked["series"]["startTime"] == "09:00"
    assert booked["series"]["timeZone"] == "America/New_York"
    assert booked["series"]["appointments"]["totalCount"] == len(booked["appointments"]) == 5
    assert booked["creditBalance"] == {"balance": 5}
    assert listed["totalCount"] == 1
    assert others["totalCount"] == 0
    assert cancelled["userErrors"] == []
    assert cancelled["series"]["active"] is False
    assert len(cancelled["cancelledAppointments"]) == 5
    assert cancelled["refundedCredits"] == 5  # all far enough ahead for a refund
    assert cancelled["creditBalance"] == {"balance": 10}
