"""Where the data keys come from: environment, a named file, or a file made on first start."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from server.store.data_key import (
    DataKeyError,
    add_new_key,
    default_key_file,
    load_data_key,
    load_data_keys,
    open_cipher,
)


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_the_first_start_makes_a_private_key_file_and_later_starts_reuse_it(
    tmp_path: Path,
) -> None:
    first = load_data_keys(tmp_path, {})
    assert len(first) == 1
    assert len(first[0]) == 32
    path = default_key_file(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_data_keys(tmp_path, {}) == first
    assert [p.name for p in path.parent.iterdir()] == ["data.key"]  # no temporary left


def test_load_data_key_gives_the_current_key(tmp_path: Path) -> None:
    key = load_data_key(tmp_path)
    assert load_data_keys(tmp_path, {})[0] == key


def test_the_environment_wins_over_files_and_nothing_is_written(tmp_path: Path) -> None:
    new, old = os.urandom(32), os.urandom(32)
    keys = load_data_keys(tmp_path, {"STX_DATA_KEY": f"{_b64(new)},{_b64(old)}"})
    assert keys == [new, old]
    assert not (tmp_path / "keys").exists()


def test_a_named_key_file_is_read_and_never_created(tmp_path: Path) -> None:
    key = os.urandom(32)
    named = tmp_path / "elsewhere.key"
    named.write_text(f"# rotated in December\n\n{_b64(key)}\n")
    assert load_data_keys(tmp_path, {"STX_DATA_KEY_FILE": str(named)}) == [key]
    with pytest.raises(DataKeyError, match="cannot read"):
        load_data_keys(tmp_path, {"STX_DATA_KEY_FILE": str(tmp_path / "missing.key")})
    assert not (tmp_path / "keys").exists()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("not base64!", "not base64"),
        (_b64(bytes(range(16))), "16 bytes"),
        (" , ", "no data key"),
    ],
)
def test_unusable_keys_are_refused_with_the_reason(value: str, problem: str) -> None:
    with pytest.raises(DataKeyError, match=problem):
        load_data_keys(Path("/nonexistent"), {"STX_DATA_KEY": value})


def test_a_repeated_key_is_refused_as_a_configuration_error(tmp_path: Path) -> None:
    key = _b64(os.urandom(32))
    with pytest.raises(DataKeyError, match="repeated"):
        open_cipher(tmp_path, {"STX_DATA_KEY": f"{key},{key}"})


def test_a_new_key_goes_first_and_the_old_ones_stay(tmp_path: Path) -> None:
    old = load_data_keys(tmp_path, {})
    path = default_key_file(tmp_path)
    new = add_new_key(path)
    assert load_data_keys(tmp_path, {}) == [new, *old]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
