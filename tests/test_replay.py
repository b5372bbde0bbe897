"""Replay of recorded GPU measurements (helion_hybrid.replay): the GPU's
config space on the CPU, Helion's batch and the engine's rules on the
simulated clock, the surrogate, and what datasets keep of profiled runs."""

from __future__ import annotations

import math
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from helion_hybrid import replay
from helion_hybrid.evaluation import EvaluationEngine, Observation, StragglerPolicy
from helion_hybrid.forked_pool import CUDA_CODEGEN_WORKERS
from helion_hybrid.replay import Dataset, ReplayBackend, ReplaySession, config_key

DATA = Path(__file__).resolve().parents[1] / "bench" / "data"
DATASETS = sorted(DATA.glob("*/*.jsonl.gz"))
H100 = DATA / "h100" / "matmul_1024_fp16.jsonl.gz"


# ----------------------------------------------------------------------------- the GPU's space
def _dataset_param(path: Path) -> Any:
    return pytest.param(path, id=f"{path.parent.name}/{path.name.split('.')[0]}")


@pytest.mark.parametrize("path", [_dataset_param(p) for p in DATASETS])
def test_every_recorded_config_decodes_in_the_replayed_space(path: Path) -> None:
    import helion

    dataset = Dataset.load(path)
    with replay.gpu_space(dataset.meta):
        bound, _args = replay.bind_workload(dataset)
        gen = bound.config_spec.create_config_generation(overrides=bound.settings.autotune_config_overrides or None)
        replay.check_space(gen, dataset.meta)  # the flat spec recorded on the GPU, slot for slot
        for key, measured in dataset.rows.items():
            flat = gen.flatten(helion.Config(**measured.config))
            assert len(flat) == len(dataset.meta["space"]["flat_spec"])
            assert config_key(gen.unflatten(flat)) == key  # canonical here exactly as on the GPU


def test_config_keys_newer_than_the_recording_helion_have_no_slot() -> None:
    assert replay.keys_newer_than((1, 5, 0)) == {"reduction_fusion"}  # helion 1.5.1 added it
    assert replay.keys_newer_than((1, 5, 1)) == set() and replay.keys_newer_than(None) == set()
    assert replay.recorded_helion({"space": {"versions": {"helion": "1.5.0"}}}) == (1, 5, 0)
    assert replay.recorded_helion({"space": {}, "helion": "1.6.0.dev3+g12ab"}) == (1, 6, 0)


def test_the_cpu_space_is_not_the_gpus_without_the_capability_profile() -> None:
    dataset = Dataset.load(H100)
    bound, _args = replay.bind_workload(dataset)
    gen = bound.config_spec.create_config_generation(overrides=bound.settings.autotune_config_overrides or None)
    with pytest.raises(ValueError, match="differs from the GPU's"):
        replay.check_space(gen, dataset.meta)


# ----------------------------------------------------------------------------- a tiny dataset
class FakeConfig:
    def __init__(self, **values: Any) -> None:
        self.config = values


def tiny_dataset(compile_s: dict[int, float | None], status: dict[int, str] | None = None) -> Dataset:
    """Configs ``{"x": i}`` with the given compile seconds, each timed
    once at 0.01 * (i + 1) ms in a Helion window and 5 calls."""
    status = status or {}
    rows = []
    for i, seconds in compile_s.items():
        value = 0.01 * (i + 1)
        rows.append(
            {
                "config": {"x": i},
                "retime": [],
                "rebenchmark": [],
                "device_ms": [],
                "retimed": None,
                "first": [
                    {
                        "status": status.get(i, "ok"),
                        "compile_s": seconds,
                        "check_s": 0.01,
                        "fidelity": "50 ms window",
                        "aggregate": True,
                        "values": [value],
                    },
                    {
                        "status": status.get(i, "ok"),
                        "compile_s": seconds,
                        "check_s": 0.01,
                        "fidelity": "5 reps",
                        "aggregate": False,
                        "values": [value] * 5,
                    },
                ],
            }
        )
    costs = {
        "codegen_s": 0.1,
        "window_timing_s": 0.07,
        "per_call_s": 0.001,
        "check_s": 0.01,
        "baseline_s": 0.0,
        "engine_start_s": 0.0,
        "rebench_member_s": 0.2,
        "final_rebench_member_s": 2.0,
    }
    meta = {
        "kind": "meta",
        "gpu": "test",
        "workload": "none",
        "device": "test",
        "compile_workers": 2,
        "compile_timeout_s": 5,
        "costs": costs,
        "space": {},
        "configs": len(rows),
    }
    return Dataset(meta, rows)


