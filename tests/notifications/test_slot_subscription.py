"""`timeSlotChanged` over graphql-transport-ws, fed by LISTEN/NOTIFY from any process.

A real uvicorn server on a free port, a real websocket client, and bookings
made through the HTTP API, through the booking module in this process, and from
another process.
"""

import asyncio
import json
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app import global_ids as ids
from app.appointments import booking
from app.db import Database
from app.people import accounts
from app.scheduling import service as schedules
from app.web import create_app
from tests.jobs.support import add_slot, give_credits, principal
from tests.support import Tenant

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = "graphql-transport-ws"

SUBSCRIPTION = """
subscription Watch($ids: [ID!]!) {
  timeSlotChanged(professionalIds: $ids) {
    id status professional { id } appointment { state }
  }
}
"""

BOOK = """
mutation Book($input: BookTimeSlotInput!) {
  bookTimeSlot(input: $input) { appointment { id } userErrors { code message } }
}
"""

# Books a slot from another process, through the same booking module the API uses.
BOOK_ELSEWHERE = """
import asyncio, sys
from app.appointments import booking
from app.auth import Principal, Role
from app.db import Database

async def main(url, organization_id, staff_id, client_id, slot_id):
    db = Database(url, pool_size=1)
    try:
        async with db.transaction(organization_id) as session:
            await booking.book_time_slot(
                session, Principal(user_id=staff_id, organization_id=organization_id,
                                   role=Role.STAFF),
                slot_id=slot_id, client_id=client_id)
    finally:
        await db.dispose()

asyncio.run(main(sys.argv[1], *map(int, sys.argv[2:])))
"""


@dataclass
class LiveServer:
    host: str
    app: object

    async def wait_until_watching(self, org: Tenant) -> None:
        feed = self.app.state.slot_feed
        for _ in range(500):
            if feed.watching(org.id, org.professional_profile.id):
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the subscription never started listening")


@pytest.fixture
async def server(database_url, settings) -> AsyncIterator[LiveServer]:
    app = create_app(Database(database_url, pool_size=4), settings)
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    host = f"127.0.0.1:{listening.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve(sockets=[listening]))
    while not server.started:
        await asyncio.sleep(0.01)
    yield LiveServer(host, app)
    server.should_exit = True
    await serving


@asynccontextmanager
async def subscribed(server: LiveServer, org: Tenant, *, token: str | None = None,
                     header_token: str | None = None) -> AsyncIterator[ClientConnection]:
    headers = {"Authorization": f"Bearer {header_token}"} if header_token else {}
    async with connect(f"ws://{server.host}/graphql", subprotocols=[PROTOCOL],
                       additional_headers=headers) as websocket:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await websocket.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await websocket.recv())["type"] == "connection_ack"
        await websocket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": SUBSCRIPTION, "variables": {"ids": [org.professional_id]}}}))
        yield websocket


async def next_message(websocket: ClientConnection) -> dict:
    async with asyncio.timeout(10):
        while True:
            message = json.loads(await websocket.recv())
            if message["type"] != "ping":
                return message


