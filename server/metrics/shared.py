"""Series more than one process records (the catalogue names the processes)."""

from __future__ import annotations

from prometheus_client import Counter

REJECTS = Counter(
    "stx_rejects",
    "Refusals, by reason (the engine's RejectReason name, or the gateway's).",
    ["reason"],
)
STORE_ERRORS = Counter("stx_store_errors", "Store failures, by backend.", ["backend"])
REDIS_ERRORS = Counter("stx_redis_errors", "Redis failures.")
SUBSCRIBER_DROPS = Counter(
    "stx_feed_subscriber_drops", "Subscribers dropped as too slow to keep up."
)
