"""OpenTelemetry spans for GraphQL operations: optional (`pip install 'bookings[tracing]'`).

One span per operation and one for its execution, from Strawberry's operation-level
hooks only. A per-field `resolve` hook (above all an async one, as in Strawberry's
stock OpenTelemetry extension) made large lists 12 to 15 times slower here
(measured: see docs/operations.md, tracing). Nothing is exported unless BOOKINGS_OTEL_EXPORTER says
where: `console` (stdout) or `otlp` (the standard OTEL_EXPORTER_OTLP_* variables
choose the collector; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are honoured).
"""

from collections.abc import Callable, Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from app.config import ConfigurationError, Settings, TraceExporter

INSTRUMENTATION_NAME = "bookings.graphql"
DEFAULT_SERVICE_NAME = "bookings"

_providers: dict[TraceExporter, Any] = {}


def tracing_extensions(settings: Settings, tracer_provider: Any = None) -> list[Callable]:
    """The schema extension factory, or nothing while tracing is off.

    `tracer_provider` overrides the one BOOKINGS_OTEL_EXPORTER configures (tests pass
    one with an in-memory exporter).
    """
    if tracer_provider is None:
        if settings.otel_exporter is TraceExporter.NONE:
            return []
        tracer_provider = _provider_for(settings.otel_exporter)
    return [lambda: OperationTracing(tracer_provider=tracer_provider)]


class OperationTracing(SchemaExtension):
    """`<type> <name>` spans (e.g. `query DemoNextWeek`) with an execution child span."""

    def __init__(self, *, tracer_provider: Any = None) -> None:
        from opentelemetry import trace

        self._trace = trace
        self._tracer = trace.get_tracer(INSTRUMENTATION_NAME, tracer_provider=tracer_provider)

    def on_operation(self) -> Iterator[None]:
        # Current while the operation runs, so spans of other instrumentation (a
        # database driver's, say) nest under it.
        with self._tracer.start_as_current_span(
            "graphql.operation", kind=self._trace.SpanKind.SERVER,
            record_exception=False, set_status_on_exception=False,
        ) as span:
            try:
                yield
            finally:  # also when a subscription's stream is closed early
                self._describe(span)

    def _describe(self, span: Any) -> None:
        context = self.execution_context
        operation_type = _operation_type(context)
        name = context.operation_name
        span.update_name(" ".join(part for part in (operation_type, name) if part)
                         or "graphql.operation")
        span.set_attribute("graphql.operation.type", operation_type or "unknown")
        if name:
            span.set_attribute("graphql.operation.name", name)
        errors = _errors(context)
        if not errors:
            return
        span.set_attribute("graphql.errors.count", len(errors))
        for error in errors:
            code = (error.extensions or {}).get("code") or "GRAPHQL_VALIDATION_FAILED"
            span.add_event("graphql.error", {
                "graphql.error.code": str(code),
                "graphql.error.message": error.message,
                "graphql.error.path": ".".join(map(str, error.path or [])),
            })
        span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, errors[0].message))

    def on_execute(self) -> Iterator[None]:
        with self._tracer.start_as_current_span("graphql.execute"):
            yield


def _operation_type(context: Any) -> str | None:
    try:
        return context.operation_type.value
    except RuntimeError:  # the document did not parse, or names no such operation
        return None


def _errors(context: Any) -> list:
    result = context.result
    return list(getattr(result, "errors", None) or context.pre_execution_errors or [])


def _provider_for(exporter: TraceExporter) -> Any:
    """One tracer provider per process and exporter, batching spans to it."""
    if exporter in _providers:
        return _providers[exporter]
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError as missing:
        raise ConfigurationError(
            f"BOOKINGS_OTEL_EXPORTER={exporter.value} needs the tracing extra: "
            f"pip install 'bookings[tracing]' ({missing.name} is missing)"
        ) from missing
    if exporter is TraceExporter.OTLP:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as missing:
            raise ConfigurationError(
                "BOOKINGS_OTEL_EXPORTER=otlp needs opentelemetry-exporter-otlp-proto-http: "
                "pip install 'bookings[tracing]'"
            ) from missing
        span_exporter = OTLPSpanExporter()
    else:
        span_exporter = ConsoleSpanExporter()
    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; without a
    # service name there, ours replaces its "unknown_service".
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(span_exporter))
    # Also the global provider (unless one is set already), so other instrumentation
    # exports through the same pipeline.
    trace.set_tracer_provider(provider)
    _providers[exporter] = provider
    return provider
