"""The one logging setup of every process: ``console`` for a person, ``json`` for machines.

``console`` is the plain text ``make run`` has always shown. ``json`` writes
one JSON object per line (for a log shipper: ELK, Loki, a container
runtime): ``time`` (RFC 3339, UTC, microseconds), ``level``, ``logger``,
``message``, ``role`` (supervisor, core, gateway, ...), ``pid``, then any
structured fields the caller passed with ``extra=`` (``account_id``,
``order_id``, ``client_order_id``, ``symbol``, ``sequence``, ...),
``trace_id`` and ``span_id`` when an OpenTelemetry span is current, and
``exception`` with the traceback of an error. A redaction filter on the one
handler keeps secrets out of both formats (``redact.py``).

The formatter is python-json-logger's orjson one: it plugs into the stdlib
``logging`` every module already uses, and it costs about 9 us a line
against the stdlib text formatter's 5 (structlog's ProcessorFormatter: 25;
docs/observability-logs.md).
"""

from __future__ import annotations

import importlib
import logging
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import IO, Any

from pythonjsonlogger.core import RESERVED_ATTRS, merge_record_extra
from pythonjsonlogger.orjson import OrjsonFormatter

from server.logs import LOG_FORMATS, LOG_LEVELS
from server.logs.redact import RedactingFilter, redact_text

CHILD_FIELDS = ("child_role", "child_pid", "child_output", "child_json")
"""What the supervisor puts on a record relaying a line of a child (``relay.py``)."""
OWN_FIELDS = ("time", "level", "logger", "role", "pid", "trace_id", "span_id", "exception", "stack")
"""The line's own fields: an ``extra=`` of the same name is left out, never
taken for them (a user's ``role`` is not the process's)."""

TraceContext = Callable[[], tuple[str, str] | None]
"""The current trace and span ids (hex), or None outside any span."""


def no_trace() -> tuple[str, str] | None:
    return None


def opentelemetry_context() -> TraceContext:
    """The current OpenTelemetry span's ids, if OpenTelemetry is installed;
    looked up once here, so that a process without it pays nothing a line."""
    try:
        trace: Any = importlib.import_module("opentelemetry.trace")
    except ImportError:
        return no_trace

    def current() -> tuple[str, str] | None:
        context = trace.get_current_span().get_span_context()
        if not context.is_valid:
            return None
        return format(context.trace_id, "032x"), format(context.span_id, "016x")

    return current


def rfc3339(created: float) -> str:
    """``2026-12-07T10:40:00.000123Z``: always the microseconds, always UTC."""
    seconds = int(created)
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{whole}.{int((created - seconds) * 1_000_000):06d}Z"


class ConsoleFormatter(logging.Formatter):
    """The human format, with tracebacks scrubbed like messages."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 - the stdlib's name
        return redact_text(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - the stdlib's name
        return redact_text(super().formatStack(stack_info))


class JsonFormatter(OrjsonFormatter):
    """One JSON object per line, the fields in the order the module says."""

    def __init__(self, role: str, trace_context: TraceContext = no_trace) -> None:
        super().__init__(reserved_attrs=[*RESERVED_ATTRS, *CHILD_FIELDS, *OWN_FIELDS])
        self._role = role
        self._trace_context = trace_context

    def format(self, record: logging.LogRecord) -> str:
        # A child's line that is JSON already goes through as it is: the
        # child wrote it with this formatter (no double wrapping).
        if getattr(record, "child_json", False):
            return str(getattr(record, "child_output", ""))
        return super().format(record)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        child = getattr(record, "child_role", None)
        output = getattr(record, "child_output", "")
        log_data["time"] = rfc3339(record.created)
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.message if child is None else output
        log_data["role"] = self._role if child is None else child
        log_data["pid"] = record.process if child is None else getattr(record, "child_pid", None)
        context = self._trace_context() if child is None else None
        if context is not None:
            log_data["trace_id"], log_data["span_id"] = context
        merge_record_extra(record, log_data, reserved=self._skip_fields)
        if message_dict.get("exc_info"):
            log_data["exception"] = message_dict["exc_info"]
        if message_dict.get("stack_info"):
            log_data["stack"] = message_dict["stack_info"]

    def formatException(self, ei: Any) -> str:  # noqa: N802 - the stdlib's name
        return redact_text(logging.Formatter.formatException(self, ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - the stdlib's name
        return redact_text(logging.Formatter.formatStack(self, stack_info))


def make_formatter(
    log_format: str, role: str, *, timestamps: bool = True, trace_context: TraceContext = no_trace
) -> logging.Formatter:
    """The formatter of ``log_format``; a console one under the supervisor
    leaves the time out (the supervisor's line carries it)."""
    if log_format == "json":
        return JsonFormatter(role, trace_context)
    if log_format == "console":
        time = "%(asctime)s " if timestamps else ""
        return ConsoleFormatter(f"{time}%(levelname)s %(name)s: %(message)s")
    raise ValueError(f"log format {log_format!r}: one of {', '.join(LOG_FORMATS)}")


def log_uncaught(
    kind: type[BaseException], error: BaseException, traceback: TracebackType | None
) -> None:
    """An exception that ends the process, as one scrubbed CRITICAL record
    (one JSON object, not a traceback's many lines); ^C stays quiet as ever."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, traceback)
        return
    logging.getLogger("stx").critical(
        "uncaught %s", kind.__name__, exc_info=(kind, error, traceback)
    )


def configure_logging(
    log_format: str,
    level: str,
    role: str,
    *,
    timestamps: bool = True,
    stream: IO[str] | None = None,
    trace_context: TraceContext | None = None,
) -> logging.Handler:
    """Send every record of this process to ``stream`` (stderr) in
    ``log_format``, from ``level`` up; what an earlier call installed is
    replaced, other handlers (a test's capture) are left alone. Python's
    warnings and an uncaught exception are logged too."""
    if level not in LOG_LEVELS:
        raise ValueError(f"log level {level!r}: one of {', '.join(LOG_LEVELS)}")
    if trace_context is None:
        trace_context = opentelemetry_context() if log_format == "json" else no_trace
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(
        make_formatter(log_format, role, timestamps=timestamps, trace_context=trace_context)
    )
    handler.addFilter(RedactingFilter())
    handler.set_name("stx")
    root = logging.getLogger()
    for installed in [h for h in root.handlers if h.get_name() == "stx"]:
        root.removeHandler(installed)
        installed.close()
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)
    sys.excepthook = log_uncaught
    return handler
