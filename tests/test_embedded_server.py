"""`bookings serve` on the embedded database: two servers share it, and data survives restarts."""

import os
import subprocess
import sys

import httpx

from tests.live_server import free_port, wait_ready

ME = "{ me { email } }"
LOGIN = """mutation { login(input: {organization: "demo", email: "admin@demo.example",
    password: "demo-password"}) { token } }"""


def start_server(data_dir, port: int, *extra: str) -> subprocess.Popen:
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("DATABASE_URL", "BOOKINGS_SECRET_KEY")}
    environment["BOOKINGS_DATA_DIR"] = str(data_dir)
    with log_of(data_dir, port).open("w") as output:  # a file: a full pipe would stall it
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port), *extra],
            env=environment, stdout=output, stderr=subprocess.STDOUT, text=True)


def log_of(data_dir, port: int):
    return data_dir / f"server-{port}.log"


def ready(data_dir, port: int, server: subprocess.Popen) -> None:
    wait_ready(f"http://127.0.0.1:{port}", server, log_of(data_dir, port).read_text)


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


def graphql(port: int, query: str, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": query},
                      headers=headers, timeout=10).json()


def test_two_servers_share_the_embedded_database_and_data_survives_a_restart(tmp_path):
    first_port, second_port = free_port(), free_port()
    first = start_server(tmp_path, first_port, "--demo")
    try:
        ready(tmp_path, first_port, first)
        second = start_server(tmp_path, second_port)
        try:
            ready(tmp_path, second_port, second)
            # Logged in through one server, the token works on the other: same database,
            # same generated secret.
            token = graphql(first_port, LOGIN)["data"]["login"]["token"]
            assert graphql(second_port, ME, token) == {
                "data": {"me": {"email": "admin@demo.example"}}}
        finally:
            stop(second)
    finally:
        stop(first)
    # The last server out stops PostgreSQL (a clean shutdown removes postmaster.pid).
    assert not (tmp_path / "pgdata" / "postmaster.pid").exists()

    restarted = start_server(tmp_path, first_port)
    try:
        ready(tmp_path, first_port, restarted)
        token = graphql(first_port, LOGIN)["data"]["login"]["token"]
        assert graphql(first_port, ME, token)["data"]["me"]["email"] == "admin@demo.example"
    finally:
        stop(restarted)
    assert not (tmp_path / "pgdata" / "postmaster.pid").exists()
