"""Prometheus metrics of one server process: requests, GraphQL operations, errors, the pool.

Each app gets its own registry, so two apps in one process (the tests) never clash.
Label values are bounded: a client names its operations, so only the first
`MAX_OPERATION_NAMES` distinct names get a series of their own, and the rest share
`other`.
"""

import re
import threading
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from app.db import Database

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_OPERATION_NAMES = 200
_OPERATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _PoolCollector(Collector):
    """The database pool, read at scrape time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterable[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "bookings_db_pool_connections",
            "Database connections of this process: the pool's size, those in use, the overflow.",
            labels=["state"],
        )
        for state, value in self.db.pool_status().items():
            gauge.add_metric([state], value)
        yield gauge


class Metrics:
    def __init__(self, db: Database) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "bookings_http_requests", "HTTP requests served, by route and status.",
            ["route", "method", "status"], registry=self.registry,
        )
        self.operations = Counter(
            "bookings_graphql_operations", "GraphQL operations executed, by name and outcome.",
            ["operation", "type", "outcome"], registry=self.registry,
        )
        self.operation_seconds = Histogram(
            "bookings_graphql_operation_duration_seconds", "Time to execute a GraphQL operation.",
            ["operation", "type"], buckets=_LATENCY_BUCKETS, registry=self.registry,
        )
        self.errors = Counter(
            "bookings_graphql_errors",
            "Errors returned: top-level (`error`) and mutation userErrors (`user_error`), by code.",
            ["code", "kind"], registry=self.registry,
        )
        self.query_roads = Counter(
            "bookings_graphql_query_road_total",
            "Queries by the executor that answered them: fast, handed-over (the fast road gave "
            "the query to graphql-core) or graphql-core (the fast road never opened)",
            ["road"], registry=self.registry,
        )
        self.registry.register(_PoolCollector(db))
        self._operation_names: set[str] = set()
        self._lock = threading.Lock()

    def operation_label(self, name: str | None) -> str:
        """The series an operation name counts in: itself while names stay few, else `other`."""
        if not name:
            return "anonymous"
        if not _OPERATION_NAME.fullmatch(name):
            return "other"
        with self._lock:
            if name in self._operation_names:
                return name
            if len(self._operation_names) < MAX_OPERATION_NAMES:
                self._operation_names.add(name)
                return name
        return "other"

    def render(self) -> bytes:
        return generate_latest(self.registry)
