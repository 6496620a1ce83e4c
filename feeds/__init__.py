"""Market data: Level 1, Level 2 and trades from engine events.

Publishes over ZeroMQ with per-channel sequence numbers, snapshots and gap
recovery, and offers the matching subscriber library. It knows the engine's
events (``matching``), never the server.
"""

# Before any module of this package loads: with STX_PURE_ENGINE set, the
# compiled ones load from their .py files too (matching/build.py, decision 0008).
import matching.build  # noqa: F401
