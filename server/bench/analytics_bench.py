"""``stx bench analytics``: a simulated trading day turned into the analytical
store, and every report of one account and that day read back from it
(issue 22's benchmark; docs/performance.md, "Analytics store").

1. **The day.** The engine benchmark's order flow (``workload.OrderFlow``:
   eight symbols, fifty accounts, passive orders, cancels, replaces and
   marketable orders) is sequenced by a real ``ExchangeCore`` into a journal,
   every command with a client id and a sender (``Origin``) as a gateway
   would journal them, the timestamps spread evenly over one UTC day. Not
   timed: it stands for the exchange's day.
2. **Ingest**, journal to store end to end (``follower.rebuild``: reading
   and decoding the journal, the shadow engine and registry, the facts, the
   Arrow tables, DuckDB), into a new store file. Within it the writes are
   timed apart (``TimedStore``): the Arrow conversion and DuckDB's insert,
   on the writer thread beside the replay (so waiting for the GIL counts).
   Then **DuckDB's write alone**: the stored facts read back as Arrow
   tables, batch by batch, and inserted into another new store, only the
   inserts timed.
3. **Reports** of the busiest account and the day, each timed on its own
   (the first call, with nothing cached but what the ingest left).

Wall-clock figures on a shared machine say as much about the neighbours as
about the ingest, so its CPU time (the process's, every thread) is given
beside them.

An **event** is a row written to the store: an order event (execution
report), a trade or a quote. Commands are journal records.
"""

from __future__ import annotations

import datetime
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from matching import (
    AddInstrument,
    CancelOrder,
    Command,
    Engine,
    Event,
    NewOrder,
    ReplaceOrder,
    TradingPhase,
)
from server.bench.workload import OrderFlow, instruments
from server.consumers.analytics import compliance, reports
from server.consumers.analytics.facts import DAY_NANOS, Facts
from server.consumers.analytics.follower import REBUILD_BATCH_COMMANDS, rebuild
from server.consumers.analytics.store import AnalyticsStore
from server.journal import Durability
from server.journal.codec import Origin, encode
from server.journal.files import list_segments
from server.journal.writer import JournalWriter

DAY = datetime.date(2026, 12, 7)
"""The simulated day (UTC)."""
_DAY_START = (DAY - datetime.date(1970, 1, 1)).days * DAY_NANOS
EVENTS_PER_COMMAND = 2.02
"""Rows the flow writes per command, measured (``stx bench analytics``
reports the real figure): ``--events`` is turned into commands with it."""
_FLUSH_EVERY = 2_000
"""Commands between writes of the journal's buffer."""
PAGE = 1_000
"""Rows per page of the paged reports (the API's default)."""


