"""Webhook deliveries to a real HTTP receiver (docs/webhooks.md): signed and verified with the
Standard Webhooks library itself, retried after a 500 and after a timeout, one endpoint's
failure never holding back another, redeliveries with the same id, nothing for a rolled-back
change, and each event delivered once by racing workers."""

import asyncio
from datetime import timedelta
from itertools import pairwise

import pytest
from standardwebhooks.webhooks import Webhook

from app.clock import utc_now
from app.webhooks import delivery
from tests.appointments.support import CANCEL, add_slots, book, give_credits, in_days
from tests.webhooks.support import Receiver, deliveries, register, run_event_jobs

PURCHASE = """mutation($input: PurchaseCreditsInput!) { purchaseCredits(input: $input) {
    creditTransaction { id } userErrors { code message } } }"""
REDELIVER = """mutation($id: ID!) { redeliverWebhook(deliveryId: $id) {
    delivery { id eventId status } userErrors { code message } } }"""
ENDPOINT_DELIVERIES = """query { webhookEndpoints { id deliveries { totalCount edges { node {
    id eventId eventType status attempts lastStatusCode lastError deliveredAt
    attemptLog { statusCode error } } } } } }"""


@pytest.fixture
def receiver():
    started = Receiver().start()
    yield started
    started.stop()


async def test_book_cancel_and_purchase_arrive_signed_and_verify(api, db, org, receiver):
    endpoint = await register(api, org, receiver.url)
    await give_credits(db, org, org.client, 2)
    [slot] = await add_slots(db, org, [in_days(3)])
    booked = await book(api, org.client, slot)
    await api.data(CANCEL, {"input": {"appointmentId": booked["appointment"]["id"]}},
                   as_=org.client)
    await api.data(PURCHASE, {"input": {"userId": org.client.id, "credits": 5,
                                        "amountPaidCents": 10000}}, as_=org.admin)

    report = await run_event_jobs(db, org)

    assert report.delivered == 5
    verifier = Webhook(endpoint["secret"])
    events = [verifier.verify(received.body, received.headers) for received in receiver.received]
    assert [event["type"] for event in events] == [
        "credits.purchased", "appointment.booked", "credits.refunded", "appointment.cancelled",
        "credits.purchased"]
    # The cancellation's refund is an event of its own, from the same transaction.
    assert events[2]["data"]["transaction"]["appointment"] == {"id": booked["appointment"]["id"]}
    assert events[3]["data"]["appointment"]["id"] == booked["appointment"]["id"]
    assert events[3]["data"]["appointment"]["state"] == "CANCELLED"
    assert events[4]["data"]["balance"]["balance"] == 7
    assert len(set(receiver.event_ids())) == 5
    assert all(received.headers["webhook-id"].startswith("evt_")
               for received in receiver.received)


async def test_a_changed_signature_or_secret_does_not_verify(api, db, org, receiver):
    endpoint = await register(api, org, receiver.url)
    await give_credits(db, org, org.client, 1)
    await run_event_jobs(db, org)
    [received] = receiver.received
    tampered = received.body.replace(b'"balance":1', b'"balance":9')

    Webhook(endpoint["secret"]).verify(received.body, received.headers)
    with pytest.raises(Exception, match="signature"):
        Webhook(endpoint["secret"]).verify(tampered, received.headers)
    other_secret = (await register(api, org, receiver.url))["secret"]
    with pytest.raises(Exception, match="signature"):
        Webhook(other_secret).verify(received.body, received.headers)


async def test_a_rolled_back_change_sends_nothing(api, db, org, receiver):
    await register(api, org, receiver.url)
    with pytest.raises(RuntimeError):
        async with db.transaction(org.id) as session:
            from app.credits import ledger
            await ledger.adjust(session, user_id=org.client.user.id, amount=3, reason="oops",
                                now=utc_now())
            raise RuntimeError("rolled back")

    assert await deliveries(db, org) == []
    assert (await run_event_jobs(db, org)).delivered == 0
    assert receiver.received == []


async def test_a_500_is_retried_after_a_backoff_with_the_same_id(db, api, org, receiver):
    await register(api, org, receiver.url)
    receiver.status = 500
    await give_credits(db, org, org.client, 1)
    started = utc_now()

    first = await run_event_jobs(db, org)
    [waiting] = await deliveries(db, org)
    early = await delivery.deliver_due(db, now=started + timedelta(seconds=20),
                                       production=False, organization_ids=[org.id])
    receiver.status = 204
    later = await delivery.deliver_due(db, now=started + timedelta(minutes=2),
                                       production=False, organization_ids=[org.id])
    [done] = await deliveries(db, org)

    assert (first.retrying, early.delivered + early.retrying, later.delivered) == (1, 0, 1)
    assert (waiting.status, waiting.attempts, waiting.last_status_code) == ("PENDING", 1, 500)
    assert waiting.last_error == "HTTP 500"
    # The first retry comes 30 to 60 seconds later (a minute, jittered down to half).
    assert timedelta(seconds=29) <= waiting.next_attempt_at - started <= timedelta(seconds=62)
    assert (done.status, done.attempts, done.last_status_code) == ("DELIVERED", 2, 204)
    assert len(receiver.event_ids()) == 2 and len(set(receiver.event_ids())) == 1


