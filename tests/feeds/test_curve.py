"""The feed's CurveZMQ key files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import zmq

from feeds.curve import CurveKeyError, ensure_server_keys, read_key, subscriber_key


def test_the_server_key_pair_is_made_once_with_a_private_secret(tmp_path: Path) -> None:
    keys = ensure_server_keys(tmp_path / "tls")
    assert zmq.curve_public(keys.secret) == keys.public
    assert stat.S_IMODE((tmp_path / "tls" / "feed-server.secret").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "tls" / "feed-server.pub").stat().st_mode) == 0o600
    assert ensure_server_keys(tmp_path / "tls") == keys
    assert read_key(tmp_path / "tls" / "feed-server.pub") == keys.public


def test_a_bad_key_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CurveKeyError, match="cannot read the feed key"):
        read_key(tmp_path / "missing.pub")
    (tmp_path / "short.pub").write_text("abc\n")
    with pytest.raises(CurveKeyError, match="40-character Z85"):
        read_key(tmp_path / "short.pub")
    (tmp_path / "bad.pub").write_text("~" * 40)
    with pytest.raises(CurveKeyError, match="Z85"):
        read_key(tmp_path / "bad.pub")
    assert subscriber_key(tmp_path / "bad.pub", plaintext=True) is None
