"""`stx admin rotate-data-key`: a new data key, every row re-sealed under it."""

from __future__ import annotations

import asyncio
import base64
import os
from pathlib import Path

from click.testing import CliRunner

from server.cli import main
from server.datadir import lock_data_dir, unlock_data_dir
from server.store import default_url, open_store, schema
from server.store.data_key import load_data_keys
from server.store.field_crypto import FieldCipher, key_id

# The key and database come from the data directory alone, whatever the caller's shell says.
CLEAN = {"STX_DATA_KEY": None, "STX_DATA_KEY_FILE": None, "STX_DATABASE_URL": None}


def _stx(*arguments: str, **env: str | None) -> str:
    result = CliRunner().invoke(main, list(arguments), env={**CLEAN, **env})
    assert result.exit_code == 0, result.output
    return result.output


def _sealed_key_ids(data_dir: Path) -> set[bytes]:
    async def read() -> set[bytes]:
        store = await open_store(default_url(data_dir))
        try:
            rows = await store.rows(schema.users, ["user_id"])
        finally:
            await store.close()
        return {FieldCipher.sealed_key_id(row.email_ciphertext) for row in rows}

    return asyncio.run(read())


def test_rotation_seals_every_row_under_a_new_key_and_keeps_the_old(tmp_path: Path) -> None:
    data = str(tmp_path)
    for name in ("ann", "bob"):
        _stx("admin", "create-user", name, "--email", f"{name}@example.com",
             "--data-dir", data, STX_PASSWORD="correct horse battery")  # fmt: skip
    first = load_data_keys(tmp_path, {})
    assert _sealed_key_ids(tmp_path) == {key_id(first[0])}

    output = _stx("admin", "rotate-data-key", "--data-dir", data)
    ring = load_data_keys(tmp_path, {})
    assert ring[1:] == first
    assert output == f"data key {key_id(ring[0]).hex()} is current; 2 rows re-sealed under it\n"
    assert _sealed_key_ids(tmp_path) == {key_id(ring[0])}
    assert "chain intact" in _stx("audit", "verify", "--data-dir", data)

    # Keys from the environment: the operator adds the new one, the command re-seals.
    mine = os.urandom(32)
    env_ring = ",".join(base64.b64encode(key).decode() for key in [mine, *ring])
    refused = CliRunner().invoke(
        main,
        ["admin", "rotate-data-key", "--data-dir", data],
        env={**CLEAN, "STX_DATA_KEY": env_ring},
    )
    assert refused.exit_code == 1
    assert "--no-new-key" in refused.output
    output = _stx(
        "admin", "rotate-data-key", "--no-new-key", "--data-dir", data, STX_DATA_KEY=env_ring
    )
    assert output.endswith("2 rows re-sealed under it\n")
    assert _sealed_key_ids(tmp_path) == {key_id(mine)}


def test_a_broken_key_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["admin", "add-account", "ann", "ANN-2", "--data-dir", str(tmp_path)],
        env={**CLEAN, "STX_DATA_KEY": "c2hvcnQ="},
    )
    assert result.exit_code == 1
    assert "STX_DATA_KEY: key 1 is 5 bytes" in result.output
    assert list(tmp_path.iterdir()) == []  # refused before the store was opened or made


def test_a_key_file_that_cannot_be_rewritten_is_a_clear_error(tmp_path: Path) -> None:
    named = tmp_path / "data.key"
    named.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    before = named.read_text()
    # Where the new ring would be written first is taken (root ignores modes, not types).
    (tmp_path / f".data.key.{os.getpid()}.tmp").mkdir()
    result = CliRunner().invoke(
        main,
        ["admin", "rotate-data-key", "--data-dir", str(tmp_path / "data")],
        env={**CLEAN, "STX_DATA_KEY_FILE": str(named)},
    )
    assert result.exit_code == 1
    assert f"cannot write the new key to {named}" in result.output
    assert named.read_text() == before


def test_rotation_is_refused_while_a_server_holds_the_data_directory(tmp_path: Path) -> None:
    held = lock_data_dir(tmp_path)
    try:
        result = CliRunner().invoke(
            main, ["admin", "rotate-data-key", "--data-dir", str(tmp_path)], env=CLEAN
        )
    finally:
        unlock_data_dir(held)
    assert result.exit_code == 1
    assert "stop the server first: another server is already running" in result.output
    assert not (tmp_path / "keys").exists()
