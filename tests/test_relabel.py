"""bench/relabel.py moves a label's runs and their re-timing entries, and
leaves other labels (one that only starts the same) alone."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from relabel import relabel_workload  # noqa: E402


def test_a_labels_runs_and_retiming_move_and_no_other_label_does(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    for stem in ("HybridSearch_seed0", "HybridSearch_seed1", "HybridSearch-cg4_seed0"):
        (runs / f"{stem}.json").write_text(json.dumps({"algorithm": "HybridSearch", "seed": int(stem[-1])}))
        (runs / f"{stem}.jsonl").write_text("{}\n")
    retime = {"median_ms": {"HybridSearch seed 0": 1.0, "HybridSearch-cg4 seed 0": 2.0, "HybridSearch seed 1": 3.0}}
    (tmp_path / "retime.json").write_text(json.dumps(retime))

    assert relabel_workload(tmp_path, "HybridSearch", "HybridSearch-abc", "as of abc") == 2

    names = sorted(p.name for p in runs.iterdir())
    assert names == sorted(
        f"{stem}.{ext}"
        for stem in ("HybridSearch-abc_seed0", "HybridSearch-abc_seed1", "HybridSearch-cg4_seed0")
        for ext in ("json", "jsonl")
    )
    moved = json.loads((runs / "HybridSearch-abc_seed1.json").read_text())
    assert moved["label"] == "HybridSearch-abc" and moved["label_note"] == "as of abc" and moved["seed"] == 1
    assert "label" not in json.loads((runs / "HybridSearch-cg4_seed0.json").read_text())
    assert json.loads((tmp_path / "retime.json").read_text())["median_ms"] == {
        "HybridSearch-abc seed 0": 1.0,
        "HybridSearch-cg4 seed 0": 2.0,
        "HybridSearch-abc seed 1": 3.0,
    }
    # a second move onto existing files is refused
    for ext in ("json", "jsonl"):
        (runs / f"HybridSearch_seed0.{ext}").write_text("{}")
    with pytest.raises(SystemExit, match="exists"):
        relabel_workload(tmp_path, "HybridSearch", "HybridSearch-abc", "as of abc")
