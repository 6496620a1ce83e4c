"""A supervised child's output, line by line, into the supervisor's log.

Each line becomes one record of the supervisor's logger at the child's own
level (the child filtered by its level already, so the supervisor's does not
filter again), carrying the child's role, pid and line. The console format
shows it as ever (``core: WARNING stx.x: ...`` after the supervisor's time);
the JSON one passes a line that is a JSON object through untouched and wraps
any other (a traceback, a library's print) in an object of its own with the
child's role, so the combined output stays one object per line.
"""

from __future__ import annotations

import logging

import orjson

_LEVELS = logging.getLevelNamesMapping()


def _json_level(text: str) -> int | None:
    """The level of a JSON log line, or None if ``text`` is not one."""
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        fields = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(fields, dict):
        return None
    return _LEVELS.get(str(fields.get("level", "")).upper(), logging.INFO)


def relay_line(log: logging.Logger, role: str, pid: int | None, text: str) -> None:
    level = _json_level(text)
    is_json = level is not None
    if level is None:
        first = text.split(" ", 1)[0]
        level = _LEVELS.get(first, logging.INFO) if first.isupper() else logging.INFO
    extra = {"child_role": role, "child_pid": pid, "child_output": text, "child_json": is_json}
    record = log.makeRecord(log.name, level, "", 0, "%s: %s", (role, text), None, extra=extra)
    log.handle(record)
