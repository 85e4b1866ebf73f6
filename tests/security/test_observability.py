"""Structured logs with a request id, no secrets in them, and Prometheus metrics."""

import json
import logging
import re

import pytest

from app.config import LogFormat
from app.logs import formatter
from app.metrics import MAX_OPERATION_NAMES, Metrics
from tests.support import PASSWORD

LOGIN = """mutation LogIn($input: LoginInput!) { login(input: $input) { token
    userErrors { code } } }"""


def json_lines(caplog) -> list[dict]:
    json_formatter = formatter(LogFormat.JSON)
    return [json.loads(json_formatter.format(record)) for record in caplog.records]


async def test_each_request_gets_an_id_it_is_told_and_that_its_log_lines_carry(api, org, caplog):
    caplog.set_level(logging.INFO)

    response = await api.http.post("/graphql", json={"query": "query Me { me { email } }"},
                                   headers={"Authorization": f"Bearer {org.client.token}"})

    request_id = response.headers["x-request-id"]
    lines = [line for line in json_lines(caplog) if line.get("request_id") == request_id]
    assert [line["message"] for line in lines] == ["graphql operation", "request"]
    operation, request = lines
    assert {key: operation[key] for key in ("level", "logger", "operation", "operation_type",
                                            "root_fields", "errors", "user_errors")} == {
        "level": "INFO", "logger": "app.api.operations", "operation": "Me",
        "operation_type": "query", "root_fields": ["me"], "errors": [], "user_errors": []}
    assert {key: request[key] for key in ("logger", "method", "path", "status", "operations")} == {
        "logger": "app.access", "method": "POST", "path": "/graphql", "status": 200,
        "operations": ["Me"]}
    # The operation ran inside the request, and took some time: both clocks ran.
    assert 0 < operation["duration_ms"] <= request["duration_ms"]


@pytest.mark.parametrize(("offered", "echoed"), [
    ("abc-123.XYZ", True), ("x" * 129, False), ("bad id\n", False)])
async def test_a_clients_request_id_is_kept_only_if_it_is_a_plain_token(api, offered, echoed):
    response = await api.http.get("/healthz", headers={"X-Request-ID": offered})
    assert (response.headers["x-request-id"] == offered) is echoed
    assert len(response.headers["x-request-id"]) <= 128


async def test_logs_never_hold_passwords_or_tokens(api, org, caplog):
    caplog.set_level(logging.DEBUG)
    secret_password = "Sup3r-secret-passw0rd"

    await api.post(LOGIN, {"input": {"organization": org.slug, "email": org.staff.user.email,
                                     "password": secret_password}})
    logged_in = await api.data(LOGIN, {"input": {
        "organization": org.slug, "email": org.staff.user.email, "password": PASSWORD}})
    token = logged_in["login"]["token"]
    await api.post("{ me { email } }", token=token)
    await api.post("{ me { email } }", token=token[:-4] + "AAAA")  # a forged one is not logged

    text = "\n".join(json.dumps(line) for line in json_lines(caplog))
    assert "LogIn" in text  # the operation was logged, by name
    for secret in (secret_password, PASSWORD, token, token.split(".")[2], "Bearer"):
        assert secret not in text


async def test_metrics_count_operations_errors_and_pool_use(api, org):
    await api.post("query Me { me { email } }", as_=org.client)
    adjust = """mutation Adjust($userId: ID!) { adjustCredits(input: {userId: $userId,
        amount: 1, reason: "r"}) { userErrors { code } } }"""
    await api.post(adjust, {"userId": org.client.id}, as_=org.client)  # FORBIDDEN
    await api.post(adjust, {"userId": "nobody"}, as_=org.admin)  # a NOT_FOUND userError
    unselected = adjust.replace("userErrors { code }", "userErrors { message }")
    await api.post(unselected, {"userId": "nobody"}, as_=org.admin)  # its code not asked for

    response = await api.http.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    metrics = response.text
    for series in (
        'bookings_graphql_operations_total{operation="Me",outcome="ok",type="query"}',
        'bookings_graphql_operations_total{operation="Adjust",outcome="error",type="mutation"}',
        'bookings_graphql_operation_duration_seconds_count{operation="Me",type="query"}',
        'bookings_graphql_errors_total{code="FORBIDDEN",kind="error"}',
        'bookings_graphql_errors_total{code="NOT_FOUND",kind="user_error"}',
        'bookings_graphql_errors_total{code="CODE_NOT_SELECTED",kind="user_error"}',
        'bookings_http_requests_total{method="POST",route="/graphql",status="200"}',
        'bookings_db_pool_connections{state="size"}',
        'bookings_db_pool_connections{state="checked_out"}',
    ):
        assert series in metrics, series


def test_operation_names_cannot_grow_the_metrics_without_bound(db):
    metrics = Metrics(db)
    labels = {metrics.operation_label(f"Op{number}") for number in range(MAX_OPERATION_NAMES + 50)}
    assert len(labels) == MAX_OPERATION_NAMES + 1
    assert "other" in labels
    assert metrics.operation_label("Op1") == "Op1"
    assert metrics.operation_label("not a name {") == "other"
    assert metrics.operation_label(None) == "anonymous"


async def test_a_database_outage_is_reported_as_such(api, org, monkeypatch):
    """Not masked as a bug: a code clients can retry on, and a 503."""
    from app.people import service

    async def unreachable(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    monkeypatch.setattr(service, "get_me", unreachable)
    response = await api.http.post("/graphql", json={"query": "{ me { email } }"},
                                    headers={"Authorization": f"Bearer {org.client.token}"})

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["errors"][0]["message"] == (
        "The database is unavailable; try again shortly.")
    assert response.json()["errors"][0]["extensions"] == {"code": "SERVICE_UNAVAILABLE"}
    assert "5432" not in response.text


def road_counts(metrics_text: str) -> dict[str, float]:
    return {match[0]: float(match[1]) for match in re.findall(
        r'bookings_graphql_query_road_total\{road="([\w-]+)"\} ([\d.]+)', metrics_text)}


async def test_metrics_count_which_executor_answered_each_query(app_with, org):
    """A library upgrade that closes the fast road must show in /metrics, not only in
    latency (app/api/execution.py)."""
    fast, plain = app_with(), app_with(fast_queries=False)
    headers = {"Authorization": f"Bearer {org.client.token}"}
    for client in (fast, plain):
        await client.post("/graphql", json={"query": "{ me { email } }"}, headers=headers)
        await client.post("/graphql", json={"query": "{ me { email } }"}, headers=headers)
        # An interface: the fast road hands it to graphql-core.
        await client.post("/graphql", json={"query": "query($id: ID!) { node(id: $id) { id } }",
                                            "variables": {"id": org.client.id}}, headers=headers)
        await client.post("/graphql", json={"query": "mutation { login(input: {organization: "
                                            '"x", email: "x@example.com", password: "x"}) '
                                            "{ token } }"})  # mutations count nowhere

    assert road_counts((await fast.get("/metrics")).text) == {"fast": 2, "handed-over": 1}
    assert road_counts((await plain.get("/metrics")).text) == {"graphql-core": 3}
