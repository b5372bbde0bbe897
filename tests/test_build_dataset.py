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


def test_code_loading_is_calibrated_only_on_runs_whose_processes_served_nearly_every_config():
    """A config whose codegen process failed is generated on the search's
    thread and counted as code_load: a run whose pool gave up early (the
    H200 runs at 4a669eb) would make loading look 10-100x dearer."""
    from build_dataset import SERVED_FOR_CODE_LOAD, _main_thread_costs

    events = [{"event": "first_timing", "status": "ok"}] * 100

    def run(served: int, load_s: float) -> dict:
        seconds = {"code_load": load_s, "compile_start": 2.0}
        counters = {"waiting_seconds": {}, "seconds": seconds, "codegen_offloaded": served}
        return {"wall_s": 10.0, "counters": counters}

    full, early = run(100, 1.0), run(int(100 * SERVED_FOR_CODE_LOAD) - 10, 8.0)
    assert _main_thread_costs([full, early], [events, events], 0.0)["code_load_s"] == pytest.approx(0.01)
    assert "code_load_s" not in _main_thread_costs([early], [events], 0.0)
