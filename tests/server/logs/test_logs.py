"""The one logging setup: both formats, the fields of a JSON line, no secrets."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from server.config import ConfigError, load
from server.logs.redact import RedactingFilter
from server.logs.setup import configure_logging

SECRETS = (
    "hunter2-password",
    "tok3n-value",
    "0000-pin",
    "private-key-material",
    "db-pass",
    "redis-pass",
    "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl",
)
TRACE = ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
RFC3339_MICROSECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def _configure(log_format: str, stream: io.StringIO, level: str = "info") -> None:
    configure_logging(log_format, level, "gateway", stream=stream, trace_context=lambda: TRACE)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _log_secrets(log: logging.Logger) -> None:
    """One record carrying every kind of secret a caller might pass."""
    log.warning(
        "connecting to postgresql://stx:db-pass@db/stx with password=hunter2-password, "
        "headers {'authorization': 'Bearer tok3n-value'}, token %s",
        "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl",
        extra={
            "password": "hunter2-password",
            "access_token": "tok3n-value",
            "pkcs11_pin": "0000-pin",
            "private_key": "private-key-material",
            "database_url": "postgresql://stx:db-pass@db/stx",
            "request": {"refresh_token": "tok3n-value", "username": "alice"},
            "account_id": "ACC1",
        },
    )
    try:
        raise ConnectionError("redis://:redis-pass@cache:6379/0 refused; api_key=tok3n-value")
    except ConnectionError:
        log.exception("store unreachable")


def test_a_json_line_has_every_field(output: io.StringIO) -> None:
    _configure("json", output)
    log = logging.getLogger("stx.test.fields")
    log.warning(
        "order %s refused",
        "o-1",
        extra={
            "account_id": "ACC1",
            "order_id": "o-1",
            "client_order_id": "c-1",
            "symbol": "AAPL",
            "sequence": 42,
        },
    )
    try:
        1 / 0  # noqa: B018 - the error whose traceback is logged
    except ZeroDivisionError:
        log.exception("failed")
    warning, error = _lines(output)
    assert RFC3339_MICROSECONDS.match(warning.pop("time"))
    assert warning.pop("pid") > 0
    assert warning == {
        "level": "WARNING",
        "logger": "stx.test.fields",
        "message": "order o-1 refused",
        "role": "gateway",
        "trace_id": TRACE[0],
        "span_id": TRACE[1],
        "account_id": "ACC1",
        "order_id": "o-1",
        "client_order_id": "c-1",
        "symbol": "AAPL",
        "sequence": 42,
    }
    assert error["level"] == "ERROR"
    assert "ZeroDivisionError" in error["exception"]


def test_a_field_never_replaces_the_lines_own(output: io.StringIO) -> None:
    _configure("json", output)
    logging.getLogger("stx.test.own").info("x", extra={"role": "admin", "pid": 1, "level": "?"})
    (line,) = _lines(output)
    assert (line["role"], line["level"]) == ("gateway", "INFO")
    assert line["pid"] > 1


def test_no_trace_ids_outside_a_span(output: io.StringIO) -> None:
    configure_logging("json", "info", "core", stream=output, trace_context=lambda: None)
    logging.getLogger("stx.test.trace").info("no span")
    (line,) = _lines(output)
    assert "trace_id" not in line
    assert "span_id" not in line
    assert line["role"] == "core"


def test_the_level_filters(output: io.StringIO) -> None:
    _configure("json", output, level="warning")
    log = logging.getLogger("stx.test.level")
    log.info("quiet")
    log.warning("loud")
    assert [line["message"] for line in _lines(output)] == ["loud"]


def test_console_is_the_text_format(output: io.StringIO) -> None:
    _configure("console", output)
    logging.getLogger("stx.test.console").warning("order %s refused", "o-1")
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING stx.test.console: order o-1 refused\n",
        output.getvalue(),
    )


def test_a_second_setup_replaces_the_first(output: io.StringIO) -> None:
    _configure("console", output)
    _configure("json", output)
    logging.getLogger("stx.test.twice").warning("once")
    assert len(_lines(output)) == 1


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_secrets_never_reach_the_log(output: io.StringIO, log_format: str) -> None:
    _configure(log_format, output)
    _log_secrets(logging.getLogger("stx.test.secrets"))
    text = output.getvalue()
    for secret in SECRETS:
        assert secret not in text, (secret, text)
    assert "postgresql://stx:***@db/stx" in text
    assert "redis://:***@cache:6379/0" in text
    if log_format == "json":
        warning, error = _lines(output)
        assert warning["password"] == warning["access_token"] == "***"
        assert warning["pkcs11_pin"] == warning["private_key"] == "***"
        assert warning["database_url"] == "postgresql://stx:***@db/stx"
        assert warning["request"] == {"refresh_token": "***", "username": "alice"}
        assert warning["account_id"] == "ACC1"  # what is no secret stays
        assert "api_key=***" in error["exception"]


def test_arguments_that_do_not_fit_are_scrubbed_too() -> None:
    """A caller's mistake (pytest's own capture would raise on it, so the
    filter is tried on the record alone)."""
    record = logging.LogRecord(
        "stx.test.bad", logging.WARNING, __file__, 1, "one %s %s", ("password=pw-1",), None
    )
    assert RedactingFilter().filter(record)
    assert "pw-1" not in record.getMessage()
    assert "one %s %s" in record.getMessage()


def test_settings_choose_the_format_and_level(tmp_path: Path) -> None:
    assert (load().log_format, load().log_level) == ("console", "info")
    config = tmp_path / "stx.toml"
    config.write_text('[server]\nlog_format = "json"\nlog_level = "warning"\n')
    settings = load(config)
    assert (settings.log_format, settings.log_level) == ("json", "warning")
    settings = load(config, {"STX_LOG_FORMAT": "console", "STX_LOG_LEVEL": "debug"})
    assert (settings.log_format, settings.log_level) == ("console", "debug")
    with pytest.raises(ConfigError, match="log_format: 'xml'"):
        load(None, {"STX_LOG_FORMAT": "xml"})
    with pytest.raises(ConfigError, match="log_level: 'loud'"):
        load(None, {"STX_LOG_LEVEL": "loud"})


def test_the_current_opentelemetry_span_is_on_the_line(output: io.StringIO) -> None:
    """The real lookup: outside a span no ids, inside one the span's."""
    configure_logging("json", "info", "gateway", stream=output)
    log = logging.getLogger("stx.test.otel")
    log.info("outside")
    with TracerProvider().get_tracer("test").start_as_current_span("order") as span:
        log.info("inside")
    outside, inside = _lines(output)
    assert "trace_id" not in outside
    context = span.get_span_context()
    assert inside["trace_id"] == format(context.trace_id, "032x")
    assert inside["span_id"] == format(context.span_id, "016x")


def test_an_uncaught_exception_is_one_scrubbed_record(output: io.StringIO) -> None:
    _configure("json", output)
    try:
        raise RuntimeError("cannot reach postgresql://stx:db-pass@db/stx")
    except RuntimeError as error:
        sys.excepthook(RuntimeError, error, error.__traceback__)
    (line,) = _lines(output)
    assert (line["level"], line["message"]) == ("CRITICAL", "uncaught RuntimeError")
    assert "postgresql://stx:***@db/stx" in line["exception"]
    assert "db-pass" not in output.getvalue()


def test_python_warnings_are_log_lines(output: io.StringIO) -> None:
    _configure("json", output)
    warnings.warn("deprecated thing", DeprecationWarning, stacklevel=1)
    (line,) = _lines(output)
    assert (line["level"], line["logger"]) == ("WARNING", "py.warnings")
    assert "deprecated thing" in line["message"]
