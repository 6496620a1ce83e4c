"""The data directory: private, and one server at a time."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from server.datadir import DataDirInUseError, lock_data_dir, prepare_data_dir, unlock_data_dir


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_data_directory_is_created_private(tmp_path: Path) -> None:
    directory = tmp_path / "a" / "data"
    prepare_data_dir(directory)
    assert _mode(directory) == 0o700


def test_an_existing_loose_directory_and_its_files_are_tightened_with_a_notice(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "data"
    directory.mkdir()
    directory.chmod(0o755)
    segment = directory / "journal-00000000000000000001.log"
    segment.write_bytes(b"STXJ\x01\x00")
    segment.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="server.datadir"):
        prepare_data_dir(directory)
    assert _mode(directory) == 0o700
    assert _mode(segment) == 0o600
    assert "was 0755; now 0700" in caplog.text
    assert "made 1 files" in caplog.text
    caplog.clear()
    prepare_data_dir(directory)
    assert not caplog.records  # nothing more to say once private


def test_a_second_lock_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    held = lock_data_dir(tmp_path)
    try:
        holder = rf"already running .* \(process {os.getpid()} holds"
        with pytest.raises(DataDirInUseError, match=holder):
            lock_data_dir(tmp_path)
    finally:
        unlock_data_dir(held)
    unlock_data_dir(lock_data_dir(tmp_path))  # free again once released
    assert _mode(tmp_path / "stx.lock") == 0o600


def test_an_admin_command_before_the_first_start_makes_a_private_store(tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "admin", "create-user", "ann",
         "--email", "ann@example.com", "--data-dir", str(data)],
        env={**os.environ, "STX_PASSWORD": "correct horse battery"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    made = [path for path in data.rglob("*") if path.is_file()]
    assert data / "stx.db" in made
    assert {path.name: _mode(path) for path in made} == {path.name: 0o600 for path in made}
