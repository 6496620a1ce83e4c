"""``stx journal verify`` and ``stx journal repair``: the operator's side of
recovery's rule (see ``server.journal`` and docs/operations.md)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import click

from server.datadir import DataDirInUseError, lock_data_dir, unlock_data_dir
from server.journal.check import examine
from server.journal.repair import RepairRefusedError, apply_repair, plan_repair

_CONFIG = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
    help="The server's TOML configuration (its data directory and store).",
)  # fmt: skip
_DATA_DIR = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path),
    help="The data directory (default: the configuration's, ./data).",
)  # fmt: skip


def _settings(config_path: Path | None, data_dir: Path | None) -> tuple[Path, str]:
    """The data directory and the store's URL ("" for the embedded default)."""
    from server.config import ConfigError, load  # noqa: PLC0415 - a second of imports

    try:
        settings = load(config_path)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    directory = settings.data_dir if data_dir is None else data_dir
    if not directory.is_dir():
        raise click.ClickException(f"{directory} is not a directory")
    return directory, settings.database_url


def _directory(config_path: Path | None, data_dir: Path | None) -> Path:
    return _settings(config_path, data_dir)[0]


def _store_position(directory: Path, database_url: str) -> tuple[str, int] | str:
    """``(backend, position)`` of the store the server would open, or why not.
    Never creates one: the embedded default is read only if its file exists."""
    from server.store import default_url, open_store  # noqa: PLC0415 - SQLAlchemy: only here

    if not database_url and not (directory / "stx.db").exists():
        return "no store in the data directory"

    async def position() -> tuple[str, int]:
        store = await asyncio.wait_for(open_store(database_url or default_url(directory)), 15)
        try:
            return store.backend, await store.position()
        finally:
            await store.close()

    try:
        return asyncio.run(position())
    except Exception as error:  # each driver raises its own types
        return f"could not read the store's position ({type(error).__name__}: {error})"


def _store_note(directory: Path, database_url: str, new_end: int) -> str:
    found = _store_position(directory, database_url)
    if isinstance(found, str):
        return f"store: {found}"
    backend, position = found
    if position <= new_end:
        return f"store ({backend}) at sequence {position}: it catches up from the journal"
    return (
        f"store ({backend}) at sequence {position}, PAST the new end of the journal "
        f"({new_end}): the server will refuse to start until the store is restored from a "
        f"backup taken at or before sequence {new_end}"
    )


def _analytics_note(directory: Path, new_end: int) -> tuple[str, bool]:
    """What becomes of the analytics store, and whether it must be moved aside:
    it is derived from the journal alone, so one past the new end is rebuilt
    rather than restored from a backup."""
    from server.consumers.analytics.store import STORE_FILE, AnalyticsStore  # noqa: PLC0415 - DuckDB: only here

    path = directory / STORE_FILE
    if not path.exists():
        return "analytics store: none in the data directory", False
    try:
        store = AnalyticsStore.open(path)
        try:
            position = store.position()
        finally:
            store.close()
    except Exception as error:  # DuckDB raises its own types
        return (
            f"analytics store: could not read its position ({type(error).__name__}: {error})",
            False,
        )
    if position <= new_end:
        return f"analytics store at sequence {position}: it catches up from the journal", False
    return (
        f"analytics store at sequence {position}, PAST the new end of the journal "
        f"({new_end}): moved aside with the damaged bytes; the analytics process rebuilds "
        "it from the journal at its next start",
        True,
    )


@click.group()
def journal() -> None:
    """Check the journal and snapshots; give up damaged history explicitly."""


@journal.command()
@_CONFIG
@_DATA_DIR
def verify(config_path: Path | None, data_dir: Path | None) -> None:
    """Read every segment and snapshot; exit 1 if any is damaged. Changes nothing."""
    directory = _directory(config_path, data_dir)
    state = examine(directory)
    for segment in state.segments:
        click.echo(f"{segment.path.name}: {segment.describe()}")
    for snapshot in state.snapshots:
        click.echo(f"{snapshot.path.name}: {snapshot.describe()}")
    if not state.segments and not state.snapshots:
        click.echo(f"{directory}: no journal segment and no snapshot")
    if state.damaged:
        click.echo(
            f"DAMAGED. `stx journal repair --data-dir {directory}` says what a repair "
            "would move aside and lose"
        )
        raise SystemExit(1)
    click.echo("no damage: recovery starts from this data directory")


@journal.command()
@_CONFIG
@_DATA_DIR
@click.option(
    "--accept-loss", is_flag=True,
    help="Do it. Without this flag, only say what would be done and lost.",
)  # fmt: skip
def repair(config_path: Path | None, data_dir: Path | None, accept_loss: bool) -> None:
    """Truncate the journal at its first damage, moving the damaged bytes and
    everything after them into damaged-<time>/ (nothing is deleted)."""
    directory, database_url = _settings(config_path, data_dir)
    try:
        lock = lock_data_dir(directory)
    except DataDirInUseError as error:
        raise click.ClickException(f"{error}: stop it first") from None
    try:
        state = examine(directory)
        try:
            plan = plan_repair(state)
        except RepairRefusedError as error:
            raise click.ClickException(f"cannot repair: {error}") from None
        if not plan.needed:
            for line in plan.describe():
                click.echo(line)
            return
        lines = plan.describe()
        move_analytics = False
        if plan.cut is not None:
            lines.append(_store_note(directory, database_url, plan.new_end))
            note, move_analytics = _analytics_note(directory, plan.new_end)
            lines.append(note)
        if not accept_loss:
            click.echo("would:")
            for line in lines:
                click.echo(f"  {line}")
            click.echo("nothing changed; run again with --accept-loss to do it")
            return
        folder = apply_repair(plan)
        if move_analytics and folder is not None:
            for path in directory.glob("analytics.duckdb*"):
                shutil.move(path, folder / path.name)
        click.echo(f"repaired {directory}; moved aside into {folder}:")
        for line in lines:
            click.echo(f"  {line}")
    finally:
        unlock_data_dir(lock)
