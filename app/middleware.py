"""ASGI middleware of the server: a request id and an access log line per request, CORS for
browser apps on other origins, and a cap on the request body.

Plain ASGI, not Starlette's BaseHTTPMiddleware: nothing is buffered, and websockets pass
through untouched.
"""

import json
import logging
import time

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logs import ACCESS_LOGGER, RequestLog, new_request_id, request_id, request_log
from app.metrics import Metrics

access_logger = logging.getLogger(ACCESS_LOGGER)

KNOWN_ROUTES = {"/graphql", "/healthz", "/readyz", "/metrics"}
# GraphiQL's page script and assets: counted and logged as one route.
GRAPHIQL_FILES = "/graphiql/"


class RequestContext:
    """Gives each request an id (the client's X-Request-ID if sane, else a new one), returns
    it in the X-Request-ID response header, and logs the request once it is answered."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = _header(scope, b"x-request-id")
        current = new_request_id(offered)
        token = request_id.set(current)
        log = RequestLog()
        log_token = request_log.set(log)
        started = time.perf_counter()
        status = 500  # if the app fails before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", current.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = scope.get("path", "")
            route = (path if path in KNOWN_ROUTES
                     else GRAPHIQL_FILES if path.startswith(GRAPHIQL_FILES) else "other")
            self.metrics.http_requests.labels(route, scope.get("method", ""), str(status)).inc()
            if route not in ("/healthz", "/readyz", "/metrics"):  # probes would drown the log
                access_logger.info(
                    "request",
                    extra={
                        "method": scope.get("method"),
                        # Only known paths are logged as sent: others may be anything at all.
                        "path": route,
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "client": (scope.get("client") or ("", 0))[0],
                        "operations": log.operations,
                        "errors": log.error_codes,
                    },
                )
            request_log.reset(log_token)
            request_id.reset(token)


class CrossOrigin(CORSMiddleware):
    """Starlette's CORS, except that an origin it does not allow gets no Access-Control-*
    header at all (Starlette would still send the allowed methods, headers and max-age).

    Tokens travel in the Authorization header, never in cookies, so credentials mode stays
    off and no request can ride on a browser's ambient credentials.
    """

    ALLOWED_HEADERS = ("Authorization", "Content-Type", "X-Organization", "X-Request-ID")
    # What a page may read of an answer besides the safelisted headers.
    EXPOSED_HEADERS = ("X-Request-ID", "Retry-After")

    def __init__(self, app: ASGIApp, origins: tuple[str, ...], pattern: str | None) -> None:
        super().__init__(app, allow_origins=origins, allow_origin_regex=pattern,
                         allow_methods=("GET", "POST"), allow_headers=self.ALLOWED_HEADERS,
                         expose_headers=self.EXPOSED_HEADERS, allow_credentials=False,
                         max_age=600)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = Headers(scope=scope).get("origin") if scope["type"] == "http" else None
        if origin is None or self.is_allowed_origin(origin):
            await super().__call__(scope, receive, send)
            return

        async def vary_by_origin(message: Message) -> None:
            if message["type"] == "http.response.start":  # a cache keeps answers apart
                MutableHeaders(scope=message).add_vary_header("Origin")
            await send(message)

        if scope["method"] == "OPTIONS":  # a preflight: refused, and the browser stops there
            await vary_by_origin({"type": "http.response.start", "status": 403,
                                  "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
            await send({"type": "http.response.body", "body": b"Origin not allowed."})
            return
        await self.app(scope, receive, vary_by_origin)


class _BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuses a request body over `max_bytes` with 413, whether or not it says its length.

    `own_limits`: paths whose endpoints read their bodies under limits of their own (a
    payment provider's webhook, whose events may be larger and which answers as the provider
    expects)."""

    def __init__(self, app: ASGIApp, max_bytes: int,
                 own_limits: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.own_limits = own_limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.own_limits:
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if started:
                raise
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"errors": [{
            "message": f"The request body is larger than the limit of {self.max_bytes} bytes.",
            "extensions": {"code": "PAYLOAD_TOO_LARGE"},
        }]}).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]})
        await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None
