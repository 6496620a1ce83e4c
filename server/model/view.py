"""What a gateway's services need of the exchange, in-process or across the link.

The gRPC services run either beside the sequencer (``ExchangeCore``, the
all-in-one server and most tests) or in a gateway process on a ``Replica``
whose ``RemoteSequencer`` forwards commands to the core. These protocols are
the part both offer, so the services are written once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from feeds.market import MarketState, Update
from matching import Command, Engine, Event
from server.journal.codec import Origin
from server.model.registry import OrderRegistry, Report


class CoreUnavailableError(RuntimeError):
    """The core went away before answering: whether the command was applied is
    unknown (gRPC UNAVAILABLE; the client resends with its client order id)."""


class Applied(Protocol):
    """A submitted command; complete once ``durable()`` has returned."""

    @property
    def sequence(self) -> int:
        """0 if the core refused it (its reason is in ``events``); negative if
        the core went away before answering (outcome unknown)."""

    @property
    def command(self) -> Command: ...

    @property
    def events(self) -> list[Event]: ...

    @property
    def client_order_id(self) -> str: ...


class SequencerView(Protocol):
    @property
    def sequence(self) -> int: ...

    @property
    def durable_sequence(self) -> int: ...

    def now(self) -> int: ...

    def submit(
        self, command: Command, client_order_id: str = "", origin: Origin | None = None
    ) -> Applied: ...

    def commit_now(self) -> None: ...

    def mark(self) -> int:
        """A mark for everything submitted so far, for ``durable(mark)``."""

    async def durable(self, mark: int | None = None) -> None:
        """Return once everything submitted before ``mark`` (by default: so far)
        is committed."""

    async def available(self) -> None:
        """Return once commands can reach the sequencer (and what it committed
        meanwhile is applied here): at once in the core's own process."""


class CoreView(Protocol):
    @property
    def engine(self) -> Engine: ...

    @property
    def registry(self) -> OrderRegistry: ...

    @property
    def market(self) -> MarketState: ...

    @property
    def sequencer(self) -> SequencerView: ...

    @property
    def report_listeners(self) -> list[Callable[[list[Report]], None]]: ...

    @property
    def market_listeners(self) -> list[Callable[[list[Update]], None]]: ...
