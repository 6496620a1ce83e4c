"""`stx book`'s ladder prints every price with the contract's 4 decimals."""

from __future__ import annotations

from stocktraderx.v1 import common_pb2
from stocktraderx.v1 import market_data_pb2 as pb

from clients.book import render_ladder


def test_prices_line_up_with_fixed_decimals() -> None:
    # Issue 16: "190" next to "190.01".
    depth = pb.DepthSnapshot(
        symbol="AAPL",
        bids=[pb.PriceLevel(price=1_900_000, quantity=200, order_count=1)],
        asks=[pb.PriceLevel(price=1_900_100, quantity=1_000, order_count=3)],
        trading_phase=common_pb2.TRADING_PHASE_CONTINUOUS,
    )
    quote = pb.Quote(symbol="AAPL", last_price=1_900_000, last_quantity=100, volume=100)
    lines = render_ladder(depth, quote, 10).splitlines()
    assert lines[0].split()[:5] == ["AAPL", "continuous", "last", "190.0000", "x"]
    assert [line.split() for line in lines[4:]] == [
        ["190.0100", "1,000", "3"],
        ["-", "spread", "0.0100", "-"],
        ["1", "200", "190.0000"],
    ]
    # Right-aligned in one column: the prices end where "price" ends.
    end = lines[3].index("price") + len("price")
    assert lines[4][:end].endswith("190.0100")
    assert lines[6][:end].endswith("190.0000")
