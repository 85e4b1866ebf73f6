"""The appointments query: filters, order and pages."""

from tests.appointments.support import add_slots, book, give_credits, in_days

LIST = """query($filter: AppointmentFilter, $first: Int, $after: String) {
  appointments(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { startsAt state client { email } student { firstName } professional { id } } }
  }
}"""


async def test_filters_order_and_pages(api, db, org):
    await give_credits(db, org, org.client, 3)
    await give_credits(db, org, org.other_client, 1)
    first, second, third, fourth = await add_slots(
        db, org, [in_days(2), in_days(3), in_days(4), in_days(5)])
    await book(api, org.client, third, studentId=org.student_id)
    await book(api, org.client, first)
    cancelled = (await book(api, org.client, second))["appointment"]["id"]
    await book(api, org.other_client, fourth)
    await api.data("""mutation($id: ID!) { cancelAppointment(input: {appointmentId: $id}) {
        userErrors { code } } }""", {"id": cancelled}, as_=org.client)

    everything = (await api.data(LIST, {"first": 2}, as_=org.staff))["appointments"]
    rest = (await api.data(LIST, {"first": 2, "after": everything["pageInfo"]["endCursor"]},
                           as_=org.staff))["appointments"]
    open_of_client = (await api.data(LIST, {"filter": {
        "clientId": org.client.id, "states": ["PRE_CONFIRMED", "CONFIRMED"],
        "from": in_days(3).isoformat(), "to": in_days(6).isoformat()}},
        as_=org.staff))["appointments"]

    starts = [edge["node"]["startsAt"] for edge in everything["edges"] + rest["edges"]]
    assert starts == [slot.starts_at.isoformat() for slot in (first, second, third, fourth)]
    assert everything["totalCount"] == 4
    assert everything["pageInfo"]["hasNextPage"] is True
    assert rest["pageInfo"]["hasNextPage"] is False
    assert [edge["node"]["student"] for edge in open_of_client["edges"]] == [{"firstName": "Kid"}]
    assert open_of_client["totalCount"] == 1


async def test_filter_by_professional_and_bad_filter_ids(api, db, org):
    await give_credits(db, org, org.client, 1)
    [slot] = await add_slots(db, org, [in_days(2)])
    await book(api, org.client, slot)

    mine = await api.data(LIST, {"filter": {"professionalId": org.professional_id}},
                          as_=org.admin)
    bad = await api.post(LIST, {"filter": {"professionalId": "garbage"}}, as_=org.admin)

    assert mine["appointments"]["totalCount"] == 1
    assert bad["errors"][0]["extensions"]["code"] == "NOT_FOUND"
