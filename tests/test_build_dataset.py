"""bench/build_dataset.py keeps a config's recorded preparation seconds for
the replay, except where codegen processes made its code (then the search's
thread only loaded it) or a profiler slowed the run, and marks the first
timings of each run's initial population."""

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


def _timing(x: int, t: float, **fields) -> dict:
    return {"event": "first_timing", "config": {"x": x}, "status": "ok", "samples": [0.1] * 5, "t": t, **fields}


def _initial_configs(events: list[dict]) -> list[int]:
    rows = Rows()
    add_run(rows, 0, events)
    return sorted(row["config"]["x"] for row in rows.rows.values() if row["first"][0].get("initial"))


def test_the_engines_initial_phase_is_marked_initial():
    events = [_timing(0, 1.0, phase="initial"), _timing(1, 1.1, phase="initial"), _timing(2, 1.2, phase="explore")]
    assert _initial_configs(events) == [0, 1]


def test_a_helion_searchs_first_batch_is_its_initial_population():
    # no phases: the first batch, by the gap between completions (build_dataset.BATCH_GAP_S)
    events = [_timing(0, 26.0), _timing(1, 26.1), _timing(2, 40.0), _timing(3, 40.1)]
    assert _initial_configs(events) == [0, 1]
