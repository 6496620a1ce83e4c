"""``stx top``'s figures from two canned scrapes, and its table of ports."""

from __future__ import annotations

import math

import pytest

from clients.top import render
from clients.top_metrics import OFFSETS, Scrape, parse, quantile
from server.metrics.exposition import OFFSETS as SERVER_OFFSETS

BOUNDS = ("0.001", "0.002", "0.005", "+Inf")


def _gateway(acks: tuple[int, ...], cpu: float, streams: int) -> str:
    """A gateway's exposition: ``acks`` is the cumulative count per bound."""
    lines = [
        "# TYPE stx_order_ack_seconds histogram",
        *(
            f'stx_order_ack_seconds_bucket{{transport="grpc_stream",le="{le}"}} {count}'
            for le, count in zip(BOUNDS, acks, strict=True)
        ),
        f'stx_order_ack_seconds_count{{transport="grpc_stream"}} {acks[-1]}',
        'stx_order_ack_seconds_sum{transport="grpc_stream"} 0.1',
        "# TYPE stx_order_streams gauge",
        f"stx_order_streams {streams}",
        "# TYPE stx_stream_backlog_reports gauge",
        "stx_stream_backlog_reports 7",
        "# TYPE stx_rejects counter",
        f'stx_rejects_total{{reason="UNSPECIFIED"}} {acks[-1] // 10}',
        "# TYPE process_cpu_seconds counter",
        f"process_cpu_seconds_total {cpu}",
        "# TYPE process_resident_memory_bytes gauge",
        "process_resident_memory_bytes 104857600",
    ]
    return "\n".join(lines) + "\n"


def _core(new_orders: int, cancels: int) -> str:
    return (
        "# TYPE stx_commands counter\n"
        f'stx_commands_total{{type="new_order"}} {new_orders}\n'
        f'stx_commands_total{{type="cancel"}} {cancels}\n'
        "# TYPE stx_kill_switches_active gauge\nstx_kill_switches_active 1\n"
        "# TYPE stx_halted_symbols gauge\nstx_halted_symbols 2\n"
        "# TYPE stx_circuit_breaker_level gauge\nstx_circuit_breaker_level 0\n"
    )


def _projector(rejected: int, lag: int) -> str:
    return (
        "# TYPE stx_rejects counter\n"
        f'stx_rejects_total{{reason="INSUFFICIENT_BUYING_POWER"}} {rejected}\n'
        f'stx_rejects_total{{reason="UNKNOWN_SYMBOL"}} 3\n'
        "# TYPE stx_projector_lag_records gauge\n"
        f"stx_projector_lag_records {lag}\n"
        "# TYPE stx_projector_lag_seconds gauge\nstx_projector_lag_seconds 0.25\n"
    )


def _analytics(lag: int) -> str:
    return (
        "# TYPE stx_analytics_lag_records gauge\n"
        f"stx_analytics_lag_records {lag}\n"
        "# TYPE stx_analytics_lag_seconds gauge\nstx_analytics_lag_seconds 1.5\n"
    )


def _feed(l2: int) -> str:
    return (
        "# TYPE stx_feed_messages counter\n"
        f'stx_feed_messages_total{{channel="l2"}} {l2}\n'
        'stx_feed_messages_total{channel="trades"} 0\n'
    )


def _scrapes() -> tuple[Scrape, Scrape]:
    before = Scrape(
        100.0,
        {
            "core": parse(_core(1_000, 100)),
            "gateway": parse(_gateway((500, 900, 1_000, 1_000), 10.0, 2)),
            "projector": parse(_projector(40, 0)),
            "surveillance": parse(""),
            "feed": parse(_feed(5_000)),
            "rest": None,
            "analytics": parse(_analytics(0)),
        },
    )
    # Two seconds later: 400 more acks, 100 in the first bucket, 200 in the
    # second, 60 in the third and 40 above every bound.
    now = Scrape(
        102.0,
        {
            "core": parse(_core(1_600, 200)),
            "gateway": parse(_gateway((600, 1_200, 1_360, 1_400), 11.0, 3)),
            "projector": parse(_projector(60, 12)),
            "surveillance": parse(""),
            "feed": parse(_feed(6_000)),
            "rest": None,
            "analytics": parse(_analytics(40)),
        },
    )
    return before, now


