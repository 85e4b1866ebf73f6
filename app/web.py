"""The Starlette application: /graphql (with GraphiQL and websocket subscriptions), /healthz,
/readyz and /metrics; with `settings.run_worker`, also an in-process job worker.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import orjson
import strawberry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from app.account_pages import account_page_routes
from app.api.calendar_feed import calendar_feed
from app.api.compiled import CompiledQueries
from app.api.context import Context
from app.api.endpoint import GraphQLOverHTTP
from app.api.exports import EXPORT_PATH, appointments_export
from app.api.observability import operation_observer, record_operation
from app.api.persisted import PersistedDocuments
from app.api.schema import build_schema, schema
from app.calendar.feeds import FEED_PATH
from app.config import Settings, TraceExporter
from app.db import Database, count_statements, statement_count
from app.graphiql import GraphiQLPage, graphiql_routes
from app.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from app.metrics import Metrics
from app.middleware import BodySizeLimit, CrossOrigin, RequestContext
from app.payments.checkout import configured_provider
from app.payments.webhooks import STRIPE_WEBHOOK_PATH, stripe_webhook
from app.scheduling.feed import SlotFeed
from app.tracing import tracing_extensions

logger = logging.getLogger(__name__)


class GraphQLEndpoint(GraphQL):
    """/graphql: GraphQL over HTTP (app/api/endpoint.py), GraphiQL for a browser, and
    subscriptions over a websocket (Strawberry's view, with our context)."""

    def __init__(self, db: Database, settings: Settings, slot_feed: SlotFeed | None = None,
                 graphql_schema: strawberry.Schema | None = None,
                 graphiql_page: GraphiQLPage | None = None,
                 compiled: CompiledQueries | None = None) -> None:
        super().__init__(graphql_schema or schema, graphql_ide="graphiql")
        self.db = db
        self.settings = settings
        self.slot_feed = slot_feed or SlotFeed(db)
        self.graphiql_page = graphiql_page or GraphiQLPage.from_settings(settings)
        self.http = GraphQLOverHTTP(self.schema, PersistedDocuments.from_settings(settings),
                                    max_batch_operations=settings.max_batch_operations,
                                    compiled=compiled)

    def encode_json(self, data: object) -> str:
        # orjson is several times faster than the json module on big answers (the same compact
        # JSON, UTF-8 instead of \u escapes). A str, so websocket messages stay text frames.
        return orjson.dumps(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    @property
    def graphql_ide_html(self) -> str:  # what Strawberry's render_graphql_ide sends
        return self.graphiql_page.html()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive=receive)
        if _wants_graphiql(request):
            await (await self.render_graphql_ide(request))(scope, receive, send)
            return
        context = Context.for_request(request, self.db, self.settings)
        counter = statement_count.set([0] if self.settings.count_sql else None)
        try:
            response = await self.http.answer(request, context)
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


def _wants_graphiql(request: Request) -> bool:
    """A browser opening /graphql (a GET for HTML with no operation in it)."""
    return (request.method == "GET" and "text/html" in request.headers.get("accept", "")
            and "query" not in request.query_params
            and "extensions" not in request.query_params)


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

    graphql_schema = build_schema(
        introspection=settings.introspection_enabled,
        fast_queries=settings.fast_queries,
        extensions=[operation_observer(metrics), *tracing_extensions(settings)],
    )
    graphql = GraphQLEndpoint(db, settings, graphql_schema=graphql_schema,
                              graphiql_page=graphiql_page,
                              compiled=_compiled_queries(graphql_schema, settings, metrics))

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
            Route(FEED_PATH, calendar_feed(db), methods=["GET"]),
            Route(EXPORT_PATH, appointments_export(db, settings), methods=["GET"]),
            Route(STRIPE_WEBHOOK_PATH, stripe_webhook(
                db, configured_provider(settings), webhook_secret=settings.stripe_webhook_secret),
                methods=["POST"]),
            *graphiql_routes(settings),
            *account_page_routes(settings),
        ],
        middleware=[
            # The outermost first: even a refused oversized body gets a request id and a log line.
            Middleware(RequestContext, metrics=metrics),
            # Before the body cap, so a browser app can read even a 413 answer.
            Middleware(CrossOrigin, origins=settings.cors_origins,
                       pattern=settings.cors_origin_pattern),
            Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes,
                       own_limits=frozenset({STRIPE_WEBHOOK_PATH})),
        ],
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.slot_feed = graphql.slot_feed
    return app


def _compiled_queries(graphql_schema: strawberry.Schema, settings: Settings,
                      metrics: Metrics) -> CompiledQueries | None:
    """The plans of the hot queries, logged and counted as every operation is. Tracing
    spans come from Strawberry's operation hooks, which a plan skips: with a tracing
    exporter on, every query takes the general road."""
    if not settings.compiled_queries or settings.otel_exporter is not TraceExporter.NONE:
        return None

    def observe(plan, seconds: float) -> None:
        record_operation(metrics, name=plan.name, operation_type="query",
                         root_fields=plan.root_fields, seconds=seconds, errors=[],
                         data=True, roads=["compiled"])

    return CompiledQueries(graphql_schema._schema, on_answer=observe)


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
