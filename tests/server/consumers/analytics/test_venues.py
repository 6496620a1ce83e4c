"""The RTS 28-style execution-venue summary against values computed by hand
on the crafted days (``crafted.py``).

Day 1 (Monday 2 March 2026): T buys 100 @ 190.00 and 50 @ 192.00 from MM's
resting sells (T aggressive, MM passive), then T's resting sell of 60 @
195.00 is taken by MM's market buy (T passive, MM aggressive). Day 2: T's
resting sell of 150 @ 200.00 is taken by MM (T passive), and T buys 20 @
198.00 from MM's resting sell of 60 (T aggressive, MM passive). Five trades,
380 shares, notional 19,000 + 9,600 + 11,700 + 30,000 + 3,960 = 74,260.00
for each of the two accounts."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from server.consumers.analytics.follower import rebuild
from server.consumers.analytics.store import AnalyticsStore
from server.consumers.analytics.venues import INSTRUMENT_CLASS, business_days
from server.consumers.analytics.venues import execution_venue_summary as summary
from tests.server.consumers.analytics.crafted import DAY_1, DAY_2, crafted_journal


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> AnalyticsStore:
    directory: Path = tmp_path_factory.mktemp("crafted")
    last = crafted_journal(directory)
    built = AnalyticsStore.open(None)
    assert rebuild(built, directory, last) == last
    return built


def test_each_account_gets_one_line_of_its_two_days(store: AnalyticsStore) -> None:
    answer = summary(store.reader(), DAY_1, DAY_2, "")
    assert (answer.from_date, answer.to_date) == ("2026-03-02", "2026-03-03")
    lines = {line.account_id: line for line in answer.summaries}
    assert list(lines) == ["MM", "T"]
    for line in lines.values():
        assert line.instrument_class == INSTRUMENT_CLASS
        assert (line.trade_count, line.execution_count, line.order_count) == (5, 5, 5)
        assert (line.volume, line.notional) == (380, "74260.0000")
        assert (line.volume_percentage, line.order_percentage) == ("100.0000", "100.0000")
        assert line.business_days == 2
        assert not line.below_one_trade_per_business_day  # 5 trades in 2 business days
        assert line.auction_count == 0
    t, mm = lines["T"], lines["MM"]
    # T rested its sells of 60 and 150 and took the rest.
    assert (t.passive_count, t.aggressive_count) == (2, 3)
    assert (t.passive_percentage, t.aggressive_percentage) == ("40.0000", "60.0000")
    # MM rested its sells of 100, 50 and 60 (filled 20) and bought at market and 150 @ 200.
    assert (mm.passive_count, mm.aggressive_count) == (3, 2)
    assert (mm.passive_percentage, mm.aggressive_percentage) == ("60.0000", "40.0000")


def test_one_day_one_account(store: AnalyticsStore) -> None:
    (t,) = summary(store.reader(), DAY_1, DAY_1, "T").summaries
    assert (t.account_id, t.trade_count, t.volume, t.notional) == ("T", 3, 210, "40300.0000")
    assert (t.passive_percentage, t.aggressive_percentage) == ("33.3333", "66.6667")
    assert (t.business_days, t.below_one_trade_per_business_day) == (1, False)


def test_a_month_flags_fewer_than_one_trade_per_business_day(store: AnalyticsStore) -> None:
    march = summary(store.reader(), datetime.date(2026, 3, 1), datetime.date(2026, 3, 31), "")
    for line in march.summaries:
        # 22 weekdays (2 to 6, 9 to 13, 16 to 20, 23 to 27, 30 and 31 March), 5 trades.
        assert (line.business_days, line.trade_count) == (22, 5)
        assert line.below_one_trade_per_business_day


def test_days_without_executions_give_no_line(store: AnalyticsStore) -> None:
    later = summary(store.reader(), datetime.date(2026, 3, 4), datetime.date(2026, 3, 31), "")
    assert not later.summaries
    assert not summary(store.reader(), DAY_1, DAY_2, "NOBODY").summaries


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("2026-03-02", "2026-03-02", 1),  # a Monday
        ("2026-03-07", "2026-03-08", 0),  # a weekend
        ("2026-03-06", "2026-03-09", 2),  # Friday to Monday
        ("2026-01-01", "2026-12-31", 261),  # 52 weeks and Thursday 31 December
        ("2026-03-03", "2026-03-02", 0),  # backwards
    ],
)
def test_business_days(first: str, last: str, expected: int) -> None:
    start, end = datetime.date.fromisoformat(first), datetime.date.fromisoformat(last)
    assert business_days(start, end) == expected
