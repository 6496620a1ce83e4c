"""The ``stx`` command.

The server package is the composition root, so the command lives here: it
can reach the engine benchmarks and (later) the server itself, while the
client commands it mounts use only the generated API. Each command imports
what it runs when it runs: the store, the benchmarks and the server weigh
50 MB and most of a second, which neither ``stx --help`` nor the engine's
memory benchmark should carry.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from clients.cli import COMMANDS as CLIENT_COMMANDS
from clients.feed import feed
from server.analytics_cli import analytics
from server.auth.access import ROLES_BY_NAME
from server.config import ConfigError, Settings
from server.config import load as load_settings
from server.datadir import PRIVATE_UMASK
from server.journal_cli import journal
from server.processes.child import OrphanError, follow_supervisor
from server.processes.roles import ROLES

if TYPE_CHECKING:
    from server.bench.engine_bench import EngineFigures


@click.group()
@click.version_option(package_name="stocktraderx")
def main() -> None:
    """StockTraderX: a gRPC-first, low-latency stock exchange."""
    # A process started by another of ours (a role by the supervisor, the
    # simulator by the gateway) dies with its parent, whatever it runs.
    try:
        follow_supervisor()
    except OrphanError as error:
        raise SystemExit(f"stx: {error}") from None


for client_command in CLIENT_COMMANDS:
    main.add_command(client_command)
main.add_command(feed)
main.add_command(journal)
main.add_command(analytics)


def _settings(config_path: Path | None, data_dir: Path | None) -> Settings:
    """The configuration the server would use, with the data directory given."""
    try:
        settings = load_settings(config_path)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    return settings if data_dir is None else replace(settings, data_dir=data_dir)


@main.group()
def admin() -> None:
    """Administration of the exchange's own data (run next to `stx serve`)."""
    # What it creates in the data directory (the store, first of all, when
    # it runs before the first `stx serve`) is private, as the server's is.
    os.umask(PRIVATE_UMASK)


@admin.command("create-user")
@click.argument("username")
@click.option("--email", required=True)
@click.option(
    "--role",
    "roles",
    type=click.Choice(sorted(ROLES_BY_NAME)),
    multiple=True,
    default=("admin",),
    show_default=True,
)
@click.password_option(envvar="STX_PASSWORD", help="Prompted for unless STX_PASSWORD is set.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path))
def create_user(
    username: str,
    email: str,
    roles: tuple[str, ...],
    password: str,
    config_path: Path | None,
    data_dir: Path | None,
) -> None:
    """Create a user directly in the store: how the first administrator is made."""
    from server import admin_tools  # noqa: PLC0415 - the store loads only for admin

    settings = _settings(config_path, data_dir)
    numbers = tuple(ROLES_BY_NAME[role] for role in roles)
    try:
        user = asyncio.run(admin_tools.create_user(settings, username, email, password, numbers))
    except admin_tools.AdminError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created {user.username} ({', '.join(roles)}), account {user.account_ids[0]}")


@admin.command("add-account")
@click.argument("username")
@click.argument("account_id")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path))
def add_account(
    username: str, account_id: str, config_path: Path | None, data_dir: Path | None
) -> None:
    """Give a user another trading account (it shows in their next sign-in)."""
    from server import admin_tools  # noqa: PLC0415 - the store loads only for admin

    settings = _settings(config_path, data_dir)
    try:
        user = asyncio.run(admin_tools.add_account(settings, username, account_id))
    except admin_tools.AdminError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{user.username} owns {', '.join(user.account_ids)}")


@admin.command("rotate-data-key")
@click.option(
    "--no-new-key",
    is_flag=True,
    help="Only re-seal under the current key (you put a new key first in "
    "STX_DATA_KEY or STX_DATA_KEY_FILE yourself).",
)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path))
def rotate_data_key(no_new_key: bool, config_path: Path | None, data_dir: Path | None) -> None:
    """Seal personal data under a new data key (stop the exchange first)."""
    from server import admin_tools  # noqa: PLC0415 - the store loads only for admin

    settings = _settings(config_path, data_dir)
    try:
        key, count = asyncio.run(admin_tools.rotate_data_key(settings, new_key=not no_new_key))
    except admin_tools.AdminError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"data key {key} is current; {count:,} rows re-sealed under it")


