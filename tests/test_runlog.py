"""bench/runlog.py: a run's trace reads the same plain or compressed, a
trace cut off while written keeps its complete events, and each run is
listed once whichever form it has."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from runlog import compress_trace, read_trace, run_stem, trace_files, trace_of  # noqa: E402

EVENTS = [{"event": "header", "n": 1}, {"event": "first_timing", "perf_ms": 0.5}]


def _write_plain(stem: Path, text: str) -> Path:
    path = stem.with_name(stem.name + ".jsonl")
    path.write_text(text)
    return path


def test_a_compressed_trace_reads_as_the_plain_one_and_replaces_it(tmp_path):
    stem = tmp_path / "HybridSearch_seed0"
    plain = _write_plain(stem, "".join(json.dumps(e) + "\n" for e in EVENTS) + '{"event": "cut')
    before = read_trace(plain)
    compress_trace(stem)
    assert not plain.exists() and trace_of(stem).name == "HybridSearch_seed0.jsonl.gz"
    assert read_trace(trace_of(stem)) == before == EVENTS
    first = trace_of(stem).read_bytes()
    _write_plain(stem, "".join(json.dumps(e) + "\n" for e in EVENTS) + '{"event": "cut')
    compress_trace(stem)
    assert trace_of(stem).read_bytes() == first  # no time stamp: same trace, same bytes
    compress_trace(stem)  # nothing plain left: a no-op
    assert trace_of(stem).exists()


def test_a_truncated_gzip_keeps_its_complete_events(tmp_path):
    path = tmp_path / "R_seed0.jsonl.gz"
    data = gzip.compress("".join(json.dumps({"event": "e", "i": i}) + "\n" for i in range(2000)).encode())
    path.write_bytes(data[: len(data) // 2])
    events = read_trace(path)
    assert 0 < len(events) < 2000
    assert [e["i"] for e in events] == list(range(len(events)))


def test_each_run_is_listed_once_preferring_its_compressed_trace(tmp_path):
    _write_plain(tmp_path / "A_seed0", "{}\n")
    _write_plain(tmp_path / "B_seed0", "{}\n")
    compress_trace(tmp_path / "B_seed0")
    _write_plain(tmp_path / "B_seed0", "{}\n")  # e.g. a rerun still being written
    (tmp_path / "A_seed0.json").write_text("{}")
    assert [p.name for p in trace_files(tmp_path)] == ["A_seed0.jsonl", "B_seed0.jsonl.gz"]
    assert run_stem(tmp_path / "B_seed0.jsonl.gz") == tmp_path / "B_seed0"
    with pytest.raises(ValueError, match="not a trace file"):
        run_stem(tmp_path / "A_seed0.json")
