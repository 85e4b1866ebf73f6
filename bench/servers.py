"""Starting the servers as a user would, timing their start-up, and watching their memory
and CPU while the load runs."""

import asyncio
import os
import socket
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.load import Request, send_one

HOST = "127.0.0.1"
PING_OURS = Request("/graphql", b'{"query":"{ __typename }"}')
PING_BASELINE = Request("/bench/ping", b"{}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    ping: Request
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    startup_seconds: float = 0.0
    peak_rss: int = 0
    _watch: asyncio.Task | None = None

    async def start(self, timeout: float = 60.0) -> None:
        """Spawns the process and waits for its first good answer (the start-up time)."""
        started = time.perf_counter()
        # Popen returns once the process is spawned; the wait below polls without blocking.
        self.process = subprocess.Popen(  # noqa: ASYNC220
            [*self.command, "--host", HOST, "--port", str(self.port)],
            env={**os.environ, **self.env}, stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start-up; see {self.log}")
            with suppress(OSError):
                response = await send_one(HOST, self.port, self.ping)
                if response.status == 200:
                    break
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"{self.name} did not answer in {timeout} s; see {self.log}")
            await asyncio.sleep(0.02)
        self.startup_seconds = time.perf_counter() - started
        self._watch = asyncio.create_task(self._watch_memory())

    async def _watch_memory(self) -> None:
        process = psutil.Process(self.process.pid)
        while True:
            with suppress(psutil.Error):
                self.peak_rss = max(self.peak_rss, process.memory_info().rss)
            await asyncio.sleep(0.1)

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def bookings_server(env: dict[str, str], log: Path) -> Server:
    """`bookings serve`, the documented command."""
    script = Path(sys.executable).with_name("bookings")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]
    return Server("bookings serve", [*command, "serve"], env, log, PING_OURS)


def baseline_server(env: dict[str, str], log: Path) -> Server:
    """The raw baseline under uvicorn with the same loop, HTTP parser and logging."""
    command = [sys.executable, "-m", "uvicorn", "bench.baseline:app", "--loop", "uvloop",
               "--http", "httptools", "--log-level", "info"]
    return Server("raw baseline", command, env, log, PING_BASELINE)
