"""Market data: Level 1, Level 2 and trades from engine events.

Publishes over ZeroMQ with per-channel sequence numbers, snapshots and gap
recovery, and offers the matching subscriber library. It knows the engine's
events (``matching``), never the server.
"""
