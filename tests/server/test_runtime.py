"""The process's collector policy (server/runtime.py)."""

import gc
from collections.abc import Iterator

import pytest

from server import runtime


@pytest.fixture
def restore_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    gc.enable()


@pytest.mark.usefixtures("restore_collector")
def test_settle_heap_freezes_what_lives_and_spaces_full_collections() -> None:
    survivor = [object() for _ in range(10)]
    gc.unfreeze()
    runtime.settle_heap()
    assert gc.get_freeze_count() >= len(survivor)
    assert gc.get_threshold() == (
        runtime.YOUNG_THRESHOLD,
        runtime.MIDDLE_THRESHOLD,
        runtime.FULL_THRESHOLD,
    )
    assert runtime.FULL_THRESHOLD > 10  # CPython's default would bring the long pauses back


@pytest.mark.usefixtures("restore_collector")
def test_a_snapshot_child_never_collects() -> None:
    runtime.quiet_child()
    assert not gc.isenabled()
