"""Shared state and the event bus on Redis (redis-py's asyncio client)."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.metrics.shared import REDIS_ERRORS
from server.shared.base import STREAM_MAXLEN, BusEntry, id_key

QUOTES = "stx:quotes"
REVOKED = "stx:revoked"
"""Sorted set: token id -> Unix time until which it is revoked."""
REVOCATIONS = "stx:revocations"
"""Pub/sub channel: each revoked id, so every process ends its streams at once."""
RECONNECT_SECONDS = 1.0
_log = logging.getLogger(__name__)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


_P = ParamSpec("_P")
_T = TypeVar("_T")


def counted(
    method: Callable[_P, Coroutine[Any, Any, _T]],
) -> Callable[_P, Coroutine[Any, Any, _T]]:
    """Count each failure of ``method`` in ``stx_redis_errors_total`` and let
    it rise: a ``try`` costs nothing until something is raised."""

    @functools.wraps(method)
    async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return await method(*args, **kwargs)
        except (RedisError, OSError):
            REDIS_ERRORS.inc()
            raise

    return wrapper


def stream_key(stream: str) -> str:
    return f"stx:events:{stream}"


class RedisShared:
    def __init__(self, client: Redis) -> None:
        self._redis = client
        self._listeners: list[Callable[[str], None]] = []
        self._pubsub: PubSub | None = None
        self._watcher: asyncio.Task[None] | None = None

    @counted
    async def put_quotes(self, quotes: dict[str, bytes]) -> None:
        if quotes:
            await self._redis.hset(QUOTES, mapping=quotes)  # type: ignore[arg-type]

    @counted
    async def get_quote(self, symbol: str) -> bytes | None:
        found = await self._redis.hget(QUOTES, symbol)
        return found.encode() if isinstance(found, str) else found

    @counted
    async def hit(self, key: str, window_seconds: int) -> int:
        window = int(time.time() // window_seconds)
        counter = f"stx:rate:{key}:{window}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(counter)
            pipe.expire(counter, window_seconds * 2)
            count, _ = await pipe.execute()
        return int(count)

    @counted
    async def count(self, key: str, window_seconds: int) -> int:
        window = int(time.time() // window_seconds)
        value = await self._redis.get(f"stx:rate:{key}:{window}")
        return int(value or 0)

    @counted
    async def revoke(self, token_id: str, until: float) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(REVOKED, {token_id: until})
            pipe.zremrangebyscore(REVOKED, "-inf", time.time())
            pipe.publish(REVOCATIONS, token_id)
            await pipe.execute()
        # This process need not wait for its own message to come back.
        self._tell(token_id)

    @counted
    async def reinstate(self, token_id: str) -> None:
        await self._redis.zrem(REVOKED, token_id)

    @counted
    async def is_revoked(self, *token_ids: str) -> bool:
        if not token_ids:
            return False
        now = time.time()
        scores = await self._redis.zmscore(REVOKED, list(token_ids))
        return any(until is not None and until > now for until in scores)

    @counted
    async def watch_revocations(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)
        if self._pubsub is None:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(REVOCATIONS)
            self._pubsub = pubsub
            self._watcher = asyncio.get_running_loop().create_task(self._watch(pubsub))

    def _tell(self, token_id: str) -> None:
        for listener in self._listeners:
            listener(token_id)

    async def _watch(self, pubsub: PubSub) -> None:
        while True:
            try:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            except (RedisConnectionError, RedisTimeoutError, OSError) as error:
                REDIS_ERRORS.inc()
                # redis-py subscribes again when it reconnects; meanwhile the
                # streams' periodic look-up in the revocation set still works.
                _log.warning("revocation channel lost (%s); reconnecting", error)
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            if message is not None and message.get("type") == "message":
                try:
                    self._tell(_text(message["data"]))
                except Exception:
                    # A bug in a listener: say so, and keep hearing revocations.
                    _log.exception("a revocation listener failed")

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._redis.aclose()


class RedisBus:
    def __init__(self, client: Redis, maxlen: int = STREAM_MAXLEN) -> None:
        self._redis = client
        self._maxlen = maxlen
        self._last: dict[str, tuple[int, int]] = {}

    @counted
    async def last_id(self, stream: str) -> str | None:
        return await self._newest(stream)

    async def _newest(self, stream: str) -> str | None:
        newest: Any = await self._redis.xrevrange(stream_key(stream), count=1)
        return _text(newest[0][0]) if newest else None

    @counted
    async def publish(self, stream: str, entries: list[BusEntry]) -> None:
        if not entries:
            return
        last = self._last.get(stream)
        if last is None:
            known = await self._newest(stream)
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

    @counted
    async def ensure_group(self, stream: str, group: str) -> None:
        try:
            await self._redis.xgroup_create(stream_key(stream), group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    @counted
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

    @counted
    async def ack(self, stream: str, group: str, ids: list[str]) -> int:
        if not ids:
            return 0
        acknowledged: int = await self._redis.xack(stream_key(stream), group, *ids)
        return acknowledged

    async def close(self) -> None:
        await self._redis.aclose()