def test_a_helion_batch_waits_for_its_slowest_compile_and_kills_at_the_timeout() -> None:
    dataset = tiny_dataset({0: 1.0, 1: 2.0, 2: 10.0, 3: 0.5})
    session = ReplaySession(dataset, seed=0, charge_real_time=False)
    metrics = types.SimpleNamespace(
        num_configs_tested=0, num_successful_candidate_measurements=0, num_compile_failures=0
    )
    results = replay.replay_batch(session, [FakeConfig(x=i) for i in range(4)], timeout=5.0, metrics=metrics)
    assert [r.status for r in results] == ["ok", "ok", "timeout", "ok"]
    # codegen 4 x 0.1; workers: [1, then 10 killed at 5 -> 6], [2, then 0.5 -> 2.5]: barrier at 6; 3 windows
    assert session.clock.now() == pytest.approx(0.4 + 6.0 + 3 * 0.07)
    assert [r.perf for r in results if r.status == "ok"] == pytest.approx([0.01, 0.02, 0.04])
    assert metrics.num_successful_candidate_measurements == 3


def test_the_engine_kills_a_hung_compile_at_its_straggler_limit_without_blocking() -> None:
    dataset = tiny_dataset({0: 1.0, 1: None, 2: 1.0}, status={1: "timeout"})
    session = ReplaySession(dataset, seed=0, charge_real_time=False)
    engine = EvaluationEngine(ReplayBackend(session), workers=2, stragglers=StragglerPolicy(floor_s=3, ceiling_s=4))
    observations = engine.submit([(FakeConfig(x=i), None, np.zeros(1, dtype=np.int32)) for i in range(3)], 5, "t")
    while engine.in_flight:
        engine.step()
    by_index = {o.index: o for o in observations}
    assert by_index[1].status == "timeout" and by_index[1].compile_s == pytest.approx(4.0)
    assert by_index[0].ok and by_index[2].ok  # the other worker went on meanwhile
    assert by_index[2].finished_at < by_index[1].finished_at
    assert by_index[0].samples == pytest.approx([0.01] * 5)  # a recorded group of 5 calls


def test_a_wait_too_short_to_move_the_clock_still_moves_it() -> None:
    # the engine's drain waits for a deadline 1e-15 s ahead: 30 + 1e-15 == 30 in floats, which hung
    # a deterministic replay (softmax seed 9) until the backend advanced at least one ulp
    session = ReplaySession(tiny_dataset({0: 1.0}), seed=0, charge_real_time=False)
    session.clock.advance(30.0)
    ReplayBackend(session).wait([], 1e-15)
    assert session.clock.now() > 30.0


def test_a_configs_recorded_preparation_seconds_replace_the_datasets_costs() -> None:
    # config 0 records 0.5 s of code generation + compile start on the search's thread; config 1
    # records none and is charged the dataset's codegen_s + compile_start_s (0.1 + 0.05)
    dataset = tiny_dataset({0: 1.0, 1: 1.0})
    for first in dataset.rows[config_key({"x": 0})].firsts:
        first["prepare_s"] = 0.5
    dataset.costs["compile_start_s"] = 0.05
    charged = {}
    for x in (0, 1):
        session = ReplaySession(dataset, seed=0, charge_real_time=False)
        backend = ReplayBackend(session)
        obs = Observation(0, FakeConfig(x=x), np.zeros(1, dtype=np.int32), None, "t", 5)
        backend.prepare(obs)
        backend.start(obs)
        charged[x] = session.clock.now()
    assert charged == pytest.approx({0: 0.5, 1: 0.15})


def test_a_first_timing_without_compile_seconds_takes_the_configs_other_compiles() -> None:
    dataset = tiny_dataset({0: 2.0})
    dataset.rows[config_key({"x": 0})].firsts[0]["compile_s"] = None  # e.g. a profiled run's
    for seed in range(4):  # whichever recorded first timing is drawn
        assert ReplaySession(dataset, seed).answer(FakeConfig(x=0)).compile_s == 2.0


def test_a_profiled_runs_host_seconds_are_not_in_its_dataset() -> None:
    dataset = Dataset.load(DATA / "h200" / "attention_2048_bf16.jsonl.gz")
    runs = dataset.meta["runs"]
    slowed = {i for i, run in enumerate(runs) if run.get("slowed_by")}
    assert [runs[i]["label"] for i in sorted(slowed)] == ["HybridSearch-profiled"]
    firsts = [f for m in dataset.rows.values() for f in m.firsts if f["run"] in slowed]
    assert len(firsts) > 400  # its statuses and samples are kept
    assert all(f["compile_s"] is None and f["check_s"] is None and f["status"] != "timeout" for f in firsts)


def test_the_surrogates_metric_weights_a_dimension_by_the_time_it_explains() -> None:
    rng = np.random.default_rng(0)
    points = np.column_stack([rng.integers(0, 4, 400), rng.integers(0, 4, 400), rng.random(400)]).astype(float)
    log_times = 0.7 * points[:, 0] + 0.05 * rng.standard_normal(400)  # only the first column matters
    weights = replay.relevance_weights(points, log_times)
    assert weights[0] > 0.95 and weights[1] < 0.05 and weights[2] < 0.1  # the third: 16 quantile bins
    assert np.all(replay.relevance_weights(points, np.zeros(400)) == 1.0)  # no variance: nothing to tell apart


