"""Settings of an in-process exchange for tests: every port picked free."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from server.config import Settings, load


def local_settings(data_dir: Path, **overrides: Any) -> Settings:
    """The demo configuration in ``data_dir`` on free loopback ports."""
    return replace(
        load(environ={}),
        data_dir=data_dir,
        grpc_port=0,
        rest_port=0,
        feed_port=0,
        snapshot_port=0,
        **overrides,
    )
