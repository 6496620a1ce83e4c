"""``stx journal verify`` and ``stx journal repair``: the operator's side of
recovery's rule (see ``server.journal`` and docs/operations.md)."""

from __future__ import annotations

from pathlib import Path

import click

from server.datadir import DataDirInUseError, lock_data_dir, unlock_data_dir
from server.journal.check import examine
from server.journal.repair import RepairRefusedError, apply_repair, plan_repair

_CONFIG = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
    help="The server's TOML configuration, for its data directory.",
)  # fmt: skip
_DATA_DIR = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path),
    help="The data directory (default: the configuration's, ./data).",
)  # fmt: skip


def _directory(config_path: Path | None, data_dir: Path | None) -> Path:
    if data_dir is None:
        from server.config import ConfigError, load  # noqa: PLC0415 - only without --data-dir

        try:
            data_dir = load(config_path).data_dir
        except ConfigError as error:
            raise click.ClickException(str(error)) from None
    if not data_dir.is_dir():
        raise click.ClickException(f"{data_dir} is not a directory")
    return data_dir


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
    directory = _directory(config_path, data_dir)
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
        if not accept_loss:
            click.echo("would:")
            for line in plan.describe():
                click.echo(f"  {line}")
            click.echo("nothing changed; run again with --accept-loss to do it")
            return
        folder = apply_repair(plan)
        click.echo(f"repaired {directory}; moved aside into {folder}:")
        for line in plan.describe():
            click.echo(f"  {line}")
    finally:
        unlock_data_dir(lock)
