"""bench/compare.py runs each search with a Triton cache of its own: a
new folder the run's process sees, removed when it ends, so that no run
finds kernels compiled by the runs before it; Triton's compiled C helpers
(entries of .so files only) come from the machine's cache and go back to
it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from compare import cold_compile_caches, run_child  # noqa: E402


def test_each_run_compiles_into_a_new_empty_triton_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "machine"))
    shown = []
    for run in range(2):
        log = tmp_path / f"run{run}.log"
        with cold_compile_caches() as env:
            cache = Path(env["TRITON_CACHE_DIR"])
            assert cache.is_dir() and not any(cache.iterdir())
            assert env["TRITON_CACHE_DIR"] != os.environ.get("TRITON_CACHE_DIR")
            script = "import os, pathlib; d = os.environ['TRITON_CACHE_DIR']; print(d); pathlib.Path(d, 'k').touch()"
            code, _ = run_child([sys.executable, "-c", script], log, time_limit=60, env=env)
            assert code == 0 and log.read_text().strip() == str(cache)
            assert (cache / "k").exists()
        assert not cache.exists()  # removed with what the run compiled
        shown.append(cache)
    assert shown[0] != shown[1]


def test_compiled_c_helpers_are_shared_and_kernels_are_not(tmp_path, monkeypatch):
    machine = tmp_path / "machine"
    (machine / "utils").mkdir(parents=True)
    (machine / "utils" / "cuda_utils.so").write_bytes(b"so")
    (machine / "kernel").mkdir()
    (machine / "kernel" / "k.cubin").write_bytes(b"cubin")
    (machine / "kernel" / "k.json").write_text("{}")
    monkeypatch.setenv("TRITON_CACHE_DIR", str(machine))
    with cold_compile_caches() as env:
        cache = Path(env["TRITON_CACHE_DIR"])
        assert sorted(p.name for p in cache.iterdir()) == ["utils"]  # the helper, not the kernel
        (cache / "launcher").mkdir()
        (cache / "launcher" / "__triton_launcher.so").write_bytes(b"so")
        (cache / "other_kernel").mkdir()
        (cache / "other_kernel" / "o.cubin").write_bytes(b"cubin")
    assert sorted(p.name for p in machine.iterdir()) == ["kernel", "launcher", "utils"]


def test_a_runs_seconds_outside_its_search_add_up_to_its_time_to_the_result():
    from run_search import harness_seconds

    marks = dict(
        spawned=100.0,
        started=100.5,
        imported=105.0,
        made_inputs=107.0,
        constructed=107.25,
        searched=130.0,
        summarised=130.5,
    )
    steps = harness_seconds(marks)
    assert steps["imports"] == 4.5 and steps["inputs"] == 2.0 and steps["search"] == 22.75 and steps["summary"] == 0.5
    assert steps["to_result"] == sum(v for k, v in steps.items() if k != "to_result") == 30.5


def test_a_shape_sequence_tables_its_runs_before_they_are_re_timed(tmp_path):
    import json

    from shape_sequence import markdown, table

    walls = {("HybridSearch-cold", 0): 20.0, ("HybridSearch-cold", 1): 30.0, ("HybridSearch-warm", 0): 10.0}
    runs = tmp_path / "matmul_4096_fp16" / "runs"
    runs.mkdir(parents=True)
    for (label, seed), wall in walls.items():
        run = {"algorithm": "HybridSearch", "label": label, "seed": seed, "wall_s": wall, "configs_timed": 100}
        (runs / f"{label}_seed{seed}.json").write_text(json.dumps(run))
    summary = table(tmp_path, ("matmul_2048_fp16", "matmul_4096_fp16"), ["HybridSearch-cold", "HybridSearch-warm"])
    (row,) = summary["workloads"]  # the shape without runs is left out
    assert row["workload"] == "matmul_4096_fp16" and not row["retimed"]
    assert row["HybridSearch-cold"]["wall_s"] == 25.0 and row["warm_over_cold"] == 0.4
    assert row["HybridSearch-warm"]["device_gap"] is None  # not re-timed: no gap
    assert "| matmul_4096_fp16 | 25.0 / 100 / - | 10.0 / 100 / - | 0.40 |" in markdown(summary)
