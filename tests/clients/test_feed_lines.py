"""`stx feed` prints a table: a header naming the columns, each update's
values under their titles, prices with the contract's 4 decimals."""

from __future__ import annotations

import re

from stocktraderx.v1 import common_pb2
from stocktraderx.v1 import market_data_pb2 as pb

from clients.feed import describe, follow, header
from feeds import wire


def _under(title_line: str, row: str, title: str, value: str) -> bool:
    """Whether ``value`` sits in ``row`` right under ``title`` (right-aligned);
    a title is followed by two spaces ("bid", not "bid size") or ends the line."""
    found = re.search(rf"(?<!\S){re.escape(title)}(?=\s\s|$)", title_line)
    assert found is not None, title
    end = found.end()
    return row[end - len(value) : end] == value


def test_a_depth_update_is_a_row_per_level_under_its_header() -> None:
    message = pb.SubscribeMarketDataResponse(
        depth_update=pb.DepthUpdate(
            symbol="AAPL",
            channel_sequence=7,
            changes=[
                pb.LevelChange(side=common_pb2.SIDE_SELL, price=1_900_000, quantity=1_500,
                               order_count=2),
                pb.LevelChange(side=common_pb2.SIDE_BUY, price=1_899_900, quantity=0),
            ],
        )
    )  # fmt: skip
    titles = header(wire.L2)
    assert titles.split() == ["symbol", "feed", "seq", "side", "price", "size", "orders"]
    rows = describe(message)
    assert [row.split() for row in rows] == [
        ["AAPL", "L2", "7", "ask", "190.0000", "1,500", "2"],
        ["AAPL", "L2", "7", "bid", "189.9900", "0", "0"],
    ]
    for title, value in (("price", "190.0000"), ("size", "1,500"), ("orders", "2")):
        assert _under(titles, rows[0], title, value)


def test_a_quote_shows_every_price_with_four_decimals_and_none_as_a_dash() -> None:
    # Issue 16: "190" next to "190.01", and no legend of the fields.
    quote = pb.Quote(
        symbol="AAPL", channel_sequence=3, bid_price=1_900_000, bid_quantity=100,
        ask_price=1_900_100, ask_quantity=200, volume=12_000,
    )  # fmt: skip
    (row,) = describe(pb.SubscribeMarketDataResponse(quote=quote))
    titles = header(wire.L1)
    assert row.split() == ["AAPL", "L1", "3", "100", "190.0000", "190.0100", "200", "-", "0",
                           "12,000"]  # fmt: skip
    for title, value in (("bid", "190.0000"), ("ask", "190.0100"), ("last", "-"),
                         ("volume", "12,000")):  # fmt: skip
        assert _under(titles, row, title, value)


def test_a_trade_names_its_aggressor() -> None:
    trade = pb.Trade(symbol="F", channel_sequence=1, price=120_050, quantity=300,
                          aggressor_side=common_pb2.SIDE_BUY)  # fmt: skip
    (row,) = describe(pb.SubscribeMarketDataResponse(trade=trade))
    assert header(wire.TRADES).split() == ["symbol", "feed", "seq", "size", "price", "aggressor"]
    assert row.split() == ["F", "trade", "1", "300", "12.0050", "buy"]


class Scripted:
    """A feed handing out prepared batches of trades, losing messages where told."""

    def __init__(self, batches: list[int], gap_after: int) -> None:
        self.batches = batches
        self.gap_after = gap_after
        self.polls = 0
        self.sequence = 0
        self.gaps = 0

    def poll(self, timeout_ms: int) -> list[pb.SubscribeMarketDataResponse]:
        self.polls += 1
        if self.polls == self.gap_after:
            self.gaps += 1
        size = self.batches[self.polls - 1] if self.polls <= len(self.batches) else 0
        batch = []
        for _ in range(size):
            self.sequence += 1
            trade = pb.Trade(symbol="AAPL", channel_sequence=self.sequence, price=1_900_000,
                             quantity=100, aggressor_side=common_pb2.SIDE_SELL)  # fmt: skip
            batch.append(pb.SubscribeMarketDataResponse(trade=trade))
        return batch


def test_the_header_comes_again_after_a_resynchronisation_and_every_screenful() -> None:
    printed: list[tuple[str, bool]] = []

    def say(line: str, err: bool = False) -> None:
        printed.append((line, err))

    follow(Scripted([2, 0, 5], gap_after=2), wire.TRADES, 6, 4, say)
    titles = header(wire.TRADES)
    kinds = [
        "error" if err else "header" if line == titles else line.split()[2] for line, err in printed
    ]
    assert kinds == [
        "header", "1", "2",
        "error",  # the gap: the header again before the next row
        "header", "3", "4", "5", "6",  # 6 updates then stop, mid-batch
    ]  # fmt: skip
    screen: list[tuple[str, bool]] = []
    follow(
        Scripted([9], gap_after=0),
        wire.TRADES,
        9,
        4,
        lambda line, err=False: screen.append((line, err)),
    )
    assert [line == titles for line, _ in screen] == [
        True, False, False, False, False,
        True, False, False, False, False,
        True, False,
    ]  # fmt: skip
