"""A webhook receiver for the benchmarks: a local HTTP server that answers 204 and records
when each webhook-id arrived, and each request (to verify its signature afterwards)."""

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self) -> None:
        self.arrivals: dict[str, list[float]] = {}
        self.requests: list[tuple[bytes, dict[str, str]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.time()
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {key.lower(): value for key, value in self.headers.items()}
                receiver.arrivals.setdefault(headers["webhook-id"], []).append(arrived)
                receiver.requests.append((body, headers))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def counts(self) -> Counter:
        """How many times each webhook-id arrived."""
        return Counter({event_id: len(times) for event_id, times in self.arrivals.items()})
