"""State shared between the exchange's processes: Redis in production.

- the latest level 1 quote of every symbol (``stx:quotes``), so readers in
  other processes need not ask the engine;
- counters in fixed time windows (rate limits) and a set of revoked token
  ids, for the gateways' authentication;
- the event bus: Redis Streams of sequenced order, execution and trade
  events for downstream consumers, read with consumer groups
  (docs/events.md).

Without a Redis URL the same interfaces run in-process (``memory``), as the
embedded default has no server to share with.
"""

from server.shared.base import BusEntry, EventBus, SharedState
from server.shared.memory import MemoryBus, MemoryShared
from server.shared.open import open_shared

__all__ = ["BusEntry", "EventBus", "MemoryBus", "MemoryShared", "SharedState", "open_shared"]
