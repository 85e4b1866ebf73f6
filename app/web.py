"""The Starlette application: /graphql (with GraphiQL and websocket subscriptions), /healthz,
/readyz and /metrics; with `settings.run_worker`, also an in-process job worker.
"""

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import orjson
import strawberry
from cross_web import HTTPException  # Strawberry's HTTP error type (its dependency)
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from app.api.context import Context
from app.api.errors import SERVICE_UNAVAILABLE
from app.api.observability import operation_observer
from app.api.schema import build_schema, schema
from app.config import Settings
from app.db import Database, count_statements, statement_count
from app.errors import RateLimited
from app.graphiql import GraphiQLPage, graphiql_routes
from app.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from app.metrics import Metrics
from app.middleware import BodySizeLimit, RequestContext
from app.scheduling.feed import SlotFeed
from app.tracing import tracing_extensions

logger = logging.getLogger(__name__)


class GraphQLEndpoint(GraphQL):
    """Strawberry's ASGI view, with our context and its cleanup after every request."""

    def __init__(self, db: Database, settings: Settings, slot_feed: SlotFeed | None = None,
                 graphql_schema: strawberry.Schema | None = None,
                 graphiql_page: GraphiQLPage | None = None) -> None:
        super().__init__(graphql_schema or schema, graphql_ide="graphiql",
                         allow_queries_via_get=False)
        self.db = db
        self.settings = settings
        self.slot_feed = slot_feed or SlotFeed(db)
        self.graphiql_page = graphiql_page or GraphiQLPage.from_settings(settings)

    def encode_json(self, data: object) -> str:
        # orjson is several times faster than the json module on big answers (the same compact
        # JSON, UTF-8 instead of \u escapes). A str, so websocket messages stay text frames.
        return orjson.dumps(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)  # its JSONDecodeError is json's: Strawberry answers 400

    def parse_json(self, data: str | bytes) -> Any:
        # Strawberry takes any JSON for an operation; a bare 42 or "query" failed inside it.
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The request body must be a JSON object (one operation: "
                                     "query, variables, operationName) or an array of them.")
        return parsed

    @property
    def graphql_ide_html(self) -> str:  # what Strawberry's render_graphql_ide sends
        return self.graphiql_page.html()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive=receive)
        context = Context.for_request(request, self.db, self.settings)
        counter = statement_count.set([0] if self.settings.count_sql else None)
        try:
            response = await self.run(request, context=context)
        except HTTPException as error:  # how Strawberry refuses a malformed HTTP request
            response = JSONResponse({"errors": [{"message": error.reason}]}, error.status_code)
        finally:
            try:
                await context.close()
            except Exception:  # e.g. the database went away: the answer is ready, send it
                logger.warning("closing the request's session failed", exc_info=True)
            counted = statement_count.get()
            statement_count.reset(counter)
        if counted is not None:  # BOOKINGS_COUNT_SQL
            response.headers["x-sql-statements"] = str(counted[0])
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        if not self.settings.graphiql_enabled:
            return JSONResponse({"errors": [{
                "message": "GraphiQL is turned off on this server (BOOKINGS_GRAPHIQL).",
                "extensions": {"code": "NOT_FOUND"}}]}, 404)
        return await super().render_graphql_ide(request)

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        # A lone operation refused for an outage or a rate limit says so in its status, so
        # load balancers and clients can back off; batches keep 200, each answer its own.
        if isinstance(response_data, dict):
            codes = {(error.get("extensions") or {}).get("code")
                     for error in response_data.get("errors") or []}
            if SERVICE_UNAVAILABLE in codes:
                sub_response.status_code = 503
                sub_response.headers["retry-after"] = "5"
            elif RateLimited.code in codes:
                sub_response.status_code = 429
                retry_after = next(
                    (error["extensions"].get("retryAfterSeconds")
                     for error in response_data["errors"]
                     if (error.get("extensions") or {}).get("code") == RateLimited.code), None)
                if retry_after:
                    sub_response.headers["retry-after"] = str(retry_after)
        return super().create_response(response_data, sub_response)

    def _validate_batch_request(self, request_data: list, protocol: Any) -> None:
        # Strawberry's own messages ("Too many operations") do not say what the limit is.
        batching = self.schema.config.batching_config
        if batching is None:
            raise HTTPException(400, "Batched requests (a JSON array) are turned off on this "
                                     "server; send one operation per request.")
        if not all(isinstance(item, dict) for item in request_data):
            raise HTTPException(400, "Each operation of a batch must be a JSON object.")
        if len(request_data) > batching["max_operations"]:
            raise HTTPException(400, f"A batch may hold at most {batching['max_operations']} "
                                     f"operations; this one has {len(request_data)}.")
        super()._validate_batch_request(request_data, protocol)

    async def execute_single(self, **arguments: Any) -> Any:
        # Over plain HTTP a subscription has nowhere to stream: refuse it as bad input.
        if _is_subscription(arguments["request_data"]):
            raise HTTPException(400, "Subscriptions run over a websocket (graphql-transport-ws) "
                                     "on /graphql.")
        if _holds_nul(arguments["request_data"]):
            raise HTTPException(400, "Text may not contain the NUL character (\\u0000): "
                                     "PostgreSQL cannot store it.")
        return await super().execute_single(**arguments)

    async def get_context(self, request, response) -> Context:  # websockets only
        context = Context.for_request(request, self.db, self.settings)
        # The context lives as long as the connection: no session may stay open in it.
        context.per_use_sessions = True
        context.slot_feed = self.slot_feed
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType:
        """Browsers cannot set headers on a websocket: the token may come in connection_init."""
        params = {str(key).lower(): value for key, value in (context.connection_params or {}).items()}
        authorization = params.get("authorization")
        if isinstance(authorization, str) and authorization:
            context.authenticate(authorization)
        organization = params.get("x-organization")
        if isinstance(organization, str) and organization:
            context.organization_header = organization
        if context.token_error is not None:
            raise ConnectionRejectionError({"message": context.token_error.message})
        return UNSET