@main.group()
def audit() -> None:
    """The tamper-evident audit logs."""


@audit.command("verify")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path))
def audit_verify(config_path: Path | None, data_dir: Path | None) -> None:
    """Check every entry's hash and link; exit 1 at the first that does not hold."""
    from server import admin_tools  # noqa: PLC0415 - the store loads only for admin

    settings = _settings(config_path, data_dir)
    broken = False
    for log, checked, problem in asyncio.run(admin_tools.verify_audit(settings)):
        if problem is None:
            click.echo(f"{log}: {checked:,} entries, chain intact")
        else:
            broken = True
            click.echo(f"{log}: BROKEN after {checked:,} good entries: {problem}")
    if broken:
        raise SystemExit(1)


@main.group()
def bench() -> None:
    """Benchmarks; figures are recorded in docs/performance.md."""


@bench.command("engine")
@click.option("--commands", default=1_000_000, show_default=True, help="Commands to replay.")
@click.option("--seed", default=1, show_default=True, help="Seed of the order flow.")
@click.option(
    "--resting",
    type=click.IntRange(min=1),
    default=None,
    help="Instead: rest this many orders and report memory per order.",
)
@click.option(
    "--controls", is_flag=True,
    help="Every risk control on: limits, volatility bands, circuit breaker.",
)  # fmt: skip
@click.option(
    "--pure", is_flag=True,
    help="Also measure the pure-Python build (in a child process) and the ratio.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_engine(
    commands: int, seed: int, resting: int | None, controls: bool, pure: bool, as_json: bool
) -> None:
    """Matching engine throughput and latency on a mixed, seeded order flow,
    in the build installed (compiled with mypyc, or pure Python)."""
    from server.bench import engine_bench  # noqa: PLC0415

    if commands < 1:
        raise click.BadParameter("must be at least 1", param_hint="--commands")
    if resting is not None:
        runs = [engine_bench.measure_resting(resting)]
        if pure:
            runs.append(engine_bench.measure_resting(resting, pure=True))
        for figures in runs:
            if as_json:
                click.echo(json.dumps(figures))
            else:
                for name, value in figures.items():
                    click.echo(f"{name:>28}: {value:,}" if not isinstance(value, str) else value)
        return
    if not as_json:
        click.echo(f"generating {commands:,} commands (seed {seed}) ...", err=True)
    result = engine_bench.measure(commands, seed, controls=controls)
    if not pure:
        _print_engine_figures(result, as_json)
        return
    baseline = engine_bench.measure_pure(commands, seed, controls=controls)
    speedup = round(result.commands_per_sec / baseline.commands_per_sec, 2)
    if as_json:
        click.echo(json.dumps({**result.as_json(), "pure": baseline.as_json(), "speedup": speedup}))
        return
    _print_engine_figures(result, as_json)
    _print_engine_figures(baseline, as_json)
    click.echo(f"speedup       {speedup:>12.2f}x")


def _print_engine_figures(result: EngineFigures, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result.as_json()))
        return
    click.echo(f"build         {result.build:>12}")
    click.echo(f"commands      {result.commands:>12,}")
    click.echo(f"events        {result.events:>12,}")
    click.echo(f"commands/s    {result.commands_per_sec:>12,.0f}")
    click.echo(f"latency p50   {result.p50_ns / 1000:>12.2f} us")
    click.echo(f"latency p99   {result.p99_ns / 1000:>12.2f} us")
    click.echo(f"latency p99.9 {result.p999_ns / 1000:>12.2f} us")
    click.echo(f"latency max   {result.max_ns / 1000:>12.2f} us")


@bench.command("transport")
@click.option(
    "--rate", type=click.FloatRange(min=1), default=5000, show_default=True,
    help="Messages per second offered on one stream.",
)  # fmt: skip
@click.option("--duration", type=click.FloatRange(min=0.1), default=8, show_default=True)
@click.option("--tls", is_flag=True, help="Over TLS, with a throwaway local CA.")
def bench_transport(rate: float, duration: float, tls: bool) -> None:
    """Bare gRPC echo on one stream: the floor under order-entry latency."""
    from server.bench import transport_bench  # noqa: PLC0415

    click.echo(json.dumps(transport_bench.measure(rate, duration, tls)))