def test_on_recorded_data_the_surrogate_tells_relevant_dimensions_from_others() -> None:
    dataset = Dataset.load(H100)
    with replay.gpu_space(dataset.meta):
        search = replay.make_search(dataset, ReplaySession(dataset, 0), "PatternSearch", 0, "full")
        surrogate = replay.Surrogate(dataset, search.config_gen)
    assert surrogate.relevance.shape == (surrogate.points.shape[1],)
    assert surrogate.relevance.max() > 0.1 and np.sum(surrogate.relevance < 0.01) >= 3


def test_an_unmeasured_config_gets_the_same_surrogate_answer_in_every_replay() -> None:
    dataset = Dataset.load(H100)
    with replay.gpu_space(dataset.meta):
        search = replay.make_search(dataset, ReplaySession(dataset, 0), "PatternSearch", 0, "full")
        flat = search.config_gen.random_flat()
        flat[13] = 1  # one warp: no recorded matmul config ran with it
        config = search.config_gen.unflatten(flat)
        answers = []
        for seed in (1, 2):
            session = ReplaySession(dataset, seed)
            session.surrogate = replay.Surrogate(dataset, search.config_gen)
            answers.append(session.answer(config))
            assert session.sources == {"recorded": 0, "surrogate": 1}
    assert config_key(config) not in dataset.rows
    assert answers[0].status == answers[1].status and answers[0].centre_ms == answers[1].centre_ms


# ----------------------------------------------------------------------------- a whole replay
# (the statistical check of search quality is tests/test_replay_quality.py)
def test_a_replayed_search_runs_end_to_end_and_states_its_surrogate_share() -> None:
    result = replay.run_replay(Dataset.load(H100), "HybridSearch", 0)
    report = result["replay"]
    assert result["wall_s"] > 0 and math.isfinite(report["best_reference_ms"])
    assert 0.0 <= report["surrogate_share"] <= 1.0
    assert report["flagged"] == (report["surrogate_share"] > replay.SURROGATE_FLAG_SHARE)
    assert sum(report["answers"].values()) > 0


def test_simulated_codegen_processes_take_generation_off_the_searchs_thread() -> None:
    # codegen 0.1 s per config on 2 simulated processes, 0.01 s to load each; compiles take 1 s
    dataset = tiny_dataset({0: 1.0, 1: 1.0, 2: 1.0})
    dataset.costs.update(code_load_s=0.01, compile_start_s=0.0)
    session = ReplaySession(dataset, seed=0, charge_real_time=False)
    backend = ReplayBackend(session, codegen_workers=2)
    engine = EvaluationEngine(backend, workers=3, stragglers=StragglerPolicy())
    observations = engine.submit([(FakeConfig(x=i), None, np.zeros(1, dtype=np.int32)) for i in range(3)], 5, "t")
    while engine.in_flight:
        engine.step()
    assert all(o.ok for o in observations) and backend.codegen_offloaded == 3
    # configs 0 and 1 are generated at once, config 2 waits for a free process: it starts at 0.2 s
    starts = [o.started_at for o in observations]
    assert starts[0] == pytest.approx(0.1, abs=0.02) and starts[2] == pytest.approx(0.2, abs=0.03)
    seconds = engine.counters.seconds
    assert seconds["code_load"] == pytest.approx(0.03) and seconds.get("codegen", 0.0) == 0.0


def test_codegen_processes_are_simulated_only_where_loading_was_measured() -> None:
    dataset = tiny_dataset({0: 1.0})
    with pytest.raises(ValueError, match="code_load_s"):
        ReplayBackend(ReplaySession(dataset, seed=0), codegen_workers=2)
    default = types.SimpleNamespace(options=types.SimpleNamespace(codegen_workers=None))
    assert replay._replay_backend(ReplaySession(dataset, seed=0), default).codegen_workers == 0
    dataset.costs["code_load_s"] = 0.01
    session = ReplaySession(dataset, seed=0)
    assert replay._replay_backend(session, default).codegen_workers == CUDA_CODEGEN_WORKERS
    assert session.codegen_workers == CUDA_CODEGEN_WORKERS  # the replay's report says so
    none = types.SimpleNamespace(options=types.SimpleNamespace(codegen_workers=0))
    assert replay._replay_backend(ReplaySession(dataset, seed=0), none).codegen_workers == 0


def test_a_replayed_device_time_charges_the_pairs_the_timer_would_capture():
    from helion_hybrid.timing import CALLS_PER_GRAPH

    assert replay.device_time_launches(10 * CALLS_PER_GRAPH) == replay.device_time_launches(None)  # capped
    fewer, default = replay.device_time_launches(4), replay.device_time_launches(None)
    assert fewer[1] == replay.DEVICE_TIME_REPLAYS * 4 and fewer[1] < default[1]
    assert fewer[0] - fewer[1] == default[0] - default[1]  # the shared flushes-only graph's share
