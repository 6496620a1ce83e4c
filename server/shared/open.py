"""Choosing the backend from the configuration."""

from __future__ import annotations

from redis.asyncio import Redis

from server.shared.base import EventBus, SharedState
from server.shared.memory import MemoryBus, MemoryShared
from server.shared.redis import RedisBus, RedisShared


async def open_shared(url: str) -> tuple[SharedState, EventBus]:
    """Redis at ``url`` (checked with a PING), or in-process state if empty."""
    if not url:
        return MemoryShared(), MemoryBus()
    client = Redis.from_url(url)
    try:
        await client.ping()
    except BaseException:
        await client.aclose()
        raise
    return RedisShared(client), RedisBus(client)