@bench.command("ipc")
@click.option("--rate", type=click.FloatRange(min=1), default=5000, show_default=True,
              help="Commands (and committed batches) a second in the one-by-one runs.")  # fmt: skip
@click.option("--duration", type=click.FloatRange(min=0.2), default=2, show_default=True,
              help="Seconds of each run (every candidate runs twice per repeat).")  # fmt: skip
@click.option("--consumers", type=click.IntRange(1, 16), default=3, show_default=True)
@click.option("--repeats", type=click.IntRange(1, 20), default=1, show_default=True,
              help="Interleaved rounds of every candidate; figures are medians.")  # fmt: skip
@click.option("--slow", is_flag=True, help="The first consumer sleeps after each receipt.")
@click.option("--only", multiple=True, help="Run only this transport (repeatable), e.g. uds.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_ipc(
    rate: float,
    duration: float,
    consumers: int,
    repeats: int,
    slow: bool,
    only: tuple[str, ...],
    as_json: bool,
) -> None:
    """Transports for the process split: gateway <-> core, core -> consumers."""
    from server.bench import ipc_bench  # noqa: PLC0415

    try:
        figures = ipc_bench.measure(rate, duration, consumers, repeats, slow, frozenset(only))
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--only") from None
    if as_json:
        click.echo(json.dumps(figures))
        return
    for line in ipc_bench.table(figures):
        click.echo(line)


@bench.command("feed")
@click.option("--rate", type=click.FloatRange(min=1), default=10_000, show_default=True,
              help="Level 2 updates per second to publish.")  # fmt: skip
