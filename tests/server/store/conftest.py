"""Every storage test runs against both backends: SQLite and a real PostgreSQL."""

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'stx.db'}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url
