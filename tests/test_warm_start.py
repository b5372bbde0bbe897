"""Warm start from an earlier tuning at another shape: the decision rule,
the prior in the models, and on the synthetic objective a prior that
predicts the new shape shortens the search while a misleading one (shuffled
timings) is dropped and costs only the configs it led with."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pytest

pytest.importorskip("helion")
from synthetic_objective import Problem, autotune_problem, cost_ms, fails  # noqa: E402

import helion_hybrid  # noqa: E402
from helion_hybrid import warm_start  # noqa: E402


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("HELION_AUTOTUNE_PROGRESS_BAR", "0")


# ----------------------------------------------------------------------------- the rule
def test_a_prior_that_ranks_the_new_shape_alike_is_accepted_and_mapped():
    rng = np.random.default_rng(0)
    prior = rng.normal(size=12)
    new = 0.5 + 1.5 * prior + rng.normal(scale=0.05, size=12)
    decision = warm_start.decide(prior, new, min_pairs=4, min_correlation=0.6)
    assert decision.accepted and decision.correlation > 0.95 and decision.pairs == 12
    assert decision.slope == pytest.approx(1.5, abs=0.1) and decision.intercept == pytest.approx(0.5, abs=0.1)


@pytest.mark.parametrize(
    "prior,new",
    [
        ([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [5.0, 4.0, 3.0, 2.0, 1.0, 0.0]),  # ranked the other way
        ([0.0, 1.0, 2.0], [0.0, 1.0, 2.0]),  # too few configs to judge
        ([1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 2.0, 3.0]),  # a prior that tells nothing apart
    ],
)
def test_a_prior_that_does_not_rank_the_new_shape_is_dropped(prior, new):
    assert not warm_start.decide(prior, new, min_pairs=4, min_correlation=0.6).accepted


def test_the_slope_is_bounded():
    decision = warm_start.decide([0.0, 1.0, 2.0, 3.0], [0.0, 100.0, 200.0, 300.0], 4, 0.6)
    assert decision.accepted and decision.slope == warm_start.SLOPE_BOUNDS[1]


def test_bad_decision_input_is_refused():
    with pytest.raises(ValueError, match="1-D of one length"):
        warm_start.decide([0.0, 1.0], [0.0], 1, 0.0)


def test_shape_distance_counts_doublings():
    assert warm_start.shape_distance((1024, 1024), (2048, 1024)) == pytest.approx(1.0)
    assert warm_start.shape_distance((512,), (2048,)) == pytest.approx(2.0)


# ----------------------------------------------------------------------------- on the synthetic objective
class ShiftedProblem(Problem):
    """The synthetic objective at "another shape": 3x the time, and the best
    block_m twice as large (a larger problem prefers larger tiles)."""

    def compile_fn(self, config: Any):
        cfg = dict(config.config)
        self.compiled.append(cfg)
        if fails(cfg):
            raise RuntimeError("synthetic compile failure: tile too large")
        shifted = {**cfg, "block_m": max(16, cfg["block_m"] // 2)}
        cost = 3.0 * cost_ms(shifted)

        def run(x):
            self.last_cost = cost
            return x * 2

        return run


def _prior_from(search: Any, shuffle: bool = False) -> warm_start.Prior:
    """A finished search's observations as a warm-start prior (optionally
    with the timings shuffled among its configs)."""
    observations = [o for o in search.observations.values() if o.status != "cancelled"]
    log_ms = [math.log(o.median) if o.ok else None for o in observations]
    if shuffle:
        timed = [v for v in log_ms if v is not None]
        random.Random(1).shuffle(timed)
        it = iter(timed)
        log_ms = [next(it) if v is not None else None for v in log_ms]
    configs = tuple(
        warm_start.PriorConfig(
            flat=list(o.member.flat_values),
            point=o.point,
            ok=o.ok,
            log_ms=value,
            compile_s=o.compile_s,
        )
        for o, value in zip(observations, log_ms)
    )
    return warm_start.Prior(source="test", distance=1.0, configs=configs)


def _tune(monkeypatch, problem: Problem, prior: warm_start.Prior | None) -> tuple[Any, Any]:
    monkeypatch.setattr(warm_start, "prior_for", lambda search: prior)
    config = autotune_problem(monkeypatch, problem, "HybridSearch")
    return config, helion_hybrid.last_search()


@pytest.fixture(scope="module")
def earlier_tuning():
    """A cold tuning of the synthetic objective: the prior of the tests below."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("HELION_AUTOTUNE_PROGRESS_BAR", "0")
        _, search = _tune(monkeypatch, Problem(), None)
    return search