def simulate_day(directory: Path, commands: int, seed: int = 1) -> None:
    """A journal of ``commands`` commands of one trading day in ``directory``:
    what the core journals, the instruments' listing first, written by the
    journal's own writer from an engine driven directly. Through a whole
    ``ExchangeCore`` (registry, market data, publishing) the same day took
    about four times as long, a bench's hour on this machine for 10 million
    events."""
    engine = Engine()
    writer = JournalWriter(directory, durability=Durability.NONE)
    sequence = 0

    def submit(command: Command, client_id: str = "", origin: Origin | None = None) -> list[Event]:
        nonlocal sequence
        sequence += 1
        writer.append(sequence, encode(command, client_id, origin))
        return engine.process(command)

    try:
        for instrument in instruments():
            submit(AddInstrument(_DAY_START, instrument, TradingPhase.CONTINUOUS))
        flow = OrderFlow(engine, seed)
        step = max(1, (DAY_NANOS - 1) // max(commands, 1))
        for index in range(commands):
            command = flow.next_command()._replace(timestamp=_DAY_START + index * step)
            # The flow sends new orders, cancels and replaces, each of an account.
            assert isinstance(command, NewOrder | CancelOrder | ReplaceOrder)
            origin = Origin(f"user-{command.account}", "10.0.0.7:40000", "grpc")
            flow.observe(submit(command, f"c{index}", origin))
            if index % _FLUSH_EVERY == _FLUSH_EVERY - 1:
                writer.flush()
    finally:
        writer.close_sync()


class TimedStore(AnalyticsStore):
    """The store, counting what its writes took apart from the replay: the
    facts' Arrow tables and DuckDB's insert of them."""

    def __init__(
        self, store: AnalyticsStore, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        super().__init__(store.connection)
        self.arrow_seconds = 0.0
        self.insert_seconds = 0.0
        self.rows = 0
        self.batches = 0
        self._clock = clock

    def write(self, facts: Facts) -> bool:
        began = self._clock()
        tables = self.tables(facts)
        converted = self._clock()
        written = self.insert(tables, facts.last_sequence)
        self.arrow_seconds += converted - began
        self.insert_seconds += self._clock() - converted
        self.rows += facts.rows
        self.batches += 1
        return written


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = call()
    return (time.perf_counter() - began) * 1000, result


def report_times(store: AnalyticsStore, account: str, day: datetime.date) -> dict[str, float]:
    """Milliseconds each report of ``account`` and ``day`` took, first call."""
    reader = store.reader()
    calls: dict[str, Callable[[], Any]] = {
        "trade_report": lambda: reports.trade_report(reader, account, day, "", PAGE, 0),
        "profit_and_loss": lambda: reports.profit_and_loss(reader, account, day),
        "order_statistics": lambda: reports.order_statistics(reader, account, day),
        "market_statistics": lambda: reports.market_statistics(reader, day, ""),
        "order_events": lambda: reports.order_events(reader, day, account, PAGE, (0, -1)),
        "transaction_reports": lambda: compliance.transaction_reports(
            reader, day, account, PAGE, (0, -1)
        ),
        "clock_synchronisation": lambda: compliance.clock_synchronisation(reader, day),
        "execution_quality": lambda: compliance.execution_quality(reader, day, ""),
    }
    return {name: round(_timed(call)[0], 1) for name, call in calls.items()}


def insert_alone(
    store: AnalyticsStore, target: AnalyticsStore, commands: int
) -> tuple[float, float]:
    """Seconds ``target`` took to insert ``store``'s facts again, in batches
    of ``commands`` commands as Arrow tables read back beforehand: DuckDB's
    write of facts already built, with nothing beside it. Wall and CPU
    seconds (the process's, DuckDB's threads included)."""
    reader = store.reader()
    last = store.position()
    took = cpu = 0.0
    for first in range(1, last + 1, commands):
        end = min(first + commands - 1, last)
        events, trades, quotes, latencies = (
            reader.sql(
                f"SELECT * FROM {table} WHERE sequence BETWEEN $1 AND $2 ORDER BY ALL",
                params=[first, end],
            ).to_arrow_table()
            for table in ("order_events", "trades", "quotes", "latencies")
        )
        began, used = time.perf_counter(), time.process_time()
        target.insert((events, trades, quotes, latencies), end)
        took += time.perf_counter() - began
        cpu += time.process_time() - used
    return took, cpu


def _count(store: AnalyticsStore, query: str) -> Any:
    row = store.reader().execute(query).fetchone()
    assert row is not None  # an aggregate always answers
    return row[0]


def measure(commands: int, *, seed: int = 1, keep: Path | None = None) -> dict[str, Any]:
    """Simulate a day of ``commands`` commands, ingest it, run the reports;
    the figures. ``keep``: work there and leave the journal and the store;
    a journal already there is ingested again rather than simulated."""
    where = keep or Path(tempfile.mkdtemp(prefix="stx-analytics-bench-"))
    journal = where / "journal"
    try:
        began = time.perf_counter()
        if not list_segments(journal):
            simulate_day(journal, commands, seed)
        simulated = time.perf_counter() - began
        path = where / "analytics.duckdb"
        path.unlink(missing_ok=True)
        store = TimedStore(AnalyticsStore.open(path))
        began, cpu = time.perf_counter(), time.process_time()
        last = rebuild(store, journal)
        ingest, cpu = time.perf_counter() - began, time.process_time() - cpu
        busiest = _count(
            store,
            "SELECT account_id FROM order_events GROUP BY account_id "
            "ORDER BY count(*) DESC, account_id LIMIT 1",
        )
        tables = {
            table: int(_count(store, f"SELECT count(*) FROM {table}"))
            for table in ("order_events", "trades", "quotes")
        }
        account_events = int(
            _count(store, f"SELECT count(*) FROM order_events WHERE account_id = '{busiest}'")
        )
        times = report_times(store, str(busiest), DAY)
        again = where / "insert-alone.duckdb"
        again.unlink(missing_ok=True)
        target = AnalyticsStore.open(again)
        inserts, inserts_cpu = insert_alone(store, target, REBUILD_BATCH_COMMANDS)
        target.close()
        again.unlink()
        store.close()
        events = sum(tables.values())
        write = store.arrow_seconds + store.insert_seconds
        return {
            "commands": last,
            "events": events,
            "tables": tables,
            "simulate_seconds": round(simulated, 2),
            "ingest_seconds": round(ingest, 2),
            "ingest_events_per_sec": round(events / ingest),
            "ingest_commands_per_sec": round(last / ingest),
            "ingest_cpu_seconds": round(cpu, 2),
            "ingest_events_per_cpu_sec": round(events / cpu),
            "replay_seconds": round(ingest - write, 2),
            "arrow_seconds": round(store.arrow_seconds, 2),
            "insert_seconds": round(store.insert_seconds, 2),
            "write_events_per_sec": round(events / write) if write else 0,
            "insert_events_per_sec": (
                round(events / store.insert_seconds) if store.insert_seconds else 0
            ),
            "insert_alone_seconds": round(inserts, 2),
            "insert_alone_events_per_sec": round(events / inserts) if inserts else 0,
            "insert_alone_cpu_seconds": round(inserts_cpu, 2),
            "insert_alone_events_per_cpu_sec": round(events / inserts_cpu) if inserts_cpu else 0,
            "batches": store.batches,
            "report_account": busiest,
            "report_account_events": account_events,
            "report_day": DAY.isoformat(),
            "report_ms": times,
            "slowest_report_ms": max(times.values()),
        }
    finally:
        if keep is None:
            shutil.rmtree(where, ignore_errors=True)


def commands_for(events: int) -> int:
    return max(1, round(events / EVENTS_PER_COMMAND))


def describe(figures: dict[str, Any]) -> list[str]:
    """The figures as lines for a person."""
    tables = figures["tables"]
    lines = [
        f"day {figures['report_day']}: {figures['commands']:,} commands, "
        f"{figures['events']:,} events ({tables['order_events']:,} order events, "
        f"{tables['trades']:,} trades, {tables['quotes']:,} quotes); simulated in "
        f"{figures['simulate_seconds']:.1f} s",
        f"ingest, journal -> store: {figures['ingest_seconds']:.2f} s, "
        f"{figures['ingest_events_per_sec']:,} events/s, "
        f"{figures['ingest_commands_per_sec']:,} commands/s ({figures['batches']} batches); "
        f"{figures['ingest_cpu_seconds']:.2f} s of CPU (every thread), "
        f"{figures['ingest_events_per_cpu_sec']:,} events per CPU second",
        f"  of which the replay and facts {figures['replay_seconds']:.2f} s, Arrow tables "
        f"{figures['arrow_seconds']:.2f} s, DuckDB inserts {figures['insert_seconds']:.2f} s",
        f"writes on their thread beside the replay: {figures['write_events_per_sec']:,} "
        f"events/s (inserts {figures['insert_events_per_sec']:,} events/s)",
        f"DuckDB inserts alone (Arrow tables ready, nothing beside): "
        f"{figures['insert_alone_seconds']:.2f} s, "
        f"{figures['insert_alone_events_per_sec']:,} events/s; "
        f"{figures['insert_alone_cpu_seconds']:.2f} s of CPU, "
        f"{figures['insert_alone_events_per_cpu_sec']:,} events per CPU second",
        f"reports of {figures['report_account']} ({figures['report_account_events']:,} order "
        "events) and the day, ms:",
    ]
    lines += [f"  {name:<22} {ms:>9,.1f}" for name, ms in figures["report_ms"].items()]
    return lines
