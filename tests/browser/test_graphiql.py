"""GraphiQL in headless Chromium against `bookings serve --demo`: Run shows data at once.

The browser part is graphiql.mjs (Playwright from npm, Debian's /usr/bin/chromium). It
blocks every request that leaves 127.0.0.1, so it proves the page works with no internet:
GraphiQL's files come from the server itself. The screenshot it takes is the CI artifact
the README names.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.live_server import free_port, stop, wait_ready
from tests.node_projects import ROOT, missing, node_project

HERE = Path(__file__).resolve().parent
SCREENSHOT = ROOT / "artifacts" / "graphiql.png"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


def start_demo_server(data_dir: Path, port: int, log: Path) -> subprocess.Popen:
    # Its own embedded database and secret, the page's default assets, the default logs.
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("DATABASE_URL", "BOOKINGS_SECRET_KEY", "BOOKINGS_GRAPHIQL",
                                  "BOOKINGS_GRAPHIQL_ASSETS_URL", "BOOKINGS_GRAPHIQL_ASSETS_DIR",
                                  "BOOKINGS_LOG_FORMAT", "BOOKINGS_LOG_LEVEL")}
    environment.update(BOOKINGS_DATA_DIR=str(data_dir), BOOKINGS_ENV="development")
    with log.open("w") as output:  # a file, not a pipe: a full pipe would stall the server
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--demo", "--port", str(port)],
            env=environment, stdout=output, stderr=subprocess.STDOUT, text=True)


def test_graphiql_runs_the_demo_query_in_chromium(tmp_path):
    node = node_project(HERE)
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    port, log = free_port(), tmp_path / "server.log"
    SCREENSHOT.unlink(missing_ok=True)
    server = start_demo_server(tmp_path / "data", port, log)
    try:
        wait_ready(f"http://127.0.0.1:{port}", server, log.read_text)
        browser = subprocess.run(
            [node, str(HERE / "graphiql.mjs")], capture_output=True, text=True, timeout=120,
            check=False, env={**os.environ, "GRAPHIQL_URL": f"http://127.0.0.1:{port}/graphql",
                 "SCREENSHOT": str(SCREENSHOT), "CHROMIUM": str(CHROMIUM)})
    finally:
        stop(server)
    assert browser.returncode == 0, f"{browser.stdout}\n{browser.stderr}"
    assert "GraphiQL ran DemoNextWeek as David Parent" in browser.stdout
    assert SCREENSHOT.stat().st_size > 20_000  # a rendered page, not a blank one

    # The banner a person reads first names this very server.
    banner = log.read_text()
    for line in (f"URL:          http://127.0.0.1:{port}/graphql",
                 "Environment:  development",
                 f"Database:     embedded PostgreSQL in {tmp_path / 'data' / 'pgdata'}",
                 "Worker:       in-process"):
        assert line in banner, banner
    # What follows it is one short line per request and per job, not JSON.
    assert re.search(r"^\d\d:\d\d:\d\d \[info\] POST /graphql 200 \d+ ms  DemoNextWeek$",
                     banner, flags=re.MULTILINE), banner
    assert re.search(r"\[info\] job \w+ succeeded \d+ ms", banner), banner
    assert not [line for line in banner.splitlines() if line.startswith("{")], banner
