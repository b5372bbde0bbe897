"""bench/surrogate_check.py: which configs a held-out run leaves to the surrogate."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from surrogate_check import held_out  # noqa: E402


def _dataset(tmp_path: Path) -> Path:
    meta = {"kind": "meta", "runs": [{"file": "A_seed0.jsonl"}, {"file": "B_seed0.jsonl"}]}
    rows = [
        {"kind": "config", "config": {"x": 0}, "first": [{"run": 0}]},  # only A timed it
        {"kind": "config", "config": {"x": 1}, "first": [{"run": 1}]},  # only B
        {"kind": "config", "config": {"x": 2}, "first": [{"run": 0}, {"run": 1}]},  # both
        {"kind": "config", "config": {"x": 3}, "first": []},  # re-timed only
    ]
    path = tmp_path / "w.jsonl.gz"
    with gzip.open(path, "wt") as stream:
        for line in (meta, *rows):
            stream.write(json.dumps(line) + "\n")
    return path


def test_the_configs_only_the_held_out_run_timed_are_left_to_the_surrogate(tmp_path):
    _, keep, only = held_out(_dataset(tmp_path), "A_seed0.jsonl")
    assert [r["config"]["x"] for r in only] == [0]
    assert [r["config"]["x"] for r in keep] == [1, 2, 3]


def test_an_unknown_run_is_refused_with_the_runs_there_are(tmp_path):
    with pytest.raises(SystemExit, match="A_seed0.jsonl, B_seed0.jsonl"):
        held_out(_dataset(tmp_path), "C_seed0.jsonl")
