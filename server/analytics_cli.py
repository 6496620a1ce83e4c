"""``stx analytics rebuild``: the analytical store made again from the
journal, and exported as Parquet (docs/decisions/0007).

It builds into a file of its own (``--store``), never the running analytics
process's (DuckDB lets one process hold a file), so it runs beside a live
exchange: the Parquet export of everything journaled so far, for any other
engine. To replace the live store, stop the ``analytics`` role, point
``--store`` at ``DATA/analytics.duckdb`` (or delete it and let the role
rebuild it at its start).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

_DATA_DIR = click.option(
    "--data-dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path("data"), show_default=True, help="The exchange's data directory (its journal).",
)  # fmt: skip


@click.group()
def analytics() -> None:
    """The analytical store: rebuild it from the journal, export it as Parquet."""


@analytics.command()
@_DATA_DIR
@click.option(
    "--store", "store_path", type=click.Path(dir_okay=False, path_type=Path),
    help="The DuckDB file to build (continued if it exists). Default: a temporary one.",
)  # fmt: skip
@click.option(
    "--parquet", type=click.Path(file_okay=False, path_type=Path),
    help="Also write the facts here as Parquet, partitioned by day and symbol.",
)  # fmt: skip
def rebuild(data_dir: Path, store_path: Path | None, parquet: Path | None) -> None:
    """Replay the journal into an analytical store, and export it."""
    import duckdb  # noqa: PLC0415 - only this command needs the engine and DuckDB

    from server.consumers.analytics.follower import rebuild as build  # noqa: PLC0415
    from server.consumers.analytics.store import AnalyticsStore  # noqa: PLC0415

    if store_path is None and parquet is None:
        raise click.UsageError("give --store, --parquet or both")
    with tempfile.TemporaryDirectory() as scratch:
        path = store_path or Path(scratch) / "analytics.duckdb"
        try:
            store = AnalyticsStore.open(path)
        except duckdb.IOException as error:
            raise click.ClickException(
                f"cannot open {path}: {error} (the analytics process holds its store; "
                "build into another file, or stop the analytics role first)"
            ) from None
        try:
            position = build(store, data_dir)
            if parquet is not None:
                store.export_parquet(parquet)
        finally:
            store.close()
    click.echo(f"analytics store at journal sequence {position}" + (
        f" in {store_path}" if store_path else "") + (
        f"; Parquet in {parquet}" if parquet else ""))  # fmt: skip
