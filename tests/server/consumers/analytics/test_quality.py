"""Slippage and the compliance reports against values computed by hand on
the crafted execution-quality day (``quality.py``)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from stocktraderx.v1 import analytics_pb2 as pb
from stocktraderx.v1 import orders_pb2

from server.consumers.analytics import compliance, reports
from server.consumers.analytics.facts import DAY_NANOS, Facts
from server.consumers.analytics.follower import rebuild
from server.consumers.analytics.store import AnalyticsStore
from server.consumers.sources import Shadow
from server.journal.tail import JournalTail
from tests.server.consumers.analytics.quality import DAY, OPEN, quality_journal


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    directory = tmp_path_factory.mktemp("quality")
    return directory, quality_journal(directory)


@pytest.fixture(scope="module")
def store(journal: tuple[Path, int]) -> AnalyticsStore:
    directory, last = journal
    built = AnalyticsStore.open(None)
    assert rebuild(built, directory, last, batch=4) == last  # tops carried across batches
    return built


def test_each_new_order_records_the_top_of_book_it_arrived_to(
    store: AnalyticsStore, journal: tuple[Path, int]
) -> None:
    rows = (
        store.reader()
        .execute(
            "SELECT bid_price, bid_quantity, ask_price, ask_quantity FROM quotes "
            "WHERE day = $day ORDER BY sequence",
            {"day": DAY},
        )
        .fetchall()
    )
    assert rows == [
        (0, 0, 0, 0),  # m1 to an empty book
        (0, 0, 1_901_000, 100),  # m2
        (1_899_000, 100, 1_901_000, 100),  # m3
        (1_899_000, 100, 1_901_000, 100),  # q1
        (1_899_000, 100, 1_903_000, 50),  # q2
        (1_899_000, 100, 1_903_000, 50),  # b1
        (1_899_000, 100, 1_903_000, 10),  # b2
        (1_899_000, 100, 1_905_000, 10),  # b3
        (1_899_000, 100, 0, 0),  # q3
    ]
    # What the replay carried from the engine's events is the books' own top.
    directory, last = journal
    book = Shadow.at(directory, last).engine.books["AAPL"]
    assert book.top == (1_899_000, 100, 0, 0)
    assert len(JournalTail(directory, 0).read(100)) == last


def test_slippage_against_arrival_and_interval_vwap(store: AnalyticsStore) -> None:
    statistics = reports.order_statistics(store.reader(), "T", DAY)
    total = statistics.total
    # q1 bought 150 for 28,525.00 against a mid of 190.00 (28,500.00): +25.00.
    # q2 sold 100 for 19,050.00 against a mid of 190.10 (19,010.00): -40.00.
    # -15.00 / 47,510.00 = -3.15723 bp
    assert total.arrival_slippage_bps == "-3.1572"
    assert total.arrival_priced_quantity == 250
    # q1's interval is its own two fills: 0. q2's holds trades 3 to 6:
    # 28,565.00 / 150 shares; its 100 are worth 19,043.3333 there, it sold
    # them for 19,050.00 (6.6667 better). -6.6667 / (28,525.00 + 19,043.3333)
    assert total.vwap_slippage_bps == "-1.4015"
    assert (total.order_count, total.filled_count, total.canceled_count) == (3, 2, 1)
    (aapl,) = statistics.symbols
    assert aapl.arrival_slippage_bps == total.arrival_slippage_bps
    # B only bought, paying above each mid (a cost, so positive): b1 40 @
    # 190.30 against 190.10 (8.00), b2 10 @ 190.30 and 90 @ 190.50 against
    # 190.10 (38.00), b3 10 @ 190.50 against 190.20 (3.00): 49.00 over
    # 7,604.00 + 19,010.00 + 1,902.00 = 28,516.00
    b = reports.order_statistics(store.reader(), "B", DAY).total
    assert b.arrival_priced_quantity == 150
    assert b.arrival_slippage_bps == "17.1833"


def test_transaction_reports_one_per_fill_per_side(store: AnalyticsStore) -> None:
    everyone = compliance.transaction_reports(store.reader(), DAY, "", 1000, (0, -1))
    assert len(everyone.reports) == 12  # 6 trades, both sides
    rows = {row.transaction_reference: row for row in everyone.reports}
    # Trade 5: B's market order took 90 of T's resting q2 at 190.50.
    seller = rows["5-S"]
    assert (seller.account_id, seller.counterparty_account_id) == ("T", "B")
    assert seller.decision_user_id == "u-t"  # T entered q2; B's command filled it
    assert (seller.client_order_id, seller.price, seller.quantity) == ("q2", 1_905_000, 90)
    assert seller.notional == "17145.0000"
    assert seller.liquidity == orders_pb2.LIQUIDITY_INDICATOR_MAKER
    assert seller.execution_time.ToJsonString() == "2026-03-09T14:30:06Z"
    buyer = rows["5-B"]
    assert (buyer.account_id, buyer.decision_user_id, buyer.venue_transaction_id) == ("B", "u-b", 5)
    assert buyer.liquidity == orders_pb2.LIQUIDITY_INDICATOR_TAKER
    t_only = compliance.transaction_reports(store.reader(), DAY, "T", 1000, (0, -1))
    assert [row.transaction_reference for row in t_only.reports] == ["1-B", "2-B", "5-S", "6-S"]
    paged: list[pb.TransactionReport] = []
    after = (0, -1)
    while True:
        page = compliance.transaction_reports(store.reader(), DAY, "", 5, after)
        paged.extend(page.reports)
        if not page.next_page_token:
            break
        sequence, index = page.next_page_token.split("-")
        after = (int(sequence), int(index))
    assert paged == list(everyone.reports)


def test_clock_facts_of_the_day(store: AnalyticsStore) -> None:
    clock = compliance.clock_synchronisation(store.reader(), DAY)
    # Ten commands left facts, at +0 .. +6, +8, +9, +10 s.
    assert (clock.command_count, clock.steps_back, clock.equal_steps) == (10, 0, 0)
    assert (clock.finest_step_nanos, clock.largest_step_nanos) == (10**9, 2 * 10**9)
    assert clock.first_time.ToJsonString() == "2026-03-09T14:30:00Z"
    assert clock.last_time.ToJsonString() == "2026-03-09T14:30:10Z"
    assert clock.last_sequence - clock.first_sequence == 9
    assert (clock.recorded_resolution_nanos, clock.reported_resolution_nanos) == (1, 1_000)
    assert "does not measure" in clock.clock_source
    empty = compliance.clock_synchronisation(store.reader(), DAY + datetime.timedelta(days=1))
    assert (empty.command_count, empty.first_sequence) == (0, 0)


def test_clock_facts_count_a_step_back_and_a_held_clock() -> None:
    """The sequencer cannot journal them, so the facts are written directly:
    what the report would show of a store fed a faulty history."""
    store = AnalyticsStore.open(None)
    facts = Facts(last_sequence=4)
    base = OPEN
    for sequence, moment in ((1, base), (2, base + 500), (3, base + 500), (4, base + 200)):
        facts.quotes.append((sequence, moment, moment // DAY_NANOS, "AAPL", 0, 0, 0, 0))
    store.write(facts)
    clock = compliance.clock_synchronisation(store.reader(), DAY)
    assert (clock.steps_back, clock.largest_step_back_nanos, clock.equal_steps) == (1, 300, 1)
    assert (clock.finest_step_nanos, clock.largest_step_nanos) == (500, 500)


def test_execution_quality_of_the_day(store: AnalyticsStore) -> None:
    (aapl,) = compliance.execution_quality(store.reader(), DAY, "").symbols
    assert aapl == pb.ExecutionQuality(
        symbol="AAPL", trade_count=6, volume=300, notional="57090.0000", vwap=1_903_000,
        average_trade_size="50.0000",
        order_count=9, average_order_size="83.3333",  # 750 shares ordered
        rejected_count=0, filled_count=7,  # all but m2 (resting) and q3 (canceled)
        canceled_count=1, fill_ratio="0.8000",  # 600 / 750
        execution_likelihood="0.7778", cancel_ratio="0.1111",
        # m1 3 s, m3 4 s, q2 4 s, the rest at once: 11 s / 7
        average_fill_micros=1_571_429,
        # m3, q1 (0.20), q2, b1, b2 (0.40), b3 (0.60): 2.20 / 6
        two_sided_arrivals=6, average_spread=3_667,
        # 2 x 2.20 / (bid + ask summed: 2,281.00) x 10,000
        average_spread_bps="19.2898",
        average_bid_quantity="100.0000",
        average_ask_quantity="53.3333",  # 100, 100, 50, 50, 10, 10
    )  # fmt: skip
    assert not compliance.execution_quality(store.reader(), DAY, "MSFT").symbols
