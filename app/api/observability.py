"""One log line and the metrics of each GraphQL operation, from an operation-level hook.

Only `on_operation` is used: a per-field `resolve` hook (async above all) would
cost more than the work it measures on large lists. Variables are never read,
so tokens and passwords (e.g. `login`'s) cannot reach a log line.
"""

import logging
import time
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from app.api.execution import roads_taken
from app.logs import OPERATIONS_LOGGER, request_log
from app.metrics import Metrics

logger = logging.getLogger(OPERATIONS_LOGGER)

# A GraphQL error without a code of ours: the document did not parse or validate.
INVALID_DOCUMENT = "GRAPHQL_VALIDATION_FAILED"


def operation_observer(metrics: Metrics):
    """A factory of the extension, bound to one app's metrics (a fresh instance per request)."""
    return lambda: OperationObserver(metrics)


class OperationObserver(SchemaExtension):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        roads: list[str] = []
        roads_taken.set(roads)  # the executor adds the road it takes (app/api/execution.py)
        yield
        seconds = time.perf_counter() - started
        context = self.execution_context
        operation_type = _safe(lambda: context.operation_type.value) or "unknown"
        result = context.result
        record_operation(
            self.metrics, name=_safe(lambda: context.operation_name),
            operation_type=operation_type, root_fields=_root_fields(context), seconds=seconds,
            errors=list(getattr(result, "errors", None) or []),
            data=getattr(result, "data", None), roads=roads or ["graphql-core"])


def record_operation(metrics: Metrics, *, name: str | None, operation_type: str,
                     root_fields: list[str], seconds: float, errors: list[GraphQLError],
                     data: Any, roads: list[str]) -> None:
    """The metrics and the log line of one operation, whichever road it took: the general
    one (the extension above) or a compiled plan (app/api/compiled.py)."""
    if operation_type == "query" and data is not None:
        for road in roads:
            metrics.query_roads.labels(road).inc()
    error_codes = [_code(error) for error in errors]
    user_error_codes = _user_error_codes(data, operation_type)

    label = metrics.operation_label(name)
    metrics.operations.labels(label, operation_type, "error" if errors else "ok").inc()
    metrics.operation_seconds.labels(label, operation_type).observe(seconds)
    for code in error_codes:
        metrics.errors.labels(code, "error").inc()
    for code in user_error_codes:
        metrics.errors.labels(code, "user_error").inc()

    request = request_log.get()
    if request is not None:  # the request's access line names its operations
        request.operations.append(name or operation_type)
        request.error_codes.extend(error_codes + user_error_codes)
    logger.info(
        "graphql operation",
        extra={
            "operation": name,
            "operation_type": operation_type,
            "root_fields": root_fields,
            "duration_ms": round(seconds * 1000, 2),
            "errors": error_codes,
            "user_errors": user_error_codes,
        },
    )


def _safe(read) -> Any:
    try:
        return read()
    except Exception:  # noqa: BLE001 - no document (it did not parse), an unknown name
        return None


def _code(error: GraphQLError) -> str:
    code = (error.extensions or {}).get("code")
    return str(code) if code else INVALID_DOCUMENT


CODE_NOT_SELECTED = "CODE_NOT_SELECTED"


def _user_error_codes(data: Any, operation_type: str) -> list[str]:
    """The codes of the userErrors of each mutation payload (the top level only); a refusal
    whose `code` the client did not select counts as CODE_NOT_SELECTED."""
    if operation_type != "mutation" or not isinstance(data, dict):
        return []
    return [
        str(user_error.get("code") or CODE_NOT_SELECTED)
        for payload in data.values()
        if isinstance(payload, dict)
        for user_error in payload.get("userErrors") or []
        if isinstance(user_error, dict)
    ]


def _root_fields(context) -> list[str]:
    document = context.graphql_document
    if document is None:
        return []
    name = _safe(lambda: context.operation_name)
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            name is None or (definition.name and definition.name.value == name)
        ):
            return [
                selection.name.value
                for selection in definition.selection_set.selections
                if hasattr(selection, "name")
            ][:20]
    return []
