"""settle_gc: start-up objects frozen, young threshold raised, cycles still collected."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from config.runtime import OLDER_THRESHOLDS, YOUNG_THRESHOLD, settle_gc


@pytest.fixture
def restore_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("restore_gc")
def test_settle_gc_freezes_and_spaces_collections() -> None:
    kept = [object() for _ in range(10)]
    settle_gc()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
    assert gc.get_freeze_count() >= len(kept)


@pytest.mark.usefixtures("restore_gc")
def test_cycles_made_after_settling_are_still_collected() -> None:
    settle_gc()

    class Node:
        other: object

    a, b = Node(), Node()
    a.other, b.other = b, a
    del a, b
    assert gc.collect() >= 2
