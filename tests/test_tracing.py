"""OpenTelemetry: one span per GraphQL operation (and its execution), and none unless asked."""

import json
import os
import subprocess
import sys

import httpx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from app.api.schema import build_schema
from app.config import Settings, TraceExporter
from app.tracing import OperationTracing, tracing_extensions
from app.web import GraphQLEndpoint

ME = "query Me { me { email } }"


async def test_operations_become_spans_with_name_type_and_errors(db, settings, tenants):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    endpoint = GraphQLEndpoint(db, settings, graphql_schema=build_schema(
        extensions=tracing_extensions(settings, tracer_provider=provider)))
    tenant = await tenants.create()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=endpoint),
                                 base_url="http://testserver") as http:
        async def post(query: str, token: str | None = None) -> dict:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return (await http.post("/graphql", json={"query": query}, headers=headers)).json()

        answer = await post(ME, tenant.admin.token)
        assert answer == {"data": {"me": {"email": tenant.admin.user.email}}}
        assert "errors" in await post(ME)  # no token
        assert "errors" in await post("{ me { shoeSize } }", tenant.admin.token)

    spans = exporter.get_finished_spans()
    operations = [span for span in spans if span.kind is SpanKind.SERVER]
    executions = [span for span in spans if span.name == "graphql.execute"]
    assert [span.name for span in operations] == ["query Me", "query Me", "query"]

    answered, refused, invalid = operations
    assert dict(answered.attributes) == {"graphql.operation.type": "query",
                                         "graphql.operation.name": "Me"}
    assert answered.status.status_code is StatusCode.UNSET
    assert refused.status.status_code is StatusCode.ERROR
    assert refused.attributes["graphql.errors.count"] == 1
    assert [event.attributes["graphql.error.code"] for event in refused.events] == [
        "UNAUTHENTICATED"]
    assert invalid.status.status_code is StatusCode.ERROR
    assert [event.attributes["graphql.error.code"] for event in invalid.events] == [
        "GRAPHQL_VALIDATION_FAILED"]
    # Execution spans nest in their operation's; an invalid document never executes.
    assert [span.parent.span_id for span in executions] == [
        answered.context.span_id, refused.context.span_id]


def test_tracing_is_off_unless_an_exporter_is_configured():
    assert tracing_extensions(Settings(otel_exporter=TraceExporter.NONE)) == []
    provider = TracerProvider()
    [factory] = tracing_extensions(Settings(), tracer_provider=provider)
    assert isinstance(factory(), OperationTracing)


EXPORT_ONE_OPERATION = """
import asyncio, httpx
from app.config import Settings
from app.db import Database
from app.web import create_app

async def main():
    app = create_app(Database("postgresql://nobody@127.0.0.1:1/none", pool_size=1), Settings())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        await c.post("/graphql", json={"query": "query Ping { __typename }"})
    from opentelemetry import trace
    provider = trace.get_tracer_provider()
    getattr(provider, "force_flush", lambda: None)()

asyncio.run(main())
"""


def run_one_operation(**env: str) -> str:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("OTEL_", "BOOKINGS_OTEL_"))}
    result = subprocess.run([sys.executable, "-c", EXPORT_ONE_OPERATION], capture_output=True,
                            check=False, text=True, timeout=60, env={**environment, **env})
    assert result.returncode == 0, result.stderr
    return result.stdout


def console_spans(printed: str) -> list[dict]:
    """The JSON objects ConsoleSpanExporter printed, one after another."""
    decoder, spans, at = json.JSONDecoder(), [], 0
    while (at := printed.find("{", at)) >= 0:
        span, at = decoder.raw_decode(printed, at)
        spans.append(span)
    return spans


def test_the_console_exporter_prints_operation_spans_and_nothing_is_exported_by_default():
    assert run_one_operation() == ""
    printed = run_one_operation(BOOKINGS_OTEL_EXPORTER="console", OTEL_SERVICE_NAME="bookings-ci")
    spans = {span["name"]: span for span in console_spans(printed)}
    assert set(spans) == {"query Ping", "graphql.execute"}
    span = spans["query Ping"]
    assert span["attributes"] == {"graphql.operation.type": "query",
                                  "graphql.operation.name": "Ping"}
    assert span["resource"]["attributes"]["service.name"] == "bookings-ci"