async def test_a_receiver_too_slow_to_answer_is_retried(db, api, org, receiver):
    await register(api, org, receiver.url)
    receiver.stall = 1.5
    await give_credits(db, org, org.client, 1)

    slow = await run_event_jobs(db, org, timeout=0.3)
    [waiting] = await deliveries(db, org)
    receiver.stall = 0
    retried = await delivery.deliver_due(db, now=utc_now() + timedelta(minutes=2),
                                         production=False, organization_ids=[org.id])

    assert (slow.retrying, retried.delivered) == (1, 1)
    assert waiting.last_status_code is None
    assert waiting.last_error == "no answer within 0.3 s"


async def test_a_redirect_is_not_followed_and_counts_as_a_failure(db, api, org, receiver):
    await register(api, org, receiver.url)
    receiver.status = 302
    await give_credits(db, org, org.client, 1)

    report = await run_event_jobs(db, org)
    [waiting] = await deliveries(db, org)

    assert report.retrying == 1
    assert (waiting.status, waiting.last_status_code) == ("PENDING", 302)
    assert "not followed" in waiting.last_error
    assert len(receiver.received) == 1  # nothing went to where the redirect pointed


async def test_an_endpoint_that_is_down_does_not_hold_back_another(db, api, org, receiver):
    down = Receiver().start()
    await register(api, org, down.url)
    await register(api, org, receiver.url)
    down.stop()
    await give_credits(db, org, org.client, 1)
    await give_credits(db, org, org.client, 1)
    await give_credits(db, org, org.client, 1)

    jobs = await run_event_jobs(db, org)
    swept = await delivery.deliver_due(db, now=utc_now() + timedelta(minutes=5),
                                       production=False, organization_ids=[org.id])
    rows = await deliveries(db, org)
    to_down = [row for row in rows if row.status == "PENDING"]

    assert len(receiver.received) == 3
    # The first event's job tried the dead endpoint; the next two left it to the sweep, which
    # stopped at its first failure: one attempt per run, not one per delivery.
    assert (jobs.delivered, jobs.retrying) == (3, 1)
    assert (swept.delivered, swept.retrying) == (0, 1)
    assert len(to_down) == 3
    assert sum(row.attempts for row in to_down) == 2
    assert "could not connect" in to_down[0].last_error


async def test_a_receiver_down_for_a_minute_catches_up_with_nothing_lost_or_doubled(
        db, api, org, receiver):
    await register(api, org, receiver.url)
    receiver.stop()
    for _ in range(5):
        await give_credits(db, org, org.client, 1)
    await run_event_jobs(db, org)
    missed = len(receiver.received)

    receiver.start()
    caught_up = await delivery.deliver_due(db, now=utc_now() + timedelta(minutes=1, seconds=5),
                                           production=False, organization_ids=[org.id])
    again = await delivery.deliver_due(db, now=utc_now() + timedelta(hours=30),
                                       production=False, organization_ids=[org.id])

    assert missed == 0
    assert caught_up.delivered == 5 and again.delivered + again.retrying + again.failed == 0
    balances = [received.event["data"]["balance"]["balance"] for received in receiver.received]
    assert balances == [1, 2, 3, 4, 5]  # each once, in the order they happened
    assert {row.status for row in await deliveries(db, org)} == {"DELIVERED"}


async def test_retries_go_on_for_a_day_then_the_delivery_is_failed(db, api, org, receiver):
    await register(api, org, receiver.url)
    receiver.stop()
    await give_credits(db, org, org.client, 1)
    await run_event_jobs(db, org)
    [row] = await deliveries(db, org)
    attempted_at = [row.created_at]

    while row.status == "PENDING":
        now = row.next_attempt_at
        await delivery.deliver_due(db, now=now, production=False, organization_ids=[org.id])
        [row] = await deliveries(db, org)
        attempted_at.append(now)

    assert row.status == "FAILED"
    assert attempted_at[-1] - row.created_at >= timedelta(hours=24)
    assert attempted_at[-2] - row.created_at < timedelta(hours=24)
    gaps = [later - earlier for earlier, later in pairwise(attempted_at)]
    assert max(gaps) <= delivery.MAX_RETRY_DELAY
    assert 10 <= row.attempts <= 20, row.attempts


