"""CORS in Chromium: a page on an allowed origin reads the API's answer; the browser blocks
a page on an unlisted origin. The server runs in production mode, where only the listed
origin is allowed (development would allow every local port)."""

import json
import os
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.browser.test_graphiql import CHROMIUM
from tests.live_server import LiveServer
from tests.node_projects import missing, node_project

HERE = Path(__file__).resolve().parent


class _Page(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>a frontend</title>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


def serve_page() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_listed_origin_reads_the_answer_and_the_browser_blocks_another(database_url, tmp_path):
    node = node_project(HERE)
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    allowed, unlisted = serve_page(), serve_page()
    allowed_origin = f"http://127.0.0.1:{allowed.server_port}"
    server = LiveServer(database_url, tmp_path, secret_key="k" * 48, BOOKINGS_ENV="production",
                        BOOKINGS_APP_URL="https://app.example.com",
                        BOOKINGS_CORS_ORIGINS=allowed_origin)
    try:
        server.wait_ready()
        browser = subprocess.run(
            [node, str(HERE / "cors.mjs")], capture_output=True, text=True, timeout=120,
            check=False, env={**os.environ, "GRAPHQL_URL": f"{server.url}/graphql",
                              "ALLOWED_PAGE": f"{allowed_origin}/",
                              "UNLISTED_PAGE": f"http://127.0.0.1:{unlisted.server_port}/",
                              "CHROMIUM": str(CHROMIUM)})
    finally:
        server.stop()
        allowed.shutdown()
        unlisted.shutdown()
    assert browser.returncode == 0, f"{browser.stdout}\n{browser.stderr}\n{server.log()}"
    outcomes = json.loads(browser.stdout)
    assert outcomes["allowed"]["body"] == {"data": {"__typename": "Query"}}
    assert "Failed to fetch" in outcomes["unlisted"]["blocked"]
