"""Shared state and the event bus on Redis (redis-py's asyncio client)."""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from server.shared.base import STREAM_MAXLEN, BusEntry, id_key

QUOTES = "stx:quotes"
REVOKED = "stx:revoked"
"""Sorted set: token id -> Unix time until which it is revoked."""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def stream_key(stream: str) -> str:
    return f"stx:events:{stream}"


class RedisShared:
    def __init__(self, client: Redis) -> None:
        self._redis = client

    async def put_quotes(self, quotes: dict[str, bytes]) -> None:
        if quotes:
            await self._redis.hset(QUOTES, mapping=quotes)  # type: ignore[arg-type]

    async def get_quote(self, symbol: str) -> bytes | None:
        found = await self._redis.hget(QUOTES, symbol)
        return found.encode() if isinstance(found, str) else found

    async def hit(self, key: str, window_seconds: int) -> int:
        window = int(time.time() // window_seconds)
        counter = f"stx:rate:{key}:{window}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(counter)
            pipe.expire(counter, window_seconds * 2)
            count, _ = await pipe.execute()
        return int(count)

    async def count(self, key: str, window_seconds: int) -> int:
        window = int(time.time() // window_seconds)
        value = await self._redis.get(f"stx:rate:{key}:{window}")
        return int(value or 0)

    async def revoke(self, token_id: str, until: float) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(REVOKED, {token_id: until})
            pipe.zremrangebyscore(REVOKED, "-inf", time.time())
            await pipe.execute()

    async def is_revoked(self, token_id: str) -> bool:
        until = await self._redis.zscore(REVOKED, token_id)
        return until is not None and until > time.time()

    async def close(self) -> None:
        await self._redis.aclose()


class RedisBus:
    def __init__(self, client: Redis, maxlen: int = STREAM_MAXLEN) -> None:
        self._redis = client
        self._maxlen = maxlen
        self._last: dict[str, tuple[int, int]] = {}

    async def last_id(self, stream: str) -> str | None:
        newest: Any = await self._redis.xrevrange(stream_key(stream), count=1)
        return _text(newest[0][0]) if newest else None

    async def publish(self, stream: str, entries: list[BusEntry]) -> None:
        if not entries:
            return
        last = self._last.get(stream)
        if last is None:
            known = await self.last_id(stream)
            last = id_key(known) if known else (-1, -1)
        fresh = [entry for entry in entries if id_key(entry.id) > last]
        if not fresh:
            return
        key = stream_key(stream)
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry in fresh:
                pipe.xadd(key, entry.fields, id=entry.id, maxlen=self._maxlen, approximate=True)  # type: ignore[arg-type]
            await pipe.execute()
        self._last[stream] = id_key(fresh[-1].id)

    async def ensure_group(self, stream: str, group: str) -> None:
        try:
            await self._redis.xgroup_create(stream_key(stream), group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def read_group(
        self, stream: str, group: str, consumer: str, count: int, block_ms: int = 0
    ) -> list[BusEntry]:
        answer: Any = await self._redis.xreadgroup(
            group, consumer, {stream_key(stream): ">"}, count=count, block=block_ms or None
        )
        entries: list[BusEntry] = []
        for _key, items in answer or ():
            for entry_id, fields in items:
                entries.append(
                    BusEntry(_text(entry_id), {_text(k): _text(v) for k, v in fields.items()})
                )
        return entries

    async def ack(self, stream: str, group: str, ids: list[str]) -> int:
        if not ids:
            return 0
        acknowledged: int = await self._redis.xack(stream_key(stream), group, *ids)
        return acknowledged

    async def close(self) -> None:
        await self._redis.aclose()
