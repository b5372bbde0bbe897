"""bench/build_dataset.py keeps a config's recorded preparation seconds for
the replay, except where codegen processes made its code (then the search's
thread only loaded it) or a profiler slowed the run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
pytest.importorskip("helion")
from build_dataset import Rows, add_run  # noqa: E402


def _first(**flags: bool) -> dict:
    event = {"event": "first_timing", "config": {"x": 1}, "status": "ok", "samples": [0.1] * 5, "prepare_s": 0.07}
    rows = Rows()
    add_run(rows, 0, [event], **flags)
    (row,) = rows.rows.values()
    return row["first"][0]


def test_preparation_seconds_are_kept_only_where_the_thread_generated_the_code():
    assert _first()["prepare_s"] == 0.07
    assert "prepare_s" not in _first(offloaded=True)
    assert "prepare_s" not in _first(slowed=True)
