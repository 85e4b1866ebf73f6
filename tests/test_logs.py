"""Logs a person can read in development, JSON lines in production, and no chatter in either."""

import io
import json
import logging
import os
import shutil
import subprocess
import sys

import pytest

from app.config import Environment, LogFormat, Settings
from app.graphiql import BUNDLED_ASSETS
from app.logs import ACCESS_LOGGER, OPERATIONS_LOGGER, configure_logging
from tests.support import settings_refusal

REQUEST = {"method": "POST", "path": "/graphql", "status": 200, "duration_ms": 12.4,
           "client": "127.0.0.1", "operations": ["DemoNextWeek"], "errors": []}
FINISHED_JOB = {"action": "job_success", "job": {"id": 7, "task_name": "deliver_notifications"},
                "start_timestamp": 100.0, "end_timestamp": 100.035,
                "result": {"sent": 3, "failed": 0}}


@pytest.fixture
def logged():
    """Configures logging onto a buffer; returns a function that logs and reads the lines."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level

    def log(settings: Settings, *records: tuple[str, int, str, dict]) -> list[str]:
        buffer = io.StringIO()
        configure_logging(settings, stream=buffer)
        for logger, level, message, extra in records:
            logging.getLogger(logger).log(level, message, extra=extra)
        return buffer.getvalue().splitlines()

    yield log
    root.handlers[:], root.level = saved_handlers, saved_level


def test_development_shows_one_short_line_per_request_and_per_job(logged):
    lines = logged(Settings(),
                   (OPERATIONS_LOGGER, logging.INFO, "graphql operation", {"operation": "X"}),
                   (ACCESS_LOGGER, logging.INFO, "request", REQUEST),
                   ("procrastinate.worker", logging.INFO, "Starting job", {"action": "start_job"}),
                   ("procrastinate.worker", logging.INFO, "Job ended", FINISHED_JOB))
    assert len(lines) == 2, lines
    assert lines[0].endswith("[info] POST /graphql 200 12 ms  DemoNextWeek")
    assert lines[1].endswith("[info] job deliver_notifications succeeded 35 ms  sent=3 failed=0")
    assert "\x1b[" not in "".join(lines)  # not a terminal: no colour codes


def test_a_failed_request_names_its_error_codes(logged):
    failed = {**REQUEST, "status": 400, "errors": ["GRAPHQL_VALIDATION_FAILED"]}
    (line,) = logged(Settings(), (ACCESS_LOGGER, logging.INFO, "request", failed))
    assert line.endswith("POST /graphql 400 12 ms  DemoNextWeek  errors: GRAPHQL_VALIDATION_FAILED")


def test_libraries_chatter_only_from_warning_up_unless_debugging(logged):
    chatter = [("uvicorn.error", logging.INFO, "Application startup complete.", {}),
               ("alembic.runtime.migration", logging.INFO, "Running upgrade", {}),
               ("httpx", logging.INFO, "HTTP Request: POST https://crm.example/hooks", {}),
               ("procrastinate.worker", logging.WARNING, "Job slow", {})]
    (line,) = logged(Settings(), *chatter)
    assert line.endswith("[warning] Job slow [procrastinate.worker]")
    assert len(logged(Settings(log_level="DEBUG"), *chatter)) == 4


def test_production_logs_json_lines_with_every_field(logged):
    settings = Settings(env=Environment.PRODUCTION)
    assert settings.effective_log_format is LogFormat.JSON
    lines = [json.loads(line) for line in logged(
        settings,
        (OPERATIONS_LOGGER, logging.INFO, "graphql operation", {"operation": "DemoNextWeek"}),
        (ACCESS_LOGGER, logging.INFO, "request", REQUEST))]
    assert [line["message"] for line in lines] == ["graphql operation", "request"]
    assert list(lines[1])[:4] == ["time", "level", "logger", "message"]
    assert {key: lines[1][key] for key in ("level", "logger", "status", "operations")} == {
        "level": "INFO", "logger": ACCESS_LOGGER, "status": 200, "operations": ["DemoNextWeek"]}


def test_json_wherever_the_setting_says_so_and_a_traceback_is_one_field(logged):
    try:
        raise ValueError("boom")
    except ValueError:
        buffer = io.StringIO()
        configure_logging(Settings(log_format=LogFormat.JSON), stream=buffer)
        logging.getLogger("app.test").exception("it failed")
    (line,) = [json.loads(text) for text in buffer.getvalue().splitlines()]
    assert line["message"] == "it failed"
    assert "ValueError: boom" in line["exception"]


def test_an_unknown_log_format_is_a_one_line_configuration_error(monkeypatch):
    assert settings_refusal(monkeypatch, BOOKINGS_LOG_FORMAT="xml") == (
        "BOOKINGS_LOG_FORMAT='xml' is not valid: Input should be 'json' or 'text'")


def refused_start(tmp_path, **environment: str) -> subprocess.CompletedProcess:
    """`bookings serve` with these settings, which must refuse to start."""
    clean = {key: value for key, value in os.environ.items()
             if not key.startswith(("BOOKINGS_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", "1"], capture_output=True,
        text=True, timeout=60, check=False,
        env={**clean, "BOOKINGS_DATA_DIR": str(tmp_path / "data"), **environment})


def test_the_server_refuses_to_start_with_an_unknown_log_format(tmp_path):
    finished = refused_start(tmp_path, BOOKINGS_LOG_FORMAT="pretty")
    assert finished.returncode == 1
    assert finished.stderr.splitlines() == [
        "bookings: BOOKINGS_LOG_FORMAT='pretty' is not valid: Input should be 'json' or 'text'"]
    assert not (tmp_path / "data").exists()  # nothing was started or written


def test_the_server_refuses_to_start_with_an_assets_folder_missing_a_file(tmp_path):
    shutil.copytree(BUNDLED_ASSETS, tmp_path / "assets")
    (tmp_path / "assets" / "react@18.2.0" / "umd" / "react.production.min.js").unlink()
    finished = refused_start(tmp_path, BOOKINGS_GRAPHIQL_ASSETS_DIR=str(tmp_path / "assets"))
    assert finished.returncode == 1
    missing = "react@18.2.0/umd/react.production.min.js is missing"
    assert finished.stderr.splitlines() == [
        f"bookings: BOOKINGS_GRAPHIQL_ASSETS_DIR={tmp_path / 'assets'}: {missing}"]
    assert not (tmp_path / "data").exists()