def _best_ms(problem: Problem, config: Any) -> float:
    problem.compile_fn(config)(np.zeros(1))
    return problem.last_cost


def test_a_prior_that_predicts_the_new_shape_shortens_the_search(monkeypatch, earlier_tuning):
    cold_problem, warm_problem = ShiftedProblem(), ShiftedProblem()
    cold_config, cold = _tune(monkeypatch, cold_problem, None)
    warm_config, warm = _tune(monkeypatch, warm_problem, _prior_from(earlier_tuning))
    report = warm.counters_dict()["warm_start"]
    assert report["accepted"] and report["correlation"] >= 0.6, report
    assert cold.counters_dict()["warm_start"] is None
    assert warm.models.prior is not None and len(warm.models.prior.ok_points) > 10
    # fewer configs tried (a shorter exploration), a kernel as fast as the cold search's (the
    # objective is deterministic): 70 against 84 configs, the optimum against a kernel 2.6x slower
    assert len(warm.observations) < len(cold.observations)
    explored = [sum(s.counters_dict()["configs_timed"]["explore"].values()) for s in (warm, cold)]
    assert explored[0] < explored[1]
    # and refinement from fewer starting points (warm_handoff_candidates: 1 against 2 at quick effort)
    handed = [sum(s.counters_dict()["configs_retimed"]["handoff"].values()) for s in (warm, cold)]
    assert handed == [warm.options.warm_handoff_candidates, cold.options.handoff_candidates]
    assert _best_ms(ShiftedProblem(), warm_config) <= 1.01 * _best_ms(ShiftedProblem(), cold_config)


def test_a_misleading_prior_is_dropped_and_costs_only_its_lead_configs(monkeypatch, earlier_tuning):
    cold_config, cold = _tune(monkeypatch, ShiftedProblem(), None)
    warm_config, warm = _tune(monkeypatch, ShiftedProblem(), _prior_from(earlier_tuning, shuffle=True))
    report = warm.counters_dict()["warm_start"]
    assert not report["accepted"], report
    assert warm.models.prior is None
    # a cold search led by the prior's configs: about as many configs, a kernel as good
    lead = warm.options.warm_seed_configs
    assert len(warm.observations) <= len(cold.observations) + 2 * lead
    assert _best_ms(ShiftedProblem(), warm_config) <= 1.02 * _best_ms(ShiftedProblem(), cold_config)


def test_no_prior_no_change(monkeypatch):
    config_a, a = _tune(monkeypatch, ShiftedProblem(), None)
    config_b, b = _tune(monkeypatch, ShiftedProblem(), None)
    assert dict(config_a.config) == dict(config_b.config)
    assert a.counters_dict()["warm_start"] is None and len(a.observations) == len(b.observations)


# ----------------------------------------------------------------------------- end to end
def test_a_real_kernel_tuned_at_a_second_shape_warm_starts_from_the_store(tmp_path):
    pytest.importorskip("jax", reason="jax is part of the test install (pip install -e '.[test]')")
    from pathlib import Path

    from pallas_subprocess import run_pallas_autotune

    script = Path(__file__).with_name("warm_start_script.py")
    result = run_pallas_autotune(script, algorithm="HybridSearch", HELION_HYBRID_TUNING_STORE=str(tmp_path / "store"))
    assert result["earlier"]["warm_start"] is None  # nothing stored before it
    report = result["later"]["warm_start"]
    assert report is not None, result  # found the 64x64 tuning, placed it, judged it
    assert report["source"] in result["stored"] and len(result["stored"]) == 2
    assert report["pairs"] >= 1 and isinstance(report["accepted"], bool)
    assert result["max_error"] < 1e-3


def test_a_store_that_cannot_be_read_costs_a_warning_not_the_search(monkeypatch):
    import types

    from helion_hybrid._search_base import MultiFidelitySearchBase
    from helion_hybrid.helion_backend import HelionBackend
    from helion_hybrid.tuning_store import TuningStoreWarning

    def broken(search):
        raise OSError("the store's disk went away")

    monkeypatch.setattr(warm_start, "_nearest_prior", broken)
    search = types.SimpleNamespace(
        tuning_store=object(), engine=types.SimpleNamespace(backend=HelionBackend.__new__(HelionBackend))
    )
    search.measures_device = lambda: MultiFidelitySearchBase.measures_device(search)
    with pytest.warns(TuningStoreWarning, match="Warm start skipped: OSError"):
        assert warm_start.prior_for(search) is None
    # a replay or a test's backend never reads the store
    search.engine.backend = object()
    assert warm_start.prior_for(search) is None
