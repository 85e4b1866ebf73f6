"""`bookings serve` in a subprocess on a free port, for tests that need a real server."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_ready(url: str, process: subprocess.Popen, output: Callable[[], str],
               timeout: float = 90) -> None:
    """Returns once the server at `url` answers /readyz with 200; fails the test with the
    server's `output()` if it exits first or takes longer than `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited early:\n{output()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the server did not become ready in {timeout} s:\n{output()}")


class LiveServer:
    """A server process; its log (JSON lines) goes to a file, so a long run cannot block on a pipe."""

    def __init__(self, database_url: str, data_dir: Path, *, secret_key: str,
                 **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "server.log"
        environment = {**os.environ, "DATABASE_URL": database_url,
                       "BOOKINGS_DATA_DIR": str(data_dir), "BOOKINGS_SECRET_KEY": secret_key,
                       "BOOKINGS_LOG_LEVEL": "WARNING", **settings}
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
            env=environment, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60) -> None:
        wait_ready(self.url, self.process, self.log, timeout)

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        stop(self.process, timeout=15)
        self._log.close()
