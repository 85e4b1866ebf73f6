"""Answers GraphQL requests over HTTP: reads them (app/api/http.py), finds their documents
(app/api/persisted.py), runs them on the schema, and answers with the status code and media
type the GraphQL-over-HTTP specification asks for. Websockets stay with Strawberry's view
(app/web.py).
"""

import asyncio
import re
from typing import Any

import orjson
import strawberry
from starlette.requests import Request
from starlette.responses import Response
from strawberry.http import process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from app.api.compiled import CompiledQueries
from app.api.context import Context
from app.api.errors import SERVICE_UNAVAILABLE
from app.api.http import (
    GRAPHQL_RESPONSE,
    OperationRequest,
    ProtocolErrorCode,
    Refusal,
    negotiate,
    ran_nothing,
    read_get,
    read_post,
)
from app.api.persisted import DocumentNotFound, PersistedDocuments
from app.errors import RateLimited

_ALLOWED = {
    "GET": frozenset({OperationType.QUERY}),
    "POST": frozenset({OperationType.QUERY, OperationType.MUTATION}),
}
# U+0000 in a GraphQL document: as such (in a block string), or escaped as \u0000 or \u{0}.
_NUL_IN_DOCUMENT = re.compile(r"\x00|\\u(?:0000|\{0+\})")


class GraphQLOverHTTP:
    def __init__(self, schema: strawberry.Schema, documents: PersistedDocuments, *,
                 max_batch_operations: int, compiled: CompiledQueries | None = None) -> None:
        self.schema = schema
        self.documents = documents
        self.max_batch_operations = max_batch_operations
        # Plans of the hot queries (app/api/compiled.py); None: every query takes the
        # general road.
        self.compiled = compiled

    async def answer(self, request: Request, context: Context) -> Response:
        try:
            if request.method not in _ALLOWED:  # HEAD: Starlette routes it with GET
                raise Refusal(405, "GraphQL takes GET (queries) and POST requests.",
                              headers={"allow": "GET, POST"})
            media = negotiate(request.headers.get("accept"))
            if request.method == "GET":
                operations: OperationRequest | list[OperationRequest] = read_get(
                    dict(request.query_params))
            else:
                operations = read_post(request.headers.get("content-type"), await request.body(),
                                       max_batch=self.max_batch_operations)
            if isinstance(operations, list):  # a batch: each answers for itself, status 200
                answers = await asyncio.gather(
                    *(self._run(operation, request.method, context) for operation in operations))
                return self._respond(list(answers), 200, media, request)
            answer = await self._run(operations, request.method, context)
        except Refusal as refusal:
            return self._respond(refusal.body(), refusal.status, None, request, refusal.headers)
        status, headers = _status(answer, media)
        if status == 400:
            answer.pop("data", None)  # nothing ran: the spec's "no data entry"
        return self._respond(answer, status, media, request, headers)

    async def _run(self, operation: OperationRequest, method: str,
                   context: Context) -> dict[str, Any]:
        try:
            document = self.documents.document(operation)
        except DocumentNotFound as not_found:
            return not_found.answer()
        if _holds_nul(document, operation.variables):
            raise Refusal(400, "Text may not contain the NUL character (\\u0000): PostgreSQL "
                               "cannot store it.")
        compiled = self.compiled
        if compiled is not None:
            plan = compiled.plan(document, operation.operation_name)
            if plan is not None:
                answer = await compiled.run(plan, operation.variables, context)
                if answer is not None:
                    return answer
        try:
            result = await self.schema.execute(
                document, variable_values=operation.variables, context_value=context,
                operation_name=operation.operation_name,
                allowed_operation_types=_ALLOWED[method],
                operation_extensions=operation.extensions)
        except InvalidOperationTypeError as error:
            if error.operation_type is OperationType.SUBSCRIPTION:
                raise Refusal(400, "Subscriptions run over a websocket (graphql-transport-ws) "
                                   "on /graphql.") from None
            raise Refusal(405, "A GET request may only run a query; send mutations with POST.",
                          headers={"allow": "POST"}) from None
        except CannotGetOperationTypeError as error:
            return {"errors": [{
                "message": error.as_http_error_reason(),
                "extensions": {"code": ProtocolErrorCode.GRAPHQL_VALIDATION_FAILED}}]}
        if (compiled is not None and not result.errors and result.data is not None
                and not compiled.seen(document, operation.operation_name)):
            # It parsed, validated, kept the limits and ran well: a plan may answer it next.
            compiled.learn(document, operation.operation_name)
        return process_result(result)

    @staticmethod
    def _respond(body: Any, status: int, media: str | None, request: Request,
                 headers: dict[str, str] | None = None) -> Response:
        response = Response(orjson.dumps(body), status,
                            media_type=f"{media or 'application/json'}; charset=utf-8",
                            headers=headers)
        # Anything asked with a token is the caller's alone; a public GET may be cached.
        if request.method != "GET" or "authorization" in request.headers:
            response.headers["cache-control"] = "private, no-store"
        return response


def _status(answer: dict[str, Any], media: str) -> tuple[int, dict[str, str]]:
    """One operation's status: the spec's 400 for a request that ran nothing (under
    application/graphql-response+json), and an outage or a rate limit says so in either,
    so load balancers and clients can back off."""
    errors = answer.get("errors") or []
    codes = {(error.get("extensions") or {}).get("code") for error in errors}
    if SERVICE_UNAVAILABLE in codes:
        return 503, {"retry-after": "5"}
    if RateLimited.code in codes:
        retry_after = next((error["extensions"].get("retryAfterSeconds") for error in errors
                            if (error.get("extensions") or {}).get("code") == RateLimited.code),
                           None)
        return 429, {"retry-after": str(retry_after)} if retry_after else {}
    if media == GRAPHQL_RESPONSE and ran_nothing(answer):
        return 400, {}
    return 200, {}


def _holds_nul(document: str, variables: Any) -> bool:
    """Whether a string of the operation (a variable or a literal) holds U+0000, which no
    text column can store: refused up front, so it cannot fail halfway."""
    return bool(_NUL_IN_DOCUMENT.search(document)) or _has_nul(variables)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False
