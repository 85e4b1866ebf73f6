"""GraphQL over HTTP, as its specification says: what a request may carry, which media type
the answer takes, and which status code goes with it.

Nothing here executes a document; `app.api.endpoint` does, with these rules:

- POST takes `application/json`: one operation (an object) or a batch (an array). GET takes
  the same parameters in the query string, for queries only (a mutation is 405).
- The answer is `application/graphql-response+json` when the client accepts it, else
  `application/json`. Under the first, a request that ran nothing (it did not parse,
  validate or coerce its variables) is HTTP 400 with no `data`; under the second it is 200,
  as clients written before that media type expect.
- A request that is not a GraphQL request at all (no document, a body that is not JSON,
  parameters of the wrong type) is refused before anything runs, with a 4xx status and an
  error coded BAD_REQUEST.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"


class ProtocolErrorCode(StrEnum):
    """The codes of errors about the request itself, next to those of app/errors.py."""

    BAD_REQUEST = "BAD_REQUEST"  # not a GraphQL request the server can read (4xx)
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    BAD_USER_INPUT = "BAD_USER_INPUT"  # variables that do not fit their types
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"


BAD_REQUEST = ProtocolErrorCode.BAD_REQUEST
# The codes of errors that mean "nothing ran": under application/graphql-response+json
# such an answer is 400 and has no `data` entry.
REQUEST_ERROR_CODES = frozenset(ProtocolErrorCode) - {BAD_REQUEST}


class Refusal(Exception):
    """A request refused before any GraphQL ran: the status, and one sentence saying why."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None,
                 code: str = BAD_REQUEST) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.code = code

    def body(self) -> dict[str, Any]:
        return {"errors": [{"message": self.message, "extensions": {"code": self.code}}]}


@dataclass(frozen=True, slots=True)
class OperationRequest:
    """One operation's parameters, as a client sent them."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None
    # A persisted document's ID ("sha256:<hex>"), the spec's alternative to a persistedQuery
    # extension (app/api/persisted.py).
    document_id: str | None = None


# ---- media types --------------------------------------------------------------------------


def negotiate(accept: str | None) -> str:
    """The media type of the answer, by the client's Accept header (406 if it takes neither).

    No header, `*/*` or `application/*` mean application/json, the type every client reads;
    application/graphql-response+json is used when the client names it, at no lower a
    preference than application/json.
    """
    if not accept or not accept.strip():
        return JSON
    ranges = [_media_range(part) for part in accept.split(",") if part.strip()]
    best = max(((_preference(candidate, ranges), candidate)
                for candidate in (GRAPHQL_RESPONSE, JSON)), default=None)
    if best is None or best[0][0] <= 0:
        raise Refusal(406, f"This server answers in {GRAPHQL_RESPONSE} or {JSON}; the Accept "
                           "header allows neither.")
    return best[1]


def _media_range(text: str) -> tuple[str, float]:
    media, *parameters = (piece.strip() for piece in text.split(";"))
    quality = 1.0
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
    return media.lower(), quality


def _preference(candidate: str, ranges: list[tuple[str, float]]) -> tuple[float, int, int]:
    """(quality, how specific the matching range is, tie-break) of a candidate type."""
    matches = []
    for media, quality in ranges:
        if media == candidate:
            specificity = 2
        elif media in ("application/*", "*/*"):
            specificity = 1 if media == "application/*" else 0
        else:
            continue
        matches.append((specificity, quality))
    if not matches:
        return (0.0, 0, 0)
    specificity, quality = max(matches)
    # Named outright, the newer type wins a tie; through a wildcard, plain JSON does.
    tie_break = (1 if candidate == GRAPHQL_RESPONSE else 0) * (1 if specificity == 2 else -1)
    return (quality, specificity, tie_break)


# ---- reading a request --------------------------------------------------------------------


def read_get(parameters: dict[str, str]) -> OperationRequest:
    """A GET request's operation, from its query string (variables and extensions as JSON)."""
    return _operation({
        "query": parameters.get("query"),
        "documentId": parameters.get("documentId"),
        "operationName": parameters.get("operationName"),
        "variables": _json_parameter(parameters, "variables"),
        "extensions": _json_parameter(parameters, "extensions"),
    })


def read_post(content_type: str | None, body: bytes, *,
              max_batch: int) -> OperationRequest | list[OperationRequest]:
    """A POST request's operation, or a batch of them (a JSON array)."""
    media, _, parameters = (content_type or "").partition(";")
    if media.strip().lower() != JSON:
        raise Refusal(415, f"Send the request as {JSON} (Content-Type: {JSON}).")
    charset = parameters.lower().replace(" ", "").partition("charset=")[2].split(";")[0]
    if charset not in ("", "utf-8", "utf8"):
        raise Refusal(415, "The request body must be UTF-8.")
    if not body.strip():
        raise Refusal(400, "The request body is empty: send a JSON object with `query`.")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Refusal(400, "The request body is not valid JSON.") from None
    if isinstance(data, list):
        return _batch(data, max_batch)
    if not isinstance(data, dict):
        raise Refusal(400, "The request body must be a JSON object (one operation: query, "
                           "variables, operationName) or an array of them.")
    return _operation(data)


def _batch(items: list, max_batch: int) -> list[OperationRequest]:
    if max_batch == 0:
        raise Refusal(400, "Batched requests (a JSON array) are turned off on this server; "
                           "send one operation per request.")
    if not all(isinstance(item, dict) for item in items):
        raise Refusal(400, "Each operation of a batch must be a JSON object.")
    if len(items) > max_batch:
        raise Refusal(400, f"A batch may hold at most {max_batch} operations; this one has "
                           f"{len(items)}.")
    if not items:
        raise Refusal(400, "A batch must hold at least one operation.")
    return [_operation(item) for item in items]


def _operation(data: dict[str, Any]) -> OperationRequest:
    for name, kind, described in (("query", str, "a string"),
                                  ("documentId", str, "a string"),
                                  ("operationName", str, "a string"),
                                  ("variables", dict, "an object"),
                                  ("extensions", dict, "an object")):
        if data.get(name) is not None and not isinstance(data[name], kind):
            raise Refusal(400, f"`{name}` must be {described} or null.")
    return OperationRequest(query=data.get("query"), variables=data.get("variables"),
                            operation_name=data.get("operationName"),
                            extensions=data.get("extensions"), document_id=data.get("documentId"))


def _json_parameter(parameters: dict[str, str], name: str) -> Any:
    text = parameters.get(name)
    if text is None or text == "":
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise Refusal(400, f"The `{name}` parameter must be JSON (an object).") from None


# ---- answering ----------------------------------------------------------------------------


def ran_nothing(answer: dict[str, Any]) -> bool:
    """Whether an operation's answer says that nothing was executed (a request error)."""
    errors = answer.get("errors")
    return bool(errors) and answer.get("data") is None and all(
        (error.get("extensions") or {}).get("code") in REQUEST_ERROR_CODES for error in errors)
