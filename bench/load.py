"""The load generator: N keep-alive HTTP/1.1 connections, each sending its next request as
soon as the previous answer arrived (a closed loop), with per-request latencies.

The client shares the machine's two cores with the server and PostgreSQL, so it
must cost little: requests are pre-encoded bytes, responses are parsed by
httptools (the C parser uvicorn uses), and nothing else runs per request unless
a scenario asks to inspect bodies. `ceiling()` measures what it can drive at all.
"""

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httptools


@dataclass(frozen=True, slots=True)
class Request:
    path: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    tag: object = None  # what the scenario needs to check the answer

    def encode(self, host: str) -> bytes:
        head = [f"POST {self.path} HTTP/1.1", f"Host: {host}",
                "Content-Type: application/json", f"Content-Length: {len(self.body)}"]
        head += [f"{name}: {value}" for name, value in self.headers]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + self.body


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[bytes, bytes]
    body: bytes


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future | None = None
        self._headers: dict[bytes, bytes] = {}
        self._body: list[bytes] = []
        self.lost = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def connection_lost(self, exc) -> None:
        self.lost = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("server closed the connection"))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.lower()] = value

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        response = Response(self.parser.get_status_code(), self._headers, b"".join(self._body))
        self._headers, self._body = {}, []
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(response)

    async def send(self, payload: bytes) -> Response:
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(payload)
        return await self.waiter


async def connect(host: str, port: int) -> _Connection:
    _, connection = await asyncio.get_running_loop().create_connection(_Connection, host, port)
    return connection


@dataclass
class Outcome:
    """What one run measured."""

    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        """Latency in milliseconds at `share` (0.5, 0.99), nearest rank."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    def note_error(self, detail: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(detail[:300])


Check = Callable[[Request, Response], str | None]  # an error description, or None if fine


def ok_graphql(request: Request, response: Response) -> str | None:
    """200, data, and no errors: enough for the read scenarios without parsing the body."""
    if response.status != 200:
        return f"HTTP {response.status}: {response.body[:200]!r}"
    if not response.body.startswith(b'{"data"') or b'"errors"' in response.body:
        return response.body[:300].decode(errors="replace")
    return None


async def run(
    host: str,
    port: int,
    requests: Iterator[Request],
    *,
    connections: int,
    seconds: float | None = None,
    check: Check = ok_graphql,
    on_response: Callable[[Request, Response], None] | None = None,
) -> Outcome:
    """Sends requests over `connections` connections until `seconds` pass or `requests` ends."""
    outcome = Outcome()
    host_header = f"{host}:{port}"
    deadline = None if seconds is None else time.perf_counter() + seconds
    pool = [await connect(host, port) for _ in range(connections)]

    async def worker(connection: _Connection) -> None:
        for request in requests:  # one shared iterator: each request is sent once
            payload = request.encode(host_header)
            started = time.perf_counter()
            try:
                response = await connection.send(payload)
            except ConnectionError as error:
                outcome.note_error(str(error))
                return
            finished = time.perf_counter()
            outcome.requests += 1
            outcome.latencies.append(finished - started)
            problem = check(request, response)
            if problem is not None:
                outcome.note_error(problem)
            if on_response is not None:
                on_response(request, response)
            if deadline is not None and finished >= deadline:
                return

    started = time.perf_counter()
    await asyncio.gather(*(worker(connection) for connection in pool))
    outcome.seconds = time.perf_counter() - started
    for connection in pool:
        connection.transport.close()
    return outcome


async def send_one(host: str, port: int, request: Request) -> Response:
    connection = await connect(host, port)
    try:
        return await connection.send(request.encode(f"{host}:{port}"))
    finally:
        connection.transport.close()


def cycle(requests: list[Request]) -> Iterator[Request]:
    """Endless round-robin over pre-built requests (for timed runs)."""
    while True:
        yield from requests
