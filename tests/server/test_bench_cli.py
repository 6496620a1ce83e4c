"""``stx bench engine`` and ``stx demo`` as a user runs them."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import matching
from server.bench.workload import generate
from server.cli import main
from server.config import load as load_settings

STX = Path(sys.executable).with_name("stx")


def test_bench_engine_json_has_the_documented_keys() -> None:
    result = subprocess.run(
        [str(STX), "bench", "engine", "--commands", "3000", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(result.stdout)
    for key in ("commands_per_sec", "p50_ns", "p99_ns", "p999_ns", "max_ns", "commands"):
        assert key in figures
    assert figures["commands"] == 3000
    assert figures["commands_per_sec"] > 0
    assert figures["p50_ns"] <= figures["p99_ns"] <= figures["p999_ns"] <= figures["max_ns"]


def test_bench_engine_pure_measures_both_builds_in_one_run() -> None:
    result = subprocess.run(
        [str(STX), "bench", "engine", "--commands", "3000", "--pure", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(result.stdout)
    assert figures["build"] == matching.BUILD
    assert figures["pure"]["build"] == "pure"
    assert figures["pure"]["events"] == figures["events"]
    ratio = figures["commands_per_sec"] / figures["pure"]["commands_per_sec"]
    assert figures["speedup"] == round(ratio, 2)


def test_bench_engine_resting_reports_memory_per_order() -> None:
    result = CliRunner().invoke(main, ["bench", "engine", "--resting", "5000", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["resting_orders"] == 5000
    assert figures["rss_bytes_per_order"] > 0


def test_bench_engine_rejects_a_bad_count() -> None:
    result = CliRunner().invoke(main, ["bench", "engine", "--commands", "0"])
    assert result.exit_code != 0
    assert "--commands" in result.output


def test_workload_is_reproducible_from_its_seed() -> None:
    assert generate(2000, seed=5) == generate(2000, seed=5)
    assert generate(2000, seed=5) != generate(2000, seed=6)


def test_demo_runs_a_whole_day() -> None:
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "uncrossed" in result.output
    assert "rejected, MARKET_CLOSED" in result.output
    assert "OrderRejected(" not in result.output  # words, not a Python repr (issue 16)
    # The symbols `make run` (stx serve's demo configuration) lists, no others
    # (issue 16: AMZN and TSLA here, BRK.A there).
    traded = [line.split(":")[0].strip() for line in result.output.splitlines() if ": last" in line]
    assert traded == [instrument.symbol for instrument in load_settings(environ={}).instruments]


@pytest.mark.parametrize("tls", [[], ["--tls"]])
def test_bench_transport_echoes_every_message_and_reports_percentiles(tls: list[str]) -> None:
    result = subprocess.run(
        [str(STX), "bench", "transport", "--rate", "400", "--duration", "0.5", *tls],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    figures = json.loads(result.stdout)
    assert figures["offered_per_sec"] == 400
    assert figures["tls"] is bool(tls)
    assert 0 < figures["messages_per_sec"] <= 1_000
    assert 0 < figures["p50_us"] <= figures["p99_us"] <= figures["p999_us"] <= figures["max_us"]


@pytest.mark.parametrize("encryption", [[], ["--curve"]])
def test_bench_feed_json_has_the_documented_keys(encryption: list[str]) -> None:
    result = subprocess.run(
        [str(STX), "bench", "feed", "--rate", "500", "--duration", "1", "--subscribers", "2",
         "--json", *encryption],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    figures = json.loads(result.stdout)
    for key in ("updates_per_sec", "p50_us", "p99_us", "subscribers"):
        assert key in figures
    assert figures["subscribers"] == 2
    assert figures["curve"] == (1 if encryption else 0)
    assert figures["received"] == 2 * figures["published"] > 0


def test_bench_projector_fills_a_store() -> None:
    result = subprocess.run(
        [str(STX), "bench", "projector", "--commands", "2000"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    figures = json.loads(result.stdout)
    assert figures["backend"] == "sqlite"
    assert figures["commands"] >= 2000
    assert figures["events"] > figures["commands"]


def test_bench_ipc_reports_both_flows_as_json() -> None:
    # Two transports keep this short; tests/server/test_bench_ipc.py runs the others.
    result = subprocess.run(
        [str(STX), "bench", "ipc", "--rate", "300", "--duration", "0.3", "--consumers", "2",
         "--only", "uds", "--only", "journal-inotify", "--json"],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    figures = json.loads(result.stdout)
    assert figures["consumers"] == 2
    assert 60 <= figures["payload_bytes"] <= 130
    assert set(figures["commands"]) == {"uds"}
    row = figures["commands"]["uds"]
    assert row["one_commands"] == 90
    assert row["batch_commands"] > 0
    assert row["batch_commands"] % 100 == 0
    assert 0 < row["one_p50_us"] <= row["one_p99_us"] <= row["one_max_us"]
    assert row["one_core_cpu_us_per_command"] > 0
    assert row["batch_gateway_cpu_us_per_command"] > 0
    assert set(figures["fanout"]) == {"uds", "journal-inotify"}
    for kind, row in figures["fanout"].items():
        assert row["one_all_complete"], kind
        assert row["batch_all_complete"], kind
        assert row["one_batch"] == 1
        assert row["batch_batch"] == 100
        assert 0 < row["one_p50_us"] <= row["one_p99_us"] <= row["one_max_us"]
        assert row["one_core_cpu_us_per_batch"] > 0
    # Followers get everything from the files: two consumers, every record.
    inotify = figures["fanout"]["journal-inotify"]
    assert inotify["one_caught_up_records"] == 2 * inotify["one_batches"]


def test_bench_ipc_names_an_unknown_transport() -> None:
    result = CliRunner().invoke(main, ["bench", "ipc", "--only", "carrier-pigeon"])
    assert result.exit_code == 2
    assert "no transport named carrier-pigeon" in result.output


SERVER_FIGURES = ("offered", "acknowledged", "orders_per_sec", "p50_us", "p99_us", "p999_us",
                  "max_us", "errors", "cpu_us_per_order")  # fmt: skip
FLOOR_FIGURES = ("messages_per_sec", "offered_per_sec", "p50_us", "p99_us", "p999_us", "max_us")


@pytest.mark.timeout(180)
def test_bench_server_reports_the_server_and_the_echo_floor_of_one_run() -> None:
    result = subprocess.run(
        [str(STX), "bench", "server", "--rate", "200", "--duration", "1", "--json"],
        capture_output=True, text=True, timeout=170, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["tls"] is True
    (entry,) = report["rounds"]
    assert entry["server"]["tls"] is entry["floor"]["tls"] is True
    server, floor = entry["server"], entry["floor"]
    for key in SERVER_FIGURES:
        assert key in server, key
    for key in FLOOR_FIGURES:
        assert key in floor, key
    assert server["acknowledged"] == server["offered"] == 200
    assert server["errors"] == 0
    assert server["cpu_us_per_order"] > 0
    assert "stx serve" in server["cpu_by_process"][0]["process"]
    assert floor["offered_per_sec"] == 200
    assert 0 < server["p50_us"] <= server["p99_us"] <= server["p999_us"] <= server["max_us"]
    assert entry["p99_to_floor"]["server"] == round(server["p99_us"] / floor["p99_us"], 2)


@pytest.mark.timeout(300)
def test_bench_server_runs_a_baseline_commit_from_a_worktree() -> None:
    git = shutil.which("git")
    checkout = git and subprocess.run([git, "rev-parse", "HEAD"], capture_output=True, check=False)
    if not checkout or checkout.returncode:
        pytest.skip("--baseline needs git (apt-get install git) and a git checkout of the "
                    "repository")  # fmt: skip
    result = subprocess.run(
        [str(STX), "bench", "server", "--rate", "200", "--duration", "1", "--plaintext",
         "--baseline", "HEAD", "--json"],
        capture_output=True, text=True, timeout=290, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["baseline"]["revision"] == "HEAD"
    # HEAD's build inputs are this tree's: its build is this tree's, copied
    # (sources.py), so it loads the same compiled modules.
    assert report["baseline"]["build"] == report["build"]
    assert report["tls"] is False
    (entry,) = report["rounds"]
    assert entry["baseline"]["code"] == "HEAD"
    assert entry["server"]["tls"] is entry["baseline"]["tls"] is entry["floor"]["tls"] is False
    assert entry["baseline"]["acknowledged"] == entry["server"]["acknowledged"] == 200
    assert set(entry["ratios"]) == {
        "orders_per_sec", "p50_us", "p99_us", "p999_us", "cpu_us_per_order"
    }  # fmt: skip
    # No worktree is left behind.
    listing = subprocess.run(["git", "worktree", "list"], capture_output=True, text=True,
                             check=True).stdout  # fmt: skip
    assert "stx-bench-baseline-" not in listing


def test_bench_server_names_a_revision_git_does_not_know() -> None:
    result = CliRunner().invoke(
        main, ["bench", "server", "--duration", "1", "--baseline", "no-such-revision-here"]
    )
    assert result.exit_code == 1
    assert "no-such-revision-here" in result.output
    assert "Traceback" not in result.output


def test_bench_projector_in_one_command_batches_reports_cpu_per_command() -> None:
    result = CliRunner().invoke(
        main, ["bench", "projector", "--commands", "300", "--batch-commands", "1"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["batch_commands"] == 1
    assert figures["commands"] >= 300
    assert figures["cpu_us_per_command"] > 0
