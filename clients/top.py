"""``stx top``: the exchange's processes at a glance, for a person at a console.

Each screen compares two scrapes of the six ``/metrics`` endpoints
(``top_metrics``) an interval apart: counters become rates over that
interval, the order-ack histogram's bucket deltas give the interval's p50
and p99, gauges are shown as they are now.
"""

from __future__ import annotations

import sys
import time

import click

from clients.top_metrics import (
    DEFAULT_BASE,
    OFFSETS,
    Samples,
    Scrape,
    buckets,
    by_label,
    delta,
    quantile,
    scrape,
    total,
    unlabelled,
)

CLEAR = "\x1b[H\x1b[2J"
"""Cursor home and erase the screen: the live view redraws in place."""
TOP_REJECTS = 5
ACK = "stx_order_ack_seconds"
ACKING = ("gateway", "rest")
"""Both define every transport's series (the rest's at 0 in the gateway and
the other way round), so summing them counts each acknowledgement once."""
CPU = "process_cpu_seconds_total"
REJECTING = ("gateway", "projector")
"""The gateway's refusals before the sequencer and the engine's, counted by the projector."""


def _pairs(before: Scrape, now: Scrape, roles: tuple[str, ...]) -> list[tuple[Samples, Samples]]:
    """The roles up at both scrapes: a rate needs both ends."""
    pairs = []
    for role in roles:
        old, new = before.processes.get(role), now.processes.get(role)
        if old is not None and new is not None:
            pairs.append((old, new))
    return pairs


def _rates(
    before: Scrape, now: Scrape, roles: tuple[str, ...], name: str, label: str
) -> dict[str, float]:
    """Per value of ``label``, counter ``name``'s growth per second, over ``roles``."""
    seconds = now.at - before.at
    summed: dict[str, float] = {}
    for old, new in _pairs(before, now, roles):
        for key, grown in delta(by_label(new, name, label), by_label(old, name, label)).items():
            summed[key] = summed.get(key, 0.0) + grown / seconds
    return summed


def _millis(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.2f} ms"


def _number(value: float | None, form: str = ",.0f") -> str:
    return "-" if value is None else format(value, form)


def _listed(rates: dict[str, float], limit: int | None = None) -> str:
    ranked = sorted(rates.items(), key=lambda item: (-item[1], item[0]))[:limit]
    shown = [f"{key} {rate:,.1f}" for key, rate in ranked if rate > 0]
    return "  ".join(shown) if shown else "none"


def _process_lines(before: Scrape, now: Scrape, base: int) -> list[str]:
    seconds = now.at - before.at
    lines = [f"{'PROCESS':<13} {'PORT':>5}  {'STATE':<5} {'CPU %':>6} {'RSS MiB':>8}"]
    for role, offset in OFFSETS.items():
        samples, old = now.processes.get(role), before.processes.get(role)
        cpu = None
        used, was = unlabelled(samples, CPU), unlabelled(old, CPU)
        if used is not None and was is not None:
            cpu = max(used - was, 0.0) / seconds * 100
        rss = unlabelled(samples, "process_resident_memory_bytes")
        lines.append(
            f"{role:<13} {base + offset:>5}  {'up' if samples is not None else 'DOWN':<5} "
            f"{_number(cpu, '.1f'):>6} {_number(None if rss is None else rss / 2**20, '.1f'):>8}"
        )
    return lines


def _order_lines(before: Scrape, now: Scrape) -> list[str]:
    seconds = now.at - before.at
    pairs = _pairs(before, now, ACKING)
    grown = delta(buckets([new for _, new in pairs], ACK), buckets([old for old, _ in pairs], ACK))
    acked_total = sum(total(now.processes.get(role), f"{ACK}_count") for role in ACKING)
    ack_rate = grown.get(float("inf"), 0.0) / seconds
    commands = _rates(before, now, ("core",), "stx_commands_total", "type")
    rejects = _rates(before, now, REJECTING, "stx_rejects_total", "reason")
    return [
        f"orders acked   {ack_rate:,.1f}/s ({acked_total:,.0f} in all)   "
        f"p50 {_millis(quantile(0.5, grown))}   p99 {_millis(quantile(0.99, grown))}",
        f"commands/s     {_listed(commands)}",
        f"rejects/s      {_listed(rejects, TOP_REJECTS)}",
    ]


def _state_lines(before: Scrape, now: Scrape) -> list[str]:
    projector, gateway, core, analytics = (
        now.processes.get(r) for r in ("projector", "gateway", "core", "analytics")
    )
    feed = _rates(before, now, ("feed",), "stx_feed_messages_total", "channel")
    return [
        f"projector lag  {_number(unlabelled(projector, 'stx_projector_lag_records'))} records, "
        f"{_number(unlabelled(projector, 'stx_projector_lag_seconds'), ',.2f')} s",
        f"analytics lag  {_number(unlabelled(analytics, 'stx_analytics_lag_records'))} records, "
        f"{_number(unlabelled(analytics, 'stx_analytics_lag_seconds'), ',.2f')} s",
        f"feed msgs/s    {sum(feed.values()):,.1f} ({_listed(feed)})",
        f"order streams  {_number(unlabelled(gateway, 'stx_order_streams'))} open, "
        f"{_number(unlabelled(gateway, 'stx_stream_backlog_reports'))} reports queued",
        f"risk           kill switches {_number(unlabelled(core, 'stx_kill_switches_active'))}, "
        f"halted symbols {_number(unlabelled(core, 'stx_halted_symbols'))}, "
        f"breaker level {_number(unlabelled(core, 'stx_circuit_breaker_level'))}",
    ]


def render(before: Scrape, now: Scrape, host: str, base: int) -> list[str]:
    """One screen: the processes, then the order path's and the market's figures."""
    seconds = now.at - before.at
    if seconds <= 0:
        raise ValueError("the two scrapes must be apart in time")
    return [
        f"stx top: {host}, metrics ports {base + 1}..{base + max(OFFSETS.values())}, "
        f"rates over the last {seconds:.1f} s",
        "",
        *_process_lines(before, now, base),
        "",
        *_order_lines(before, now),
        "",
        *_state_lines(before, now),
    ]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Where the processes run.")
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535 - max(OFFSETS.values())),
    default=DEFAULT_BASE,
    envvar="STX_METRICS_PORT",
    show_default="STX_METRICS_PORT or 9100",
    help="The base metrics port (the server's metrics_port); each role adds its offset.",
)
@click.option(
    "--interval",
    type=click.FloatRange(0.1, 3600),
    default=2.0,
    show_default=True,
    help="Seconds between screens, and over which the rates are taken.",
)
@click.option("--once", is_flag=True, help="Print one screen (after one interval) and exit.")
def top(host: str, metrics_port: int, interval: float, once: bool) -> None:
    """Live view of the exchange's processes, rates, latencies and lag."""
    before = scrape(host, metrics_port)
    try:
        while True:
            time.sleep(max(interval - (time.monotonic() - before.at), 0.0))
            now = scrape(host, metrics_port)
            screen = "\n".join(render(before, now, host, metrics_port))
            if once:
                click.echo(screen)
                return
            sys.stdout.write(CLEAR + screen + "\n")
            sys.stdout.flush()
            before = now
    except KeyboardInterrupt:
        return
