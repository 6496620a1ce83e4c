"""An in-process exchange on an event loop of its own thread, so that one
server can serve a whole test module (its clients are blocking: openssl,
the blocking SDK, plain sockets)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from server.app import Exchange
from server.config import Settings

Result = TypeVar("Result")


class RunningExchange:
    def __init__(self, settings: Settings) -> None:
        self.exchange = Exchange(settings)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def call(self, coroutine: Coroutine[Any, Any, Result], timeout: float = 60) -> Result:
        """Run ``coroutine`` on the exchange's loop; its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def __enter__(self) -> Exchange:
        self._thread.start()
        self.call(self.exchange.start())
        return self.exchange

    def __exit__(self, *_: object) -> None:
        try:
            self.call(self.exchange.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._loop.close()
