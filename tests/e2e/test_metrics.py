"""Every process of ``stx serve`` serves ``/metrics``, scraped over HTTP
directly and by a real Prometheus server, and the order path's series move
under load. Both tests read one server (``exchange``): each compares the
series before and after load of its own."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvloop
from prometheus_client.parser import text_string_to_metric_families

from clients.loadtest import LoadSpec, run_load
from server.metrics.exposition import OFFSETS
from tests.e2e.serve import (
    admin_token,
    client_tls,
    free_port,
    free_port_block,
    kept_for_the_module,
    start_server,
)

FAMILIES = {
    "core": {
        "stx_commands", "stx_sequencer_queue_seconds",
        "stx_journal_commit_seconds", "stx_kill_switches_active", "stx_halted_symbols",
        "stx_circuit_breaker_level", "stx_link_lagging_drops", "process_cpu_seconds",
        "stx_gc_pause_seconds",
    },
    "gateway": {
        "stx_order_ack_seconds", "stx_order_streams", "stx_stream_backlog_reports",
        "process_resident_memory_bytes", "stx_store_errors", "stx_redis_errors",
        "stx_auth_failures",
    },
    "rest": {"stx_order_ack_seconds", "python_gc_collections"},
    "projector": {
        "stx_events", "stx_rejects", "stx_projector_lag_records", "stx_projector_lag_seconds",
        "stx_store_errors",
    },
    "surveillance": {"stx_alerts", "python_gc_collections"},
    "feed": {"stx_feed_messages", "python_gc_collections"},
    "analytics": {
        "stx_analytics_position", "stx_analytics_lag_records", "stx_analytics_lag_seconds",
        "stx_analytics_following", "process_resident_memory_bytes", "stx_gc_pause_seconds",
    },
}  # fmt: skip
INSTALL = "apt-get install -y prometheus"


def _scrape(port: int) -> dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return {
        family.name: {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for sample in family.samples
        }
        for family in text_string_to_metric_families(text)
    }


def _load(port: int) -> None:
    spec = LoadSpec(
        f"127.0.0.1:{port}", rate=500, duration=1, streams=1, batch=5,
        crossing=0.3, cancel=0.2, token=admin_token(port), tls=client_tls(port),
    )  # fmt: skip
    result = uvloop.run(run_load(spec))
    assert (result.acknowledged, result.errors) == (result.offered, 0)


def _total(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str) -> float:
    return sum(value for (sample, _), value in samples.items() if sample == name)


def _value(
    scraped: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]], name: str
) -> float:
    return scraped[name][(name, ())]


def _caught_up(
    scraped: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]], position: float
) -> bool:
    return (
        _value(scraped, "stx_analytics_position") >= position
        and _value(scraped, "stx_analytics_lag_records") == 0
        and _value(scraped, "stx_analytics_following") == 1
    )


@pytest.fixture(scope="module")
def exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """The module's server: its gRPC port and the base of its metrics ports."""
    port, base = free_port(), free_port_block()
    data = tmp_path_factory.mktemp("metrics") / "data"
    with kept_for_the_module(start_server(data, port, metrics_port=base)):
        yield port, base


def test_each_process_serves_its_families_and_the_order_series_move(
    exchange: tuple[int, int],
) -> None:
    port, base = exchange
    scraped = {role: _scrape(base + offset) for role, offset in OFFSETS.items()}
    for role, names in FAMILIES.items():
        assert names <= set(scraped[role]), (role, names - set(scraped[role]))
    before_core = scraped["core"]
    assert set(scraped) == set(FAMILIES)
    analytics = base + OFFSETS["analytics"]
    start = _value(scraped["analytics"], "stx_analytics_position")
    _load(port)
    core, gateway = _scrape(base + OFFSETS["core"]), _scrape(base + OFFSETS["gateway"])
    commands = _total(core["stx_commands"], "stx_commands_total")
    assert commands >= _total(before_core["stx_commands"], "stx_commands_total") + 500
    projector = base + OFFSETS["projector"]
    _eventually(
        lambda: _total(_scrape(projector)["stx_events"], "stx_events_total") > commands,
        "the projector did not count the load's events",
    )
    _eventually(
        lambda: _caught_up(_scrape(analytics), start + 1),
        "the analytics store did not take in the load's records",
    )
    assert _total(core["stx_journal_commit_seconds"], "stx_journal_commit_seconds_count") > 0
    assert _total(core["stx_sequencer_queue_seconds"], "stx_sequencer_queue_seconds_count") > 0
    feed = _scrape(base + OFFSETS["feed"])["stx_feed_messages"]
    assert feed[("stx_feed_messages_total", (("channel", "l2"),))] > 0
    acks = gateway["stx_order_ack_seconds"]
    assert acks[("stx_order_ack_seconds_count", (("transport", "grpc_stream"),))] > 0


def _query(prometheus: int, expression: str) -> float:
    url = f"http://127.0.0.1:{prometheus}/api/v1/query?" + urllib.parse.urlencode(
        {"query": expression}
    )
    with urllib.request.urlopen(url, timeout=10) as answer:
        result = json.load(answer)["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


def _eventually(check: object, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except urllib.error.URLError:  # Prometheus is not listening yet
            pass
        time.sleep(0.5)
    raise AssertionError(what)


def test_a_real_prometheus_scrapes_every_process(tmp_path: Path, exchange: tuple[int, int]) -> None:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip(f"no prometheus binary; install it with: {INSTALL}")
    (port, base), listen = exchange, free_port()
    jobs = "".join(
        f"  - job_name: stx-{role}\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{base + offset}']\n"
        for role, offset in OFFSETS.items()
    )
    config = tmp_path / "prometheus.yml"
    config.write_text(f"global:\n  scrape_interval: 1s\nscrape_configs:\n{jobs}")
    log = (tmp_path / "prometheus.log").open("wb")
    prometheus = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{listen}"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _eventually(
            lambda: _query(listen, 'count(up{job=~"stx-.*"} == 1)') == len(OFFSETS),
            "Prometheus never saw every process up",
        )
        _eventually(lambda: _query(listen, "sum(stx_commands_total)") > 0, "no commands yet")
        before = _query(listen, "sum(stx_commands_total)")
        buckets = 'sum(stx_order_ack_seconds_bucket{le="+Inf"})'
        acks_before = _query(listen, buckets)
        _load(port)
        _eventually(
            lambda: _query(listen, "sum(stx_commands_total)") >= before + 500,
            "stx_commands_total did not increase in Prometheus",
        )
        _eventually(
            lambda: _query(listen, buckets) > acks_before,
            "the order ack histogram's buckets did not move in Prometheus",
        )
    finally:
        prometheus.terminate()
        prometheus.wait(30)
        log.close()
