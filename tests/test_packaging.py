"""The package metadata installs without setuptools' deprecation warnings
(issue 16: a license written as a table printed one twice on every install)."""

from __future__ import annotations

import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_the_license_is_an_spdx_expression_with_a_setuptools_that_reads_it() -> None:
    project = tomllib.loads(PYPROJECT.read_text())
    assert project["project"]["license"] == "Apache-2.0"
    # PEP 639 license expressions need setuptools 77 or later.
    assert "setuptools>=77" in project["build-system"]["requires"]
