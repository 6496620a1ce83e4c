"""`stx report pnl` and `stx report trades` against an exchange running in
this process: CSV a spreadsheet reads, a table for people, and another
trader's account refused."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from stocktraderx.v1 import options_pb2, users_pb2, users_pb2_grpc

from clients.cli import order
from clients.latency_report import LATENCY_COLUMNS
from clients.login import login
from clients.report import report
from tests.clients.test_cli_exchange import PASSWORD, Terminal
from tests.server.local import local_settings, prepare_accounts
from tests.server.transport.running import RunningExchange


@pytest.fixture(scope="module")
def traders(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Terminal, Terminal, str]]:
    data = tmp_path_factory.mktemp("exchange")
    running = RunningExchange(local_settings(data, auth_required=True))
    with running as exchange:
        target = f"127.0.0.1:{exchange.port}"
        with grpc.insecure_channel(target) as channel:
            for name in ("rita", "sam"):
                users_pb2_grpc.UserServiceStub(channel).Register(
                    users_pb2.RegisterRequest(
                        username=name, email=f"{name}@example.com", password=PASSWORD
                    ),
                    timeout=10,
                )
        running.call(prepare_accounts(exchange, "RITA", "SAM"))
        rita, sam = Terminal(target, data / "rita.json"), Terminal(target, data / "sam.json")
        for terminal, name in ((rita, "rita"), (sam, "sam")):
            signed = terminal.run(login, "--username", name)
            assert signed.exit_code == 0, signed.output
        for terminal, arguments in (
            (sam, ("sell", "AAPL", "100", "@190.05", "--account", "SAM")),
            (rita, ("buy", "AAPL", "60", "@190.05", "--account", "RITA")),
            (rita, ("buy", "AAPL", "40", "@190.05", "--account", "RITA")),
        ):
            placed = terminal.run(order, *arguments)
            assert placed.exit_code == 0, placed.output
        assert exchange.analytics is not None
        assert exchange.core is not None
        running.call(exchange.analytics.caught_up(exchange.core.sequencer.sequence))
        assert exchange.tokens is not None
        officer, _ = exchange.tokens.issue("officer", (options_pb2.ROLE_RISK_OFFICER,))
        yield rita, sam, officer


def test_pnl_and_trades_as_csv(traders: tuple[Terminal, Terminal, str]) -> None:
    rita, _, _ = traders
    today = datetime.now(UTC).date().isoformat()
    statement = rita.run(report, "pnl", "--account", "RITA", "--date", today, "--format", "csv")
    assert statement.exit_code == 0, statement.output
    rows = list(csv.DictReader(io.StringIO(statement.output)))
    assert [row["symbol"] for row in rows] == ["AAPL", "TOTAL"]
    assert rows[0]["closing_quantity"] == "100"
    assert rows[0]["average_cost"] == "190.0500"
    assert rows[1]["realized_pnl"] == "0.0000"
    fills = rita.run(report, "trades", "--account", "RITA", "--date", today)  # not a terminal
    assert fills.exit_code == 0, fills.output
    rows = list(csv.DictReader(io.StringIO(fills.output)))
    assert [(row["side"], row["quantity"], row["price"]) for row in rows] == [
        ("buy", "60", "190.0500"), ("buy", "40", "190.0500"),
    ]  # fmt: skip
    assert rows[0]["notional"] == "11403.0000"
    assert rows[0]["liquidity"] == "taker"


def test_a_table_for_people_and_refusals_in_one_line(
    traders: tuple[Terminal, Terminal, str],
) -> None:
    rita, sam, _ = traders
    today = datetime.now(UTC).date().isoformat()
    table = sam.run(report, "pnl", "--account", "SAM", "--date", today, "--format", "table")
    assert table.exit_code == 0, table.output
    header, position, total = table.output.splitlines()
    assert header.split()[:2] == ["symbol", "opening_quantity"]
    assert position.split() == [
        "AAPL", "0", "0", "100", "-100", "190.0500", "190.0500", "0.0000", "0.0000", "0.0000",
    ]  # fmt: skip
    assert total.split()[0] == "TOTAL"
    others = rita.run(report, "pnl", "--account", "SAM", "--date", today)
    assert others.exit_code == 1
    assert "refused [FORBIDDEN]" in others.output
    bad_day = rita.run(report, "trades", "--account", "RITA", "--date", "yesterday")
    assert bad_day.exit_code == 1
    assert "is not a day" in bad_day.output


def test_the_cat_trail_for_a_risk_officer(
    traders: tuple[Terminal, Terminal, str], tmp_path: Path
) -> None:
    rita, _, officer = traders
    today = datetime.now(UTC).date().isoformat()
    out = tmp_path / "cat.csv"
    written = CliRunner().invoke(
        report,
        ["compliance", "cat", "--date", today, "--out", str(out), "--target", rita.target,
         "--plaintext"],
        env={"STX_TOKEN": officer},
    )  # fmt: skip
    assert written.exit_code == 0, written.output
    assert "rows written to" in written.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    rita_rows = [row for row in rows if row["account_id"] == "RITA"]
    assert [row["event"] for row in rita_rows] == ["NEW", "FILL", "NEW", "FILL"]
    assert {row["sender_user_id"] for row in rita_rows} != {""}
    assert {row["sender_gateway"] for row in rita_rows} == {"grpc"}
    assert rita_rows[1]["last_price"] == "190.0500"
    assert len(rita_rows[0]["event_time"]) == len("2026-03-02T14:30:00.000000Z")
    refused = rita.run(report, "compliance", "cat", "--date", today)
    assert refused.exit_code == 1
    assert "refused [FORBIDDEN]" in refused.output


def test_order_and_market_statistics(traders: tuple[Terminal, Terminal, str]) -> None:
    rita, _, _ = traders
    today = datetime.now(UTC).date().isoformat()
    orders = rita.run(report, "orders", "--account", "RITA", "--date", today)
    assert orders.exit_code == 0, orders.output
    aapl, total = csv.DictReader(io.StringIO(orders.output))
    assert (aapl["symbol"], aapl["order_count"], aapl["fill_ratio"]) == ("AAPL", "2", "1.0000")
    assert (total["symbol"], total["order_to_trade_ratio"]) == ("TOTAL", "1.0000")
    market = rita.run(report, "market", "--date", today, "--symbol", "AAPL")
    assert market.exit_code == 0, market.output
    (line,) = csv.DictReader(io.StringIO(market.output))
    assert (line["volume"], line["vwap"], line["notional"]) == ("100", "190.0500", "19005.0000")


def _officer(officer: str, target: str, *arguments: str) -> Result:
    return CliRunner().invoke(
        report, [*arguments, "--target", target, "--plaintext"], env={"STX_TOKEN": officer}
    )


def test_the_compliance_files_as_csv(traders: tuple[Terminal, Terminal, str]) -> None:
    rita, _, officer = traders
    today = datetime.now(UTC).date().isoformat()
    listed = _officer(officer, rita.target, "compliance", "rts22", "--date", today,
                      "--currency", "USD")  # fmt: skip
    assert listed.exit_code == 0, listed.output
    rows = list(csv.DictReader(io.StringIO(listed.output)))
    assert len(rows) == 4  # two fills, both sides
    buys = [row for row in rows if row["side"] == "BUY"]
    assert {(row["account_id"], row["counterparty_account_id"]) for row in buys} == {
        ("RITA", "SAM")
    }
    assert {row["decision_user_id"] for row in buys} != {""}
    assert {(row["price"], row["price_currency"]) for row in rows} == {("190.0500", "USD")}
    clock = _officer(officer, rita.target, "compliance", "rts25", "--date", today)
    assert clock.exit_code == 0, clock.output
    facts = {row["fact"]: row["value"] for row in csv.DictReader(io.StringIO(clock.output))}
    assert facts["steps_back"] == "0"
    assert int(facts["command_count"]) >= 3
    quality = _officer(officer, rita.target, "compliance", "rts27", "--date", today)
    assert quality.exit_code == 0, quality.output
    (aapl,) = csv.DictReader(io.StringIO(quality.output))
    assert (aapl["volume"], aapl["order_count"], aapl["execution_likelihood"]) == (
        "100", "3", "1.0000",
    )  # fmt: skip
    venues = _officer(officer, rita.target, "compliance", "rts28", "--from", today, "--to",
                      today, "--venue", "XSTX")  # fmt: skip
    assert venues.exit_code == 0, venues.output
    lines = {row["account_id"]: row for row in csv.DictReader(io.StringIO(venues.output))}
    assert list(lines) == ["RITA", "SAM"]
    assert (lines["RITA"]["aggressive_percentage"], lines["SAM"]["passive_percentage"]) == (
        "100.0000", "100.0000",
    )  # fmt: skip
    assert {
        (row["venue"], row["volume"], row["directed_percentage"]) for row in lines.values()
    } == {("XSTX", "100", "")}
    backwards = _officer(officer, rita.target, "compliance", "rts28", "--from", today, "--to",
                         "2000-01-01")  # fmt: skip
    assert backwards.exit_code == 1
    assert "to_date is before from_date" in backwards.output
    # In one process orders reach the sequencer directly: no gateway time, no rows.
    latency = _officer(officer, rita.target, "latency", "--date", today, "--interval", "60")
    assert latency.exit_code == 0, latency.output
    assert latency.output.splitlines() == [",".join(LATENCY_COLUMNS)]
    assert rita.run(report, "latency", "--date", today).exit_code == 1  # not an officer
    alerts = _officer(officer, rita.target, "compliance", "alerts", "--date", today)
    assert alerts.exit_code == 0, alerts.output
    assert alerts.output.splitlines()[0].startswith("create_time,alert_id,kind,severity")
    refused = rita.run(report, "compliance", "rts22", "--date", today)
    assert refused.exit_code == 1
    assert "refused [FORBIDDEN]" in refused.output


def test_building_twice_gives_identical_csv_parquet_and_pdf(
    traders: tuple[Terminal, Terminal, str], tmp_path: Path
) -> None:
    rita, _, officer = traders
    today = datetime.now(UTC).date().isoformat()
    built: dict[str, bytes] = {}
    for attempt in ("one", "two"):
        for name, arguments in (
            ("pnl.pdf", ("pnl", "--account", "RITA")),
            ("trades.pdf", ("trades", "--account", "RITA")),
            ("trades.parquet", ("trades", "--account", "RITA")),
            ("trades.csv", ("trades", "--account", "RITA")),
        ):
            out = tmp_path / f"{attempt}-{name}"
            made = rita.run(report, *arguments, "--date", today, "--out", str(out))
            assert made.exit_code == 0, made.output
            built.setdefault(name, out.read_bytes())
            assert out.read_bytes() == built[name], f"{name} differs when built again"
        out = tmp_path / f"{attempt}-rts28.pdf"
        made = _officer(officer, rita.target, "compliance", "rts28", "--from", today, "--to",
                        today, "--out", str(out))  # fmt: skip
        assert made.exit_code == 0, made.output
        built.setdefault("rts28.pdf", out.read_bytes())
        assert out.read_bytes() == built["rts28.pdf"]
        out = tmp_path / f"{attempt}-rts27.pdf"
        made = _officer(officer, rita.target, "compliance", "rts27", "--date", today,
                        "--out", str(out))  # fmt: skip
        assert made.exit_code == 0, made.output
        built.setdefault("rts27.pdf", out.read_bytes())
        assert out.read_bytes() == built["rts27.pdf"]
    assert built["pnl.pdf"].startswith(b"%PDF-")
    assert b"/Subtype /Image" in built["pnl.pdf"]  # the P&L chart
    table = pq.read_table(io.BytesIO(built["trades.parquet"]))
    assert table.column("quantity").to_pylist() == [60, 40]
    assert table.column("price").to_pylist() == ["190.0500", "190.0500"]
    pdf_only = rita.run(report, "pnl", "--account", "RITA", "--format", "pdf")
    assert pdf_only.exit_code == 2
    assert "give --out NAME" in pdf_only.output
