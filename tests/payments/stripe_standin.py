"""A local stand-in for the one Stripe endpoint the server calls (Checkout Sessions), and
events signed exactly as Stripe signs them.

The stand-in speaks Stripe's wire format: form-encoded requests with bracketed keys
(`line_items[0][price_data][unit_amount]=45000`), JSON answers, and `Idempotency-Key`:
a repeated key answers the session it made the first time.
"""

import hashlib
import hmac
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl

WEBHOOK_SECRET = "whsec_test_stand_in_secret"
SECRET_KEY = "sk_test_stand_in"


class StripeStandIn:
    def __init__(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []  # each creation's params and headers
        self.by_idempotency_key: dict[str, str] = {}
        self.refuse_with: int | None = None  # an HTTP status to answer creations with
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _create(self, params: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict]:
        self.requests.append({"params": params, "headers": headers})
        if self.refuse_with is not None:
            return self.refuse_with, {"error": {"type": "api_error",
                                                "message": "The stand-in refuses."}}
        key = headers.get("idempotency-key")
        if key in self.by_idempotency_key:
            return 200, self.sessions[self.by_idempotency_key[key]]
        session_id = f"cs_test_{next(self._ids):06d}"
        line = params["line_items"]["0"]
        session = {
            "id": session_id, "object": "checkout.session", "mode": params["mode"],
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "status": "open", "payment_status": "unpaid",
            "amount_total": int(line["price_data"]["unit_amount"]),
            "currency": line["price_data"]["currency"],
            "metadata": params.get("metadata", {}),
            "client_reference_id": params.get("client_reference_id"),
            "customer_email": params.get("customer_email"),
            "success_url": params["success_url"], "cancel_url": params["cancel_url"],
            "expires_at": int(params["expires_at"]),
        }
        self.sessions[session_id] = session
        if key:
            self.by_idempotency_key[key] = session_id
        return 200, session

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:  # quiet
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                if self.path != "/v1/checkout/sessions":
                    return self._send(404, {"error": {"message": "not stood in"}})
                length = int(self.headers.get("content-length", 0))
                params = nested(parse_qsl(self.rfile.read(length).decode()))
                headers = {name.lower(): value for name, value in self.headers.items()}
                self._send(*standin._create(params, headers))

            def do_GET(self) -> None:
                session = standin.sessions.get(self.path.rpartition("/")[2])
                if not self.path.startswith("/v1/checkout/sessions/") or session is None:
                    return self._send(404, {"error": {"type": "invalid_request_error",
                                                      "message": "No such checkout.session"}})
                self._send(200, session)

        return Handler


def nested(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracketed form keys as nested dicts (list indexes stay string keys)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        target = result
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return result


def signed(event: dict[str, Any], *, secret: str = WEBHOOK_SECRET,
           timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a webhook delivery, signed as Stripe signs them."""
    body = json.dumps(event).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + body,
                         hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={timestamp},v1={signature}",
                  "Content-Type": "application/json"}


_events = itertools.count(1)


def event_of(session: dict[str, Any], event_type: str, **changes: Any) -> dict[str, Any]:
    """A Stripe event about `session` (as the stand-in made it), with `changes` to it."""
    return {"id": f"evt_test_{next(_events):06d}", "object": "event", "type": event_type,
            "api_version": "2025-01-27", "created": int(time.time()),
            "data": {"object": {**session, **changes}}}
