"""The ZeroMQ feed over real sockets: late joiners, lost messages, checksums."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
import zmq

from feeds import wire
from feeds.market import Level, MarketState
from feeds.publisher import FeedPublisher
from feeds.subscriber import FeedError, SymbolFeed
from matching import Side
from server.bench.workload import OrderFlow, instruments
from server.core.exchange import ExchangeCore
from server.journal import Durability

LOOPBACK = "tcp://127.0.0.1:*"


async def _trade(core: ExchangeCore, flow: OrderFlow, count: int) -> None:
    for index in range(count):
        command = flow.next_command()._replace(timestamp=core.sequencer.now())
        flow.observe(core.sequencer.submit(command).events)
        if index % 20 == 19:
            await core.sequencer.durable()
            await asyncio.sleep(0)  # let the snapshot service answer meanwhile
    await core.sequencer.durable()


def _levels(market: MarketState, symbol: str) -> tuple[list[Level], list[Level]]:
    book = market.markets[symbol]
    return book.top(Side.BUY, 10**6), book.top(Side.SELL, 10**6)


class Follower:
    """SymbolFeeds polled on a thread of their own, as a subscriber process would."""

    def __init__(self, publisher: FeedPublisher, symbols: list[str], hwm: int = 100_000) -> None:
        self.publisher = publisher
        self.context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.feeds = {
            symbol: SymbolFeed(
                publisher.publish_endpoint,
                publisher.snapshot_endpoint,
                symbol,
                (wire.L1, wire.L2, wire.TRADES),
                context=self.context,
                receive_hwm=hwm,
            )
            for symbol in symbols
        }
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                for feed in self.feeds.values():
                    feed.poll(5)
        except BaseException as error:  # reported by the test
            self.errors.append(error)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        for feed in self.feeds.values():
            feed.close()
        self.context.term()


async def _until_caught_up(follower: Follower, market: MarketState) -> None:
    for _ in range(1_000):
        if follower.errors:
            raise follower.errors[0]
        if all(
            feed.state[wire.L2].last == market.markets[symbol].l2_sequence
            and feed.state[wire.L1].last == market.markets[symbol].l1_sequence
            for symbol, feed in follower.feeds.items()
        ):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the subscriber never caught up")


def _run(tmp_path: Path, scenario_hwm: int, publisher_hwm: int) -> Follower:
    async def scenario() -> Follower:
        core = ExchangeCore.open(tmp_path, instruments(), durability=Durability.NONE)
        publisher = FeedPublisher.for_market(
            core.market, LOOPBACK, LOOPBACK, send_hwm=publisher_hwm
        )
        core.market_listeners.append(publisher.publish)
        publisher.start()
        flow = OrderFlow(core.engine, 7)
        await _trade(core, flow, 1_000)  # the market is busy before anyone subscribes
        follower = Follower(publisher, sorted(core.market.markets), scenario_hwm)
        follower.thread.start()
        try:
            await _trade(core, flow, 3_000)
            await _until_caught_up(follower, core.market)
            for symbol, feed in follower.feeds.items():
                assert (feed.book.top(Side.BUY, 10**6), feed.book.top(Side.SELL, 10**6)) == (
                    _levels(core.market, symbol)
                ), symbol
                assert feed.quote is not None
                expected = core.market.markets[symbol].quote()
                assert feed.quote.last_price == expected.last_price
                assert feed.quote.volume == expected.volume
                assert feed.quote.bid_price == expected.bid_price
            # ... and the market the feed describes is the engine's, level by level.
            assert core.market.matches_engine(core.engine)
        finally:
            follower.close()
            await publisher.stop()
            await core.close(final_snapshot=False)
        return follower

    return asyncio.run(scenario())


def test_a_late_subscriber_ends_with_every_book_identical_to_the_engine(tmp_path: Path) -> None:
    follower = _run(tmp_path, scenario_hwm=100_000, publisher_hwm=100_000)
    assert all(feed.snapshots >= 2 for feed in follower.feeds.values())  # L1 and L2


def test_lost_messages_are_detected_and_recovered_never_ignored(tmp_path: Path) -> None:
    # High-water marks of a few messages: ZeroMQ drops while the subscriber is busy.
    follower = _run(tmp_path, scenario_hwm=4, publisher_hwm=4)
    assert sum(feed.gaps for feed in follower.feeds.values()) > 0
    snapshots = sum(feed.snapshots for feed in follower.feeds.values())
    assert snapshots > 2 * len(follower.feeds)
    # The publisher counts each recovery it served (stx_feed_snapshots_served_total).
    assert sum(follower.publisher.snapshots_served.values()) == snapshots


def test_unknown_symbols_and_channels_without_snapshots_are_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        market = MarketState()
        publisher = FeedPublisher.for_market(market, LOOPBACK, LOOPBACK)
        publisher.start()
        feed = SymbolFeed(publisher.publish_endpoint, publisher.snapshot_endpoint, "NOPE")
        try:
            with pytest.raises(FeedError, match="no instrument"):
                await asyncio.to_thread(feed.poll, 10)
        finally:
            feed.close()
            await publisher.stop()
        with pytest.raises(ValueError, match="unknown channel"):
            SymbolFeed("tcp://127.0.0.1:1", "tcp://127.0.0.1:2", "X", ("L3",))

    asyncio.run(scenario())


def test_a_conflating_consumer_gets_fewer_messages_and_the_same_book(tmp_path: Path) -> None:
    async def scenario() -> None:
        core = ExchangeCore.open(tmp_path, instruments(), durability=Durability.NONE)
        publisher = FeedPublisher.for_market(core.market, LOOPBACK, LOOPBACK)
        core.market_listeners.append(publisher.publish)
        publisher.start()
        symbol = "AAPL"
        feed = SymbolFeed(publisher.publish_endpoint, publisher.snapshot_endpoint, symbol)
        mirror: dict[tuple[int, int], int] = {}
        received = [0]
        stop = threading.Event()

        def consume() -> None:
            first = True
            while not stop.is_set():
                messages = feed.poll(5, conflate=True)
                if first and feed.state[wire.L2].last is not None:
                    first = False
                    for side in (Side.BUY, Side.SELL):
                        for level in feed.book.top(side, 10**6):
                            mirror[(int(side), level.price)] = level.quantity
                for message in messages:
                    received[0] += 1
                    for change in message.depth_update.changes:
                        mirror[(change.side, change.price)] = change.quantity
                threading.Event().wait(0.05)  # a slow consumer

        thread = threading.Thread(target=consume, daemon=True)
        thread.start()
        try:
            await asyncio.sleep(0.3)
            await _trade(core, OrderFlow(core.engine, 11), 3_000)
            for _ in range(500):
                if feed.state[wire.L2].last == core.market.markets[symbol].l2_sequence:
                    break
                await asyncio.sleep(0.01)
        finally:
            await asyncio.sleep(0.2)
            stop.set()
            thread.join(10)
            feed.close()
            await publisher.stop()
        assert feed.gaps == 0
        assert 0 < received[0] < core.market.markets[symbol].l2_sequence
        bids, asks = _levels(core.market, symbol)
        assert {key: qty for key, qty in mirror.items() if qty} == {
            **{(int(Side.BUY), level.price): level.quantity for level in bids},
            **{(int(Side.SELL), level.price): level.quantity for level in asks},
        }
        await core.close(final_snapshot=False)

    asyncio.run(scenario())


def test_a_publisher_following_a_replaced_market_serves_the_new_one(tmp_path: Path) -> None:
    """A replica that starts again from a snapshot replaces its market state;
    the feed's snapshots come from the state it has now, not the first one."""

    async def scenario() -> None:
        core = ExchangeCore.open(tmp_path, instruments(), durability=Durability.NONE)
        current = [MarketState()]
        publisher = FeedPublisher.following(lambda: current[0], LOOPBACK, LOOPBACK)
        publisher.start()
        before = SymbolFeed(publisher.publish_endpoint, publisher.snapshot_endpoint, "AAPL")
        after = SymbolFeed(publisher.publish_endpoint, publisher.snapshot_endpoint, "AAPL")
        try:
            with pytest.raises(FeedError, match="no instrument"):
                await asyncio.to_thread(before.poll, 10)
            current[0] = core.market
            await asyncio.to_thread(after.poll, 10)
            assert after.snapshots >= 1
            assert after.book.phase == core.market.markets["AAPL"].phase
        finally:
            before.close()
            after.close()
            await publisher.stop()
            await core.close(final_snapshot=False)

    asyncio.run(scenario())
