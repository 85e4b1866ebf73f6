"""The same Stripe event delivered to two `bookings serve` processes at the same moment, as
Stripe's retries and a load balancer can make happen: the purchase is completed once."""

import asyncio

import httpx

from tests.live_server import LiveServer
from tests.payments.stripe_standin import SECRET_KEY, WEBHOOK_SECRET, event_of, signed
from tests.payments.support import CHECKOUT, CREATE_PACKAGE, SUCCESS_URL, purchases_of


async def test_two_server_processes_act_on_one_event_once(database_url, settings, tmp_path,
                                                          db, org, standin):
    environment = {"BOOKINGS_STRIPE_SECRET_KEY": SECRET_KEY,
                   "BOOKINGS_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                   "BOOKINGS_STRIPE_API_BASE": standin.url}
    for n in range(2):
        (tmp_path / f"server-{n}").mkdir()
    servers = [LiveServer(database_url, tmp_path / f"server-{n}", secret_key=settings.secret_key,
                          **environment) for n in range(2)]
    try:
        await asyncio.gather(*[asyncio.to_thread(server.wait_ready) for server in servers])
        async with httpx.AsyncClient(timeout=30) as http:
            async def graphql(server: LiveServer, query: str, variables: dict, member) -> dict:
                answer = await http.post(f"{server.url}/graphql", json={
                    "query": query, "variables": variables},
                    headers={"Authorization": f"Bearer {member.token}"})
                return answer.json()["data"]

            made = await graphql(servers[0], CREATE_PACKAGE, {"input": {
                "name": "6 sessions", "credits": 6, "priceCents": 27000}}, org.admin)
            package_id = made["createCreditPackage"]["creditPackage"]["id"]
            started = (await graphql(servers[1], CHECKOUT, {"input": {
                "packageId": package_id, "successUrl": SUCCESS_URL, "cancelUrl": SUCCESS_URL}},
                org.client))["startCheckout"]
            session = standin.sessions[started["checkoutUrl"].rpartition("/")[2]]
            body, headers = signed(event_of(session, "checkout.session.completed",
                                            status="complete", payment_status="paid"))

            outcomes = []
            for _ in range(3):  # each time at both servers at once
                answers = await asyncio.gather(*[
                    http.post(f"{server.url}/webhooks/stripe", content=body, headers=headers)
                    for server in servers])
                assert [answer.status_code for answer in answers] == [200, 200]
                outcomes += [answer.json()["outcome"] for answer in answers]
    finally:
        for server in servers:
            server.stop()

    assert sorted(outcomes) == ["completed"] + ["replayed"] * 5
    [purchase] = await purchases_of(db, org, org.client)
    assert (purchase.status.value, purchase.balance_after) == ("COMPLETED", 6)
