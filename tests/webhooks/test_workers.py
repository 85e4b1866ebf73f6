"""Two `bookings worker` processes and a real receiver: bookings, cancellations and purchases
made through the API arrive signed, each event once, without waiting for a sweep."""

import asyncio
import os
import signal
import sys

from standardwebhooks.webhooks import Webhook

from tests.appointments.support import CANCEL, add_slots, book, give_credits, in_days
from tests.webhooks.support import Receiver, deferred_events, register

PURCHASE = """mutation($input: PurchaseCreditsInput!) { purchaseCredits(input: $input) {
    userErrors { code } } }"""


async def test_two_workers_deliver_every_event_once_as_it_happens(
        api, db, org, database_url, tmp_path, empty_queue):
    receiver = Receiver().start()
    environment = {**os.environ, "DATABASE_URL": database_url,
                   "BOOKINGS_DATA_DIR": str(tmp_path), "BOOKINGS_SECRET_KEY": "x" * 40}
    workers = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", "worker", "--concurrency", "2", env=environment,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE) for _ in range(2)]
    try:
        endpoint = await register(api, org, receiver.url)
        await give_credits(db, org, org.client, 6)
        for slot in await add_slots(db, org, [in_days(3 + day) for day in range(5)]):
            booked = await book(api, org.client, slot)
            await api.data(CANCEL, {"input": {"appointmentId": booked["appointment"]["id"]}},
                           as_=org.client)
        await api.data(PURCHASE, {"input": {"userId": org.client.id, "credits": 2,
                                            "amountPaidCents": 500}}, as_=org.admin)
        expected = await deferred_events(db, org)
        async with asyncio.timeout(60):
            while len(receiver.received) < len(expected):
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # anything doubled would arrive now
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        outcomes = [await asyncio.wait_for(worker.communicate(), 30) for worker in workers]
        receiver.stop()

    assert [worker.returncode for worker in workers] == [0, 0], outcomes
    assert len(expected) == 1 + 5 * 3 + 1  # purchase; booked, refunded, cancelled; purchase
    assert sorted(receiver.event_ids()) == sorted(expected)
    verifier = Webhook(endpoint["secret"])
    for received in receiver.received:
        verifier.verify(received.body, received.headers)
