"""The committed log on a Redis stream (redis-py's asyncio client).

Each record is one entry whose id is ``<sequence>-1`` and whose one field
``p`` is the journal's payload. Appending runs as one Lua script per batch,
which Redis executes atomically: it skips the records the stream already
holds (a relay that restarts and sends again adds nothing twice) and refuses
one that would leave a gap after the stream's last record, so the stream is
always the journal's records 1..n (or, once trimmed, m..n), each once.
Nothing is trimmed here: a consumer on an empty host replays from record 1
(docs/operations.md says how an operator trims).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from server.committed.log import LogError, Record, split_url

PAYLOAD = b"p"
CONNECT_SECONDS = 5.0
GAP_ERROR = "STXGAP"

_APPEND = """
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local last, last_id = 0, 'an empty stream'
if #top > 0 then
  last_id = top[1][1]
  last = tonumber(string.match(last_id, '^%d+'))
end
local added = 0
for i = 1, #ARGV, 2 do
  local sequence = tonumber(string.match(ARGV[i], '^%d+'))
  if sequence > last then
    if sequence ~= last + 1 then
      return redis.error_reply('STXGAP record ' .. ARGV[i] .. ' does not follow ' .. last_id)
    end
    redis.call('XADD', KEYS[1], ARGV[i], 'p', ARGV[i + 1])
    last, last_id = sequence, ARGV[i]
    added = added + 1
  end
end
return added
"""
"""KEYS[1]: the stream; ARGV: id, payload, id, payload, ... in order. Only
ids travel as text, so no sequence passes through a Lua number's formatting."""


def _sequence(entry_id: Any) -> int:
    """The sequence of an entry id (bytes: the client does not decode)."""
    return int(bytes(entry_id).split(b"-", 1)[0])


class RedisStreamLog:
    def __init__(self, client: Redis, stream: str) -> None:
        self._redis = client
        self.stream = stream
        self._append = client.register_script(_APPEND)

    @classmethod
    def from_url(cls, url: str) -> RedisStreamLog:
        server, stream = split_url(url)
        # A host that does not answer fails the attempt (then retried) rather
        # than hanging it; reads block for at most WAIT_SECONDS by their own.
        return cls(Redis.from_url(server, socket_connect_timeout=CONNECT_SECONDS), stream)

    async def append(self, records: Sequence[Record]) -> int:
        if not records:
            return 0
        arguments: list[bytes | str] = []
        for sequence, payload in records:
            arguments += (f"{sequence}-1", payload)
        try:
            added: Any = await self._append(keys=[self.stream], args=arguments)
        except ResponseError as error:
            if GAP_ERROR in str(error):
                reason = str(error).split(GAP_ERROR, 1)[1].strip()
                raise LogError(f"{self.stream}: {reason}") from None
            raise
        return int(added)

    async def last_sequence(self) -> int:
        entries: Any = await self._redis.xrevrange(self.stream, count=1)
        return _sequence(entries[0][0]) if entries else 0

    async def first_sequence(self) -> int:
        entries: Any = await self._redis.xrange(self.stream, count=1)
        return _sequence(entries[0][0]) if entries else 0

    async def read(self, after: int, limit: int) -> list[Record]:
        entries: Any = await self._redis.xrange(self.stream, min=f"{after + 1}-0", count=limit)
        return [(_sequence(entry_id), bytes(fields[PAYLOAD])) for entry_id, fields in entries]

    async def wait_beyond(self, sequence: int, timeout: float) -> int:
        await self._redis.xread(
            {self.stream: f"{sequence}-1"}, count=1, block=max(int(timeout * 1000), 1)
        )
        return await self.last_sequence()

    async def close(self) -> None:
        await self._redis.aclose()