@click.option("--duration", type=click.FloatRange(min=0.5), default=10, show_default=True)
@click.option("--subscribers", type=click.IntRange(1, 200), default=20, show_default=True)
@click.option("--curve", is_flag=True, help="Encrypted with CurveZMQ, as `stx serve` runs it.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_feed(rate: float, duration: float, subscribers: int, curve: bool, as_json: bool) -> None:
    """ZeroMQ feed: order acceptance to subscriber, N subscriber processes."""
    from server.bench import feed_bench  # noqa: PLC0415

    figures = feed_bench.measure(rate, duration, subscribers, curve)
    if as_json:
        click.echo(json.dumps(figures))
        return
    for name, value in figures.items():
        click.echo(f"{name:>16}: {value:,}")


@bench.command("rest")
@click.option("--concurrency", type=click.IntRange(1, 1000), default=32, show_default=True)
@click.option("--duration", type=click.FloatRange(min=0.5), default=10, show_default=True)
@click.option(
    "--via",
    type=click.Choice(["inside", "separate", "grpc"]),
    default="inside",
    show_default=True,
    help="The bridge inside `stx serve`, `stx rest` in a process of its own, or no bridge: "
    "the same orders as gRPC calls (what the bridge works under).",
)
def bench_rest(concurrency: int, duration: float, via: str) -> None:
    """POST /orders through the REST bridge of a fresh `stx serve`: requests/s, latency."""
    from server.bench import rest_bench  # noqa: PLC0415 - loaded only for this bench

    click.echo(json.dumps(rest_bench.measure(concurrency, duration, via)))


@bench.command("server")
@click.option("--rate", type=click.FloatRange(min=1), default=3000, show_default=True,
              help="Orders per second offered, over all streams.")  # fmt: skip
@click.option("--duration", type=click.FloatRange(min=0.5), default=5, show_default=True)
@click.option("--streams", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--batch", type=click.IntRange(1, 1000), default=1, show_default=True,
              help="Orders per message.")  # fmt: skip
@click.option("--cancel", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of commands that cancel a resting order.")  # fmt: skip
@click.option("--tls/--plaintext", default=True, show_default=True,
              help="The order stream over TLS (the server's default) or plaintext.")  # fmt: skip
@click.option("--baseline", metavar="REV",
              help="Also measure commit REV (e.g. HEAD~1), from a git worktree.")  # fmt: skip
@click.option("--repeat", type=click.IntRange(1, 20), default=1, show_default=True,
              help="Rounds; with --baseline the pair's order alternates.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_server(
    rate: float, duration: float, streams: int, batch: int, cancel: float, tls: bool,
    baseline: str | None, repeat: int, as_json: bool,
) -> None:  # fmt: skip
    """The order path of a fresh `stx serve` (every feature on), beside the bare
    gRPC echo in the same run; with --baseline, against another commit."""
    from server.bench import server_bench  # noqa: PLC0415 - loaded only for this bench
    from server.bench.sources import SourceError  # noqa: PLC0415

    load = server_bench.Load(rate, duration, streams, batch, cancel)
    try:
        report = server_bench.run(
            load, tls, repeat, baseline, progress=lambda step: click.echo(step, err=True)
        )
    except (server_bench.BenchError, SourceError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(report))
        return
    for line in server_bench.describe(report):
        click.echo(line)


@bench.command("fix")
@click.option("--rate", type=click.FloatRange(min=1), default=10_000, show_default=True,
              help="Orders per second offered over all sessions (then streams).")  # fmt: skip
@click.option("--duration", type=click.FloatRange(0.5, 60), default=5, show_default=True)
@click.option("--sessions", type=click.IntRange(1, 64), default=4, show_default=True,
              help="FIX sessions, one account each; as many gRPC streams.")  # fmt: skip
@click.option("--tls/--plaintext", default=False, show_default=True,
              help="The gRPC stream over TLS or, like the FIX sessions, plaintext.")  # fmt: skip
@click.option("--repeat", type=click.IntRange(1, 20), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_fix(
    rate: float, duration: float, sessions: int, tls: bool, repeat: int, as_json: bool
) -> None:
    """NewOrderSingle -> ExecutionReport(new) over FIX sessions of a fresh
    `stx serve`, then its gRPC order stream at the same rate for the p99 ratio."""
    from server.bench import fix_bench  # noqa: PLC0415 - loaded only for this bench
    from server.bench.server_bench import BenchError  # noqa: PLC0415

    try:
        report = fix_bench.run(rate, duration, sessions, tls, repeat)
    except BenchError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(report))
        return
    for line in fix_bench.describe(report):
        click.echo(line)


@bench.command("analytics")
@click.option(
    "--events", type=click.IntRange(min=100), default=10_000_000, show_default=True,
    help="Rows the simulated day writes to the store, about (turned into commands).",
)  # fmt: skip
@click.option("--seed", default=1, show_default=True, help="Seed of the order flow.")
@click.option(
    "--keep", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Work in this directory and leave the journal and the store there; a journal "
    "already there is ingested again, not simulated.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_analytics(events: int, seed: int, keep: Path | None, as_json: bool) -> None:
    """A simulated day into the analytical store (journal -> store, and the
    writes alone), then every report of its busiest account and the day."""
    from server.bench import analytics_bench  # noqa: PLC0415 - loaded only for this bench

    figures = analytics_bench.measure(analytics_bench.commands_for(events), seed=seed, keep=keep)
    if as_json:
        click.echo(json.dumps(figures))
        return
    for line in analytics_bench.describe(figures):
        click.echo(line)


@bench.command("projector")
@click.option(
    "--database-url", default="", help="The store to fill (default: a temporary SQLite file)."
)
@click.option("--commands", type=click.IntRange(min=1), default=100_000, show_default=True)
@click.option("--seed", default=1, show_default=True)
@click.option(
    "--batch-commands",
    type=click.IntRange(min=1),
    default=None,
    help="Commands per projected batch (default: the projector's own); 1 is a live trickle.",
)
def bench_projector(
    database_url: str, commands: int, seed: int, batch_commands: int | None
) -> None:
    """Projection of a journal into the store: rows (events) per second, and
    the process's CPU per command."""
    from server.bench import projector_bench  # noqa: PLC0415

    try:
        figures = projector_bench.measure(database_url, commands, seed, batch_commands)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(figures))


@main.command()
@click.argument("role", required=False, type=click.Choice(ROLES))
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML configuration (default: the demo configuration).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Journal and snapshots (default ./data).",
)
@click.option("--grpc-port", type=click.IntRange(1, 65535), help="gRPC port (default 50051).")
@click.option("--rest-port", type=click.IntRange(1, 65535), help="REST bridge (default 8080).")
@click.option("--simulate", is_flag=True, help="Also run `stx simulate` against this server.")
@click.option("--source", metavar="URL",
              help="projector, analytics: read the committed log the relay publishes "
                   "(redis://host:port/db?stream=NAME) instead of the journal files, on a "
                   "host without them ([relay] source, STX_RELAY_SOURCE).")  # fmt: skip
@click.option(
    "--primary",
    metavar="HOST:PORT",
    help="standby: the primary core's [replication] listen address to follow.",
)
def serve(
    role: str | None,
    config_path: Path | None,
    data_dir: Path | None,
    grpc_port: int | None,
    rest_port: int | None,
    simulate: bool,
    source: str | None,
    primary: str | None,
) -> None:
    """Run the exchange: every process under one supervisor, or one ROLE alone.

    Without ROLE, the core, gateway, feed, projector, surveillance and REST
    processes start in order and are restarted if they die; ^C stops them all.
    With ROLE, only that process runs (a container each): the core first, the
    others find it through <data dir>/core.sock."""
    settings = _settings(config_path, data_dir)
    if grpc_port is not None:
        settings = replace(settings, grpc_port=grpc_port)
    if rest_port is not None:
        settings = replace(settings, rest_port=rest_port)
    if simulate and role not in (None, "gateway"):
        raise click.BadParameter("only the gateway (or the whole server) runs the simulator",
                                 param_hint="--simulate")  # fmt: skip
    if source is not None:
        settings = _with_source(settings, role, source)
    if primary is not None:
        if role != "standby":
            raise click.BadParameter("only the standby follows a primary", param_hint="--primary")
        settings = replace(settings, replication=replace(settings.replication, primary=primary))
    # grpc and uvloop load only for serve
    if role is None:
        from server.processes.supervise import run_all  # noqa: PLC0415

        run_all(settings, config_path, simulate)
        return
    from server.processes.runner import run_role  # noqa: PLC0415

    run_role(role, settings, simulate)


def _with_source(settings: Settings, role: str | None, source: str) -> Settings:
    from server.committed.settings import RelayConfigError, parse_relay  # noqa: PLC0415
    from server.processes.roles import LOG_SOURCED  # noqa: PLC0415

    if role not in LOG_SOURCED:
        raise click.BadParameter(f"only {' and '.join(LOG_SOURCED)} read the committed log, "
                                 "each alone on its host", param_hint="--source")  # fmt: skip
    try:
        parsed = parse_relay({"source": source})
    except RelayConfigError as error:
        raise click.BadParameter(str(error), param_hint="--source") from None
    return replace(settings, relay=replace(settings.relay, source=parsed.source))


@main.command()
@click.option("--grpc", "target", default="127.0.0.1:50051", show_default=True,
              help="The exchange's gRPC address.")  # fmt: skip
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on (0.0.0.0: every interface).")  # fmt: skip
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML configuration: its [tls] section.")  # fmt: skip
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where the local CA is (default ./data).")  # fmt: skip
def rest(
    target: str, port: int, host: str, config_path: Path | None, data_dir: Path | None
) -> None:
    """Run the REST bridge as its own process, in front of a gRPC server.

    With TLS on (STX_TLS_ENABLED, [tls]) it serves HTTPS and calls the gRPC
    server over mutual TLS, with the configured certificates or the local CA's."""
    from server.gateways.rest.standalone import run_bridge  # noqa: PLC0415 - aiohttp only here
    from server.logs.setup import configure_logging  # noqa: PLC0415
    from server.transport.credentials import TlsFileError, resolve  # noqa: PLC0415
    from server.transport.listen import host_port, reason_of  # noqa: PLC0415

    settings = _settings(config_path, data_dir)
    configure_logging(settings.log_format, settings.log_level, "rest")
    try:
        tls = resolve(settings.tls, Path(settings.data_dir)) if settings.tls.enabled else None
    except TlsFileError as error:
        raise click.ClickException(str(error)) from None
    try:
        run_bridge(target, host, port, tls)
    except OSError as error:
        click.echo(f"Error: cannot listen on {host_port(host, port)}: {reason_of(error)}; "
                   "choose another port with --port", err=True)  # fmt: skip
        raise SystemExit(2) from None


@main.command()
def demo() -> None:
    """A trading day on the engine: pre-open, opening auction, continuous, close."""
    from server.demo import run_demo  # noqa: PLC0415

    run_demo(click.echo)


# `python -m server.cli` is how `stx serve --simulate` starts `stx simulate`.
if __name__ == "__main__":
    main()