# U+0000 in a GraphQL document: as such (in a block string), or escaped as \u0000 or \u{0}.
_NUL_IN_DOCUMENT = re.compile(r"\x00|\\u(?:0000|\{0+\})")


def _holds_nul(request_data: Any) -> bool:
    """Whether a string of the operation (a variable or a literal) holds U+0000, which no
    text column can store: refused up front, so it cannot fail halfway."""
    return bool(_NUL_IN_DOCUMENT.search(request_data.query or "")) or _has_nul(
        request_data.variables)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _is_subscription(request_data: Any) -> bool:
    query = request_data.query or ""
    if "subscription" not in query:  # spares parsing every other request twice
        return False
    try:
        operation = get_operation_ast(parse(query), request_data.operation_name)
    except GraphQLError:
        return False  # Strawberry reports the syntax error
    return operation is not None and operation.operation is OperationType.SUBSCRIPTION


def create_app(db: Database, settings: Settings,
               graphiql_page: GraphiQLPage | None = None) -> Starlette:
    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        if await db.ping():
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "unavailable", "reason": "database unreachable"}, 503)

    metrics = Metrics(db)
    if settings.count_sql:
        count_statements(db.engine)

    async def metrics_endpoint(_: Request) -> Response:
        return Response(metrics.render(), media_type=METRICS_CONTENT_TYPE)

    graphql = GraphQLEndpoint(db, settings, graphql_schema=build_schema(
        introspection=settings.introspection_enabled,
        max_batch_operations=settings.max_batch_operations,
        fast_queries=settings.fast_queries,
        extensions=[operation_observer(metrics), *tracing_extensions(settings)],
    ), graphiql_page=graphiql_page)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        worker = _start_worker(db, settings) if settings.run_worker else None
        yield
        if worker is not None:
            worker.cancel()  # procrastinate stops gracefully: running jobs finish first
            with suppress(asyncio.CancelledError):
                await worker
        await graphql.slot_feed.close()
        await db.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            *graphiql_routes(settings),
        ],
        middleware=[
            # The outermost first: even a refused oversized body gets a request id and a log line.
            Middleware(RequestContext, metrics=metrics),
            Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
        ],
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.slot_feed = graphql.slot_feed
    return app


def _start_worker(db: Database, settings: Settings) -> asyncio.Task:
    """A job worker inside the server process (the one-command demo); production runs
    `bookings worker` processes instead."""
    from app.jobs.queue import run_worker

    task = asyncio.create_task(
        run_worker(db, settings, install_signal_handlers=False, name="in-process")
    )

    def report(finished: asyncio.Task) -> None:
        if not finished.cancelled() and finished.exception() is not None:
            logger.error("the in-process worker stopped", exc_info=finished.exception())

    task.add_done_callback(report)
    return task