async def test_a_redelivery_sends_the_same_event_id_again(db, api, org, receiver):
    await register(api, org, receiver.url)
    await give_credits(db, org, org.client, 1)
    await run_event_jobs(db, org)
    listed = (await api.data(ENDPOINT_DELIVERIES, as_=org.admin))["webhookEndpoints"]
    [first] = [edge["node"] for edge in listed[0]["deliveries"]["edges"]]

    answer = (await api.data(REDELIVER, {"id": first["id"]}, as_=org.admin))["redeliverWebhook"]
    await run_event_jobs(db, org)

    assert answer["userErrors"] == []
    assert answer["delivery"]["eventId"] == first["eventId"] != answer["delivery"]["id"]
    assert receiver.event_ids() == [first["eventId"], first["eventId"]]
    assert receiver.received[0].body == receiver.received[1].body
    listed = (await api.data(ENDPOINT_DELIVERIES, as_=org.admin))["webhookEndpoints"]
    nodes = [edge["node"] for edge in listed[0]["deliveries"]["edges"]]
    assert listed[0]["deliveries"]["totalCount"] == 2
    assert [node["status"] for node in nodes] == ["DELIVERED", "DELIVERED"]
    assert nodes[1]["attemptLog"] == [{"statusCode": 200, "error": None}]


async def test_racing_workers_deliver_each_event_once(db, api, org, receiver):
    await register(api, org, receiver.url)
    await register(api, org, receiver.url, events=["credits.adjusted"])
    for _ in range(12):
        await give_credits(db, org, org.client, 1)
    from tests.webhooks.support import deferred_events
    event_ids = await deferred_events(db, org)

    await asyncio.gather(
        delivery.deliver_due(db, now=utc_now(), production=False, organization_ids=[org.id]),
        delivery.deliver_due(db, now=utc_now(), production=False, organization_ids=[org.id]),
        *(delivery.deliver_event(db, org.id, event_id, now=utc_now(), production=False)
          for event_id in event_ids * 2))

    # Purchases only: the second endpoint wants adjustments, so it got none.
    assert sorted(receiver.event_ids()) == sorted(event_ids)
    assert {row.status for row in await deliveries(db, org)} == {"DELIVERED"}


async def test_an_inactive_endpoint_gets_nothing_new_and_its_waiting_deliveries_wait(
        db, api, org, receiver):
    endpoint = await register(api, org, receiver.url)
    receiver.status = 500
    await give_credits(db, org, org.client, 1)
    await run_event_jobs(db, org)
    update = """mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(
        input: $input) { webhookEndpoint { active } userErrors { code } } }"""
    await api.data(update, {"input": {"id": endpoint["id"], "active": False}}, as_=org.admin)
    receiver.status = 200
    await give_credits(db, org, org.client, 1)  # not recorded for an inactive endpoint

    paused = await delivery.deliver_due(db, now=utc_now() + timedelta(hours=1),
                                        production=False, organization_ids=[org.id])
    await api.data(update, {"input": {"id": endpoint["id"], "active": True}}, as_=org.admin)
    resumed = await delivery.deliver_due(db, now=utc_now() + timedelta(hours=1),
                                         production=False, organization_ids=[org.id])

    assert (paused.delivered, resumed.delivered) == (0, 1)
    assert len(await deliveries(db, org)) == 1


async def test_a_sweep_stops_an_endpoints_chain_before_its_lease_ends(
        db, api, org, receiver, monkeypatch):
    # A lease of 2 s and a 0.5 s timeout leave 1 s to send in: a slow receiver takes 0.4 s
    # a request, so the sweep sends two or three and leaves the rest due, unattempted, for
    # the next one: none goes out after its lease, when another worker could claim it too.
    monkeypatch.setattr(delivery, "LEASE", timedelta(seconds=2))
    await register(api, org, receiver.url)
    receiver.stop()
    for _ in range(6):
        await give_credits(db, org, org.client, 1)
    await run_event_jobs(db, org)  # refused: the endpoint is failing, the rest wait
    receiver.start()
    receiver.stall = 0.4

    first = await delivery.deliver_due(db, now=utc_now() + timedelta(minutes=2),
                                       production=False, organization_ids=[org.id],
                                       timeout=0.5)
    left = [row for row in await deliveries(db, org) if row.status == "PENDING"]
    receiver.stall = 0
    second = await delivery.deliver_due(db, now=utc_now() + timedelta(minutes=2),
                                        production=False, organization_ids=[org.id],
                                        timeout=0.5)

    assert 1 <= first.delivered < 6 and first.retrying == 0
    assert left and all(row.attempts == 0 for row in left)
    assert first.delivered + second.delivered == 6
    assert len(receiver.event_ids()) == len(set(receiver.event_ids())) == 6
