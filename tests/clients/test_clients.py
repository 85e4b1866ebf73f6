"""The server as frontends' own clients see it, against `bookings serve --demo`:
graphql-http's audit suite, Apollo Client's normalized cache (with automatic persisted
queries), and the graphql-ws client. Each is a Node script beside this file, with the
npm packages pinned in its package-lock.json."""

import os
import subprocess
from pathlib import Path

import pytest

from tests.browser.test_graphiql import start_demo_server
from tests.live_server import free_port, stop, wait_ready
from tests.node_projects import node_project

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    node_project(HERE)  # skips (or fails in CI) before starting anything if Node is missing
    folder = tmp_path_factory.mktemp("clients")
    port, log = free_port(), folder / "server.log"
    server = start_demo_server(folder / "data", port, log)
    try:
        wait_ready(f"http://127.0.0.1:{port}", server, log.read_text)
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        stop(server)


def run_script(name: str, url: str) -> str:
    finished = subprocess.run(
        [node_project(HERE), str(HERE / name)], capture_output=True, text=True, timeout=120,
        check=False, env={**os.environ, "GRAPHQL_URL": url})
    assert finished.returncode == 0, f"{finished.stdout}\n{finished.stderr}"
    return finished.stdout


def test_graphql_http_audit_passes_every_audit(demo_url):
    assert "graphql-http audit: 61 of 61 passed" in run_script("audit.mjs", demo_url)


def test_apollo_clients_cache_follows_bookings_and_refunds(demo_url):
    output = run_script("apollo.mjs", demo_url)
    assert "persisted query by hash over GET" in output


def test_graphql_ws_subscribes_and_does_not_loop_on_a_bad_token(demo_url):
    output = run_script("ws.mjs", demo_url)
    assert "closed with 4403 and did not reconnect" in output
