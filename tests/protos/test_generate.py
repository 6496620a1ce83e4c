"""`protos/generate.py --check` (run by `make check-protos`, so `make test`)
catches a vendored googleapis file that drifted from the pinned package and
TypeScript stubs that are stale (issue 16, item 8)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

GENERATE = Path(__file__).resolve().parents[2] / "protos" / "generate.py"
_spec = importlib.util.spec_from_file_location("stx_protos_generate", GENERATE)
assert _spec is not None
assert _spec.loader is not None
generate = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = generate  # dataclasses resolve annotations through it
_spec.loader.exec_module(generate)


@pytest.fixture
def vendored(tmp_path: Path) -> Path:
    """A copy of the committed googleapis files."""
    copy = tmp_path / "googleapis"
    shutil.copytree(generate.VENDOR_DIR, copy)
    return copy


def test_the_committed_googleapis_copy_is_the_pinned_package(vendored: Path) -> None:
    assert generate.check(vendored, trees=())


def test_a_drifted_googleapis_copy_fails_the_check(
    vendored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = vendored / "google" / "rpc" / "status.proto"
    status.write_text(status.read_text().replace("int32 code = 1;", "int64 code = 1;"))
    (vendored / "google" / "api" / "http.proto").unlink()
    assert not generate.check(vendored, trees=())
    err = capsys.readouterr().err
    assert "differs from the pinned googleapis-common-protos package" in err
    assert "stale:   google/rpc/status.proto" in err
    assert "missing: google/api/http.proto" in err


def test_the_check_covers_the_typescript_stubs(
    tmp_path: Path, vendored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stubs = tmp_path / "typescript"
    shutil.copytree(generate.TYPESCRIPT_OUT, stubs)
    typescript = (generate.Generated(stubs, generate.generate_typescript),)
    assert generate.check(vendored, typescript)
    orders = stubs / "stocktraderx" / "v1" / "orders.ts"
    orders.write_text(orders.read_text().replace("price: bigint;", "price: number;", 1))
    (stubs / "google" / "rpc" / "error_details.ts").unlink()
    assert not generate.check(vendored, typescript)
    err = capsys.readouterr().err
    assert "is out of date with the .proto files" in err
    assert "stale:   stocktraderx/v1/orders.ts" in err
    assert "missing: google/rpc/error_details.ts" in err
