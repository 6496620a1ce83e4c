"""The committed log a URL names (``url_problem`` has accepted it)."""

from __future__ import annotations

from server.committed.log import CommittedLog
from server.committed.redis_log import RedisStreamLog


def open_log(url: str) -> CommittedLog:
    """The log at ``url``: a Redis stream, the only backend there is (decision 0009)."""
    return RedisStreamLog.from_url(url)
