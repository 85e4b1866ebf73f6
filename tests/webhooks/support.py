"""A real HTTP receiver for webhook tests, and helpers to register endpoints and read back
what was recorded."""

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from sqlalchemy import text

from app.clock import utc_now
from app.jobs.tasks import DELIVER_WEBHOOK_EVENT_TASK
from app.webhooks import delivery
from tests.support import Tenant

CREATE = """mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
    webhookEndpoint { id url events active } secret userErrors { code field message } } }"""


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    """Answers POSTs with `status` (after `stall` seconds), recording each; `stop` makes it
    refuse connections until `start` again, on the same port."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.status = 200
        self.stall = 0.0
        self._server: ThreadingHTTPServer | None = None
        self._port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/hooks"

    def start(self) -> Self:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()},
                                                  body))
                time.sleep(receiver.stall)
                self.send_response(receiver.status)
                if 300 <= receiver.status < 400:
                    self.send_header("location", "http://169.254.169.254/latest/meta-data")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def event_ids(self) -> list[str]:
        return [received.headers["webhook-id"] for received in self.received]


async def register(api, org: Tenant, url: str, events: list[str] | None = None) -> dict:
    """Registers an endpoint as the organization's ADMIN: {"id", "secret", ...}."""
    answer = (await api.data(CREATE, {"input": {"url": url, "events": events or ["*"]}},
                             as_=org.admin))["createWebhookEndpoint"]
    assert answer["userErrors"] == [], answer
    return {**answer["webhookEndpoint"], "secret": answer["secret"]}


async def deferred_events(db, org: Tenant, *, only_waiting: bool = False) -> list[str]:
    """The event ids whose delivery jobs the organization's changes queued, in order."""
    async with db.engine.connect() as connection:
        rows = await connection.execute(text(
            "SELECT args->>'event_id' FROM procrastinate_jobs WHERE task_name = :task "
            "AND (args->>'organization_id')::bigint = :org "
            "AND (NOT :only_waiting OR status = 'todo') ORDER BY id"),
            {"task": DELIVER_WEBHOOK_EVENT_TASK, "org": org.id, "only_waiting": only_waiting})
        return [event_id for (event_id,) in rows]


async def run_event_jobs(db, org: Tenant, **options) -> delivery.DeliveryReport:
    """What a worker does with the jobs queued since the last call: each event's delivery."""
    report = delivery.DeliveryReport()
    for event_id in await deferred_events(db, org, only_waiting=True):
        report.add(await delivery.deliver_event(db, org.id, event_id, now=utc_now(),
                                                production=False, **options))
    async with db.engine.begin() as connection:
        await connection.execute(text(
            "UPDATE procrastinate_jobs SET status = 'succeeded' WHERE task_name = :task "
            "AND (args->>'organization_id')::bigint = :org AND status = 'todo'"),
            {"task": DELIVER_WEBHOOK_EVENT_TASK, "org": org.id})
    return report


async def deliveries(db, org: Tenant) -> list[Any]:
    async with db.transaction(org.id, read_only=True) as session:
        rows = await session.execute(text(
            "SELECT id, endpoint_id, event_id, event_type, status, attempts, last_status_code, "
            "last_error, next_attempt_at, created_at, payload FROM webhook_deliveries "
            "ORDER BY id"))
        return list(rows)
