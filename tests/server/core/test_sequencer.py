"""The sequencer numbers, journals, applies and releases commands in order."""

import asyncio

import pytest

from matching import CancelOrder, Engine, Instrument, NewOrder, OrderType, Side
from server.core.sequencer import Sequencer
from server.journal.codec import decode
from server.model.sequenced import Sequenced


class MemoryJournal:
    """A journal fake: records appends, and commits only when allowed to."""

    def __init__(self) -> None:
        self.records: list[tuple[int, bytes]] = []
        self.committed = 0
        self.commits = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = False
        self.on_write = False
        """Commit synchronously, like the real journal under batch or none."""

    def append(self, sequence: int, payload: bytes) -> None:
        self.records.append((sequence, payload))

    def commit_written(self) -> bool:
        if not self.on_write:
            return False
        if self.fail:
            raise OSError(28, "No space left on device")
        self.commits += 1
        self.committed = len(self.records)
        return True

    async def commit(self) -> None:
        await self.gate.wait()
        if self.fail:
            raise OSError(28, "No space left on device")
        self.commits += 1
        self.committed = len(self.records)


class Clock:
    def __init__(self, start: int) -> None:
        self.value = start

    def __call__(self) -> int:
        return self.value


def _engine() -> Engine:
    return Engine([Instrument("X", 1)])


def _buy(sequencer: Sequencer, price: int) -> Sequenced:
    return sequencer.submit(
        NewOrder(sequencer.now(), "a", "X", Side.BUY, OrderType.LIMIT, 10, price)
    )


def test_commands_are_numbered_journaled_and_applied_in_order() -> None:
    async def scenario() -> None:
        journal = MemoryJournal()
        sequencer = Sequencer(_engine(), journal, last_sequence=41, clock=Clock(1000))
        first = _buy(sequencer, 5)
        second = sequencer.submit(CancelOrder(sequencer.now(), "a", 1))
        assert (first.sequence, second.sequence) == (42, 43)
        assert [sequence for sequence, _ in journal.records] == [42, 43]
        assert [decode(payload)[0] for _, payload in journal.records] == [
            first.command,
            second.command,
        ]
        assert type(second.events[0]).__name__ == "OrderCancelled"
        await sequencer.durable()
        assert sequencer.durable_sequence == 43

    asyncio.run(scenario())


def test_listeners_see_batches_only_after_commit_and_in_order() -> None:
    async def scenario() -> None:
        journal = MemoryJournal()
        journal.gate.clear()
        sequencer = Sequencer(_engine(), journal, clock=Clock(1))
        seen: list[int] = []
        sequencer.add_listener(lambda batch: seen.extend(item.sequence for item in batch))
        for price in (1, 2, 3):
            _buy(sequencer, price)
        await asyncio.sleep(0)
        assert seen == []
        journal.gate.set()
        await sequencer.durable()
        assert seen == [1, 2, 3]
        _buy(sequencer, 4)
        await sequencer.durable()
        assert seen == [1, 2, 3, 4]

    asyncio.run(scenario())


def test_commands_during_a_commit_share_the_next_commit() -> None:
    async def scenario() -> None:
        journal = MemoryJournal()
        journal.gate.clear()
        sequencer = Sequencer(_engine(), journal, clock=Clock(1))
        _buy(sequencer, 1)
        await asyncio.sleep(0)
        for price in range(2, 50):
            _buy(sequencer, price)
        journal.gate.set()
        await sequencer.durable()
        assert journal.commits == 2
        assert sequencer.durable_sequence == 49

    asyncio.run(scenario())


def test_time_never_goes_backwards() -> None:
    async def scenario() -> None:
        clock = Clock(1000)
        sequencer = Sequencer(_engine(), MemoryJournal(), clock=clock)
        _buy(sequencer, 1)
        clock.value = 500
        assert sequencer.now() == 1000
        with pytest.raises(ValueError, match="precedes"):
            sequencer.submit(NewOrder(999, "a", "X", Side.BUY, OrderType.LIMIT, 10, 1))

    asyncio.run(scenario())


def test_a_failed_journal_stops_acknowledgements_and_intake() -> None:
    async def scenario() -> None:
        journal = MemoryJournal()
        journal.fail = True
        sequencer = Sequencer(_engine(), journal, clock=Clock(1))
        _buy(sequencer, 1)
        with pytest.raises(RuntimeError, match="journal failed"):
            await sequencer.durable()
        with pytest.raises(RuntimeError, match="accepts nothing"):
            _buy(sequencer, 2)

    asyncio.run(scenario())


def test_commit_now_publishes_in_this_step_and_in_order() -> None:
    async def scenario() -> None:
        journal = MemoryJournal()
        sequencer = Sequencer(_engine(), journal)
        seen: list[int] = []
        sequencer.add_listener(lambda batch: seen.extend(item.sequence for item in batch))
        # Under `always` the journal cannot commit on the spot: nothing happens.
        _buy(sequencer, 5)
        sequencer.commit_now()
        assert (seen, sequencer.durable_sequence) == ([], 0)
        await sequencer.durable()
        assert seen == [1]
        # A batch the flusher holds while it waits for the journal goes first.
        journal.gate.clear()
        _buy(sequencer, 6)
        await asyncio.sleep(0)  # the flusher takes [2] and waits
        journal.on_write = True
        _buy(sequencer, 7)
        sequencer.commit_now()
        assert seen == [1]
        journal.gate.set()
        await sequencer.durable()
        assert seen == [1, 2, 3]
        # With nothing in flight, the commit and the listeners run right here.
        _buy(sequencer, 8)
        sequencer.commit_now()
        assert (seen, sequencer.durable_sequence) == ([1, 2, 3, 4], 4)

    asyncio.run(scenario())


def test_a_failed_commit_now_stops_the_sequencer() -> None:
    async def scenario() -> None:
        journal = MemoryJournal()
        journal.on_write = True
        journal.fail = True
        sequencer = Sequencer(_engine(), journal)
        _buy(sequencer, 5)
        sequencer.commit_now()
        with pytest.raises(RuntimeError, match="journal failed"):
            await sequencer.durable()
        with pytest.raises(RuntimeError, match="accepts nothing more"):
            _buy(sequencer, 6)

    asyncio.run(scenario())