def _line(screen: list[str], start: str) -> str:
    [line] = [line for line in screen if line.startswith(start)]
    return " ".join(line.split())


def test_rates_and_percentiles_come_from_the_interval_between_the_scrapes() -> None:
    screen = render(*_scrapes(), "127.0.0.1", 9100)
    # 400 acks over 2 s; p50 is rank 200: the 2nd bucket (1..2 ms) holds
    # ranks 100..300, so 1 + (200 - 100) / 200 = 1.5 ms; p99 (rank 396) falls
    # above every bound: the highest finite one, 5 ms.
    assert _line(screen, "orders acked") == (
        "orders acked 200.0/s (1,400 in all) p50 1.50 ms p99 5.00 ms"
    )
    assert _line(screen, "commands/s") == "commands/s new_order 300.0 cancel 50.0"
    # The gateway's 40 refusals over 2 s, the engine's 20; none of UNKNOWN_SYMBOL.
    assert _line(screen, "rejects/s") == "rejects/s UNSPECIFIED 20.0 INSUFFICIENT_BUYING_POWER 10.0"
    assert _line(screen, "projector lag") == "projector lag 12 records, 0.25 s"
    assert _line(screen, "analytics lag") == "analytics lag 40 records, 1.50 s"
    assert _line(screen, "feed msgs/s") == "feed msgs/s 500.0 (l2 500.0)"
    assert _line(screen, "order streams") == "order streams 3 open, 7 reports queued"
    assert _line(screen, "risk") == "risk kill switches 1, halted symbols 2, breaker level 0"


def test_each_process_is_shown_up_or_down_with_its_cpu_and_memory() -> None:
    screen = render(*_scrapes(), "127.0.0.1", 9100)
    assert _line(screen, "gateway") == "gateway 9102 up 50.0 100.0"
    assert _line(screen, "rest") == "rest 9106 DOWN - -"
    assert _line(screen, "analytics  ") == "analytics 9108 up - -"  # not "analytics lag"
    assert screen[0].startswith("stx top: 127.0.0.1, metrics ports 9101..9108,")
    # Up, but without the process collector's series (as on a platform without /proc).
    assert _line(screen, "surveillance") == "surveillance 9104 up - -"


def test_a_process_down_at_either_scrape_adds_nothing_to_the_rates() -> None:
    before, now = _scrapes()
    gone = Scrape(now.at, {**now.processes, "gateway": None})
    screen = render(before, gone, "127.0.0.1", 9100)
    assert _line(screen, "orders acked") == "orders acked 0.0/s (0 in all) p50 - p99 -"
    assert _line(screen, "order streams") == "order streams - open, - reports queued"
    assert _line(screen, "rejects/s") == "rejects/s INSUFFICIENT_BUYING_POWER 10.0"


def test_a_restarted_process_counts_from_zero_not_backwards() -> None:
    before, now = _scrapes()
    restarted = Scrape(now.at, {**now.processes, "core": parse(_core(20, 0))})
    screen = render(before, restarted, "127.0.0.1", 9100)
    assert _line(screen, "commands/s") == "commands/s new_order 10.0"


def test_quantile_interpolates_as_prometheus_does() -> None:
    cumulative = {0.1: 10.0, 0.2: 30.0, math.inf: 30.0}
    assert quantile(0.5, cumulative) == pytest.approx(0.125)
    assert quantile(1.0, cumulative) == pytest.approx(0.2)
    assert quantile(0.5, {0.1: 0.0, math.inf: 0.0}) is None
    assert quantile(0.5, {}) is None


def test_the_two_scrapes_must_be_apart() -> None:
    before, _ = _scrapes()
    with pytest.raises(ValueError, match="apart"):
        render(before, before, "127.0.0.1", 9100)


def test_the_ports_table_is_the_servers() -> None:
    assert OFFSETS == SERVER_OFFSETS