def soon(hours: int) -> datetime:
    """A slot time inside the booking window, past the minimum notice."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours)


async def test_a_subscriber_sees_bookings_made_here_and_in_another_process_never_elsewhere(
    db, database_url, server, org, other_org
):
    # Given three free slots here and one in another organization
    here, there, other_process = [await add_slot(db, org, soon(hours)) for hours in (30, 32, 34)]
    elsewhere = await add_slot(db, other_org, soon(30))
    await give_credits(db, org, org.client, 1, now=datetime.now(UTC))
    await give_credits(db, org, org.other_client, 1, now=datetime.now(UTC))
    await give_credits(db, other_org, other_org.client, 1, now=datetime.now(UTC))

    async with subscribed(server, org, token=org.staff.token) as websocket:
        await server.wait_until_watching(org)

        # When the other organization books (a change this subscriber must never see),
        async with db.transaction(other_org.id) as session:
            await booking.book_time_slot(session, principal(other_org.client),
                                         slot_id=elsewhere.id)
        # a client books through the API,
        async with httpx.AsyncClient(base_url=f"http://{server.host}") as client:
            response = await client.post("/graphql", json={"query": BOOK, "variables": {
                "input": {"timeSlotId": ids.encode("TimeSlot", here.id)}}},
                headers={"Authorization": f"Bearer {org.client.token}"})
        assert response.json()["data"]["bookTimeSlot"]["userErrors"] == []
        first = await next_message(websocket)
        # staff block a slot through the service in this process,
        async with db.transaction(org.id) as session:
            await schedules.block_time_slot(session, principal(org.staff), there.id)
        second = await next_message(websocket)
        # and a booking is made by another process
        booking_process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", BOOK_ELSEWHERE, database_url, str(org.id),
            str(org.staff.user.id), str(org.other_client.user.id), str(other_process.id),
            cwd=ROOT, stderr=asyncio.subprocess.PIPE)
        _, errors = await booking_process.communicate()
        assert booking_process.returncode == 0, errors.decode()
        third = await next_message(websocket)

    # Then each change arrived in order, as the slot now is, and nothing of the other
    # organization (its booking came first, so it would have arrived first)
    professional = {"id": org.professional_id}
    assert [first, second, third] == [
        {"id": "1", "type": "next", "payload": {"data": {"timeSlotChanged": {
            "id": ids.encode("TimeSlot", slot.id), "status": status,
            "professional": professional, "appointment": appointment}}}}
        for slot, status, appointment in [
            (here, "BOOKED", {"state": "PRE_CONFIRMED"}),
            (there, "BLOCKED", None),
            (other_process, "BOOKED", {"state": "PRE_CONFIRMED"}),
        ]
    ]


async def test_the_token_may_come_in_the_handshake_header(db, server, org):
    slot = await add_slot(db, org, soon(30))

    async with subscribed(server, org, header_token=org.professional.token) as websocket:
        await server.wait_until_watching(org)
        async with db.transaction(org.id) as session:
            await schedules.block_time_slot(session, principal(org.staff), slot.id)
        message = await next_message(websocket)

    assert message["payload"]["data"]["timeSlotChanged"]["status"] == "BLOCKED"


async def test_a_bad_token_is_refused_at_connection_init(server, org):
    with pytest.raises(ConnectionClosed) as closed:
        async with subscribed(server, org, token="not-a-token") as websocket:
            await websocket.recv()
    assert closed.value.rcvd.code == 4403


async def test_the_next_event_after_a_revocation_closes_the_socket_with_4403(db, server, org):
    slot = await add_slot(db, org, soon(30))

    async with subscribed(server, org, token=org.professional.token) as websocket:
        await server.wait_until_watching(org)
        async with db.transaction(org.id) as session:
            await accounts.revoke_sessions(session, principal(org.professional))
        async with db.transaction(org.id) as session:
            await schedules.block_time_slot(session, principal(org.staff), slot.id)
        with pytest.raises(ConnectionClosed) as closed:
            await next_message(websocket)

    assert closed.value.rcvd.code == 4403


@pytest.mark.parametrize("who", ["nobody", "other organization"])
async def test_a_subscription_needs_a_login_and_a_professional_of_ones_own(
    server, org, other_org, who
):
    token = None if who == "nobody" else other_org.admin.token
    async with subscribed(server, org, token=token) as websocket:
        message = await next_message(websocket)

    expected = "UNAUTHENTICATED" if who == "nobody" else "NOT_FOUND"
    assert message["type"] in ("next", "error"), message
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert [error["extensions"]["code"] for error in errors] == [expected]


async def test_a_subscription_over_plain_http_is_refused_as_bad_input(api, org):
    response = await api.http.post("/graphql", json={
        "query": SUBSCRIPTION, "variables": {"ids": [org.professional_id]}},
        headers={"Authorization": f"Bearer {org.admin.token}"})

    assert (response.status_code, response.json()) == (400, {"errors": [{
        "message": "Subscriptions run over a websocket (graphql-transport-ws) on /graphql.",
        "extensions": {"code": "BAD_REQUEST"}}]})
