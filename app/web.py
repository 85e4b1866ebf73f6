"""The Starlette application: /graphql (with GraphiQL), /healthz and /readyz."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

# Strawberry's own HTTP error type (it comes from its dependency cross-web).
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL

from app.api.context import Context
from app.api.schema import schema
from app.config import Settings
from app.db import Database


class GraphQLEndpoint(GraphQL):
    """Strawberry's ASGI view, with our context and its cleanup after every request."""

    def __init__(self, db: Database, settings: Settings) -> None:
        super().__init__(schema, graphql_ide="graphiql", allow_queries_via_get=False)
        self.db = db
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive=receive)
        context = Context.for_request(request, self.db, self.settings)
        try:
            response = await self.run(request, context=context)
        except HTTPException as error:  # how Strawberry refuses a malformed HTTP request
            response = JSONResponse({"errors": [{"message": error.reason}]}, error.status_code)
        finally:
            await context.close()
        await response(scope, receive, send)

    async def get_context(self, request, response) -> Context:  # websockets only
        return Context.for_request(request, self.db, self.settings)


def create_app(db: Database, settings: Settings) -> Starlette:
    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        if await db.ping():
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "unavailable", "reason": "database unreachable"}, 503)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await db.dispose()

    graphql = GraphQLEndpoint(db, settings)
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
