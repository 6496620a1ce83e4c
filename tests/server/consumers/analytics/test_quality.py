"""Slippage and the compliance reports against values computed by hand on
the crafted execution-quality day (``quality.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.consumers.analytics import reports
from server.consumers.analytics.follower import rebuild
from server.consumers.analytics.store import AnalyticsStore
from server.consumers.projector import Shadow
from server.journal.tail import JournalTail
from tests.server.consumers.analytics.quality import DAY, quality_journal


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
