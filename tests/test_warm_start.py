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
    decision = warm_start.decide(prior, new, min_configs=4, min_concordance=0.6)
    assert decision.accepted and decision.concordance > 0.9 and decision.configs == 12
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
    assert not warm_start.decide(prior, new, min_configs=4, min_concordance=0.6).accepted


# (prior model's prediction, measured here) in ms of the initial designs of two H200 warm
# runs (bench/results/h200/sequences/matmul_fp16 at commit 809a4c0, seed 1 at 4096 from
# 2048 and seed 0 at 2048 from 1024), rounded: the first leads with nine configs within 4% of each other
H200_4096_FROM_2048 = [
    (0.029, 0.195), (0.029, 0.195), (0.029, 0.195), (0.029, 0.196), (0.029, 0.193), (0.029, 0.194),
    (0.029, 0.194), (0.029, 0.195), (0.030, 0.200), (0.035, 0.293), (0.037, 0.211), (0.037, 0.285),
    (0.093, 0.733), (0.277, 2.287), (0.657, 5.073),
]  # fmt: skip
# here the prior's fastest (predicted 0.009-0.010) are 30% slower than configs it ranked 1.6x behind
H200_2048_FROM_1024 = [
    (0.009, 0.038), (0.009, 0.037), (0.009, 0.038), (0.009, 0.045), (0.009, 0.045), (0.010, 0.043),
    (0.010, 0.045), (0.010, 0.039), (0.015, 0.034), (0.015, 0.029), (0.015, 0.096), (0.016, 0.039),
    (0.017, 0.028), (0.017, 0.030), (0.019, 0.029), (0.036, 0.278), (0.093, 0.657),
]  # fmt: skip


def _logs(pairs: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    return [math.log(a) for a, _ in pairs], [math.log(b) for _, b in pairs]


def test_configs_tied_within_the_resolution_do_not_sink_a_prior_that_ranks_the_rest_alike():
    decision = warm_start.decide(*_logs(H200_4096_FROM_2048), min_configs=5, min_concordance=0.6)
    assert decision.accepted and decision.concordance > 0.9, decision
    # the ties are left out of the judgement, not counted as agreement
    assert decision.resolved_pairs < len(H200_4096_FROM_2048) * (len(H200_4096_FROM_2048) - 1) // 2


def test_a_prior_whose_fastest_configs_are_slow_here_is_dropped():
    decision = warm_start.decide(*_logs(H200_2048_FROM_1024), min_configs=5, min_concordance=0.6)
    assert not decision.accepted and decision.concordance < 0.2, decision


def test_a_prior_judged_on_configs_all_within_the_resolution_is_dropped():
    decision = warm_start.decide([0.0, 0.01, 0.02, 0.03, 0.04], [0.04, 0.0, 0.03, 0.01, 0.02], 5, 0.6)
    assert not decision.accepted and decision.resolved_pairs == 0 and math.isnan(decision.concordance)


def test_resolved_concordance_counts_the_pairs_both_sides_tell_apart():
    x, y = np.array([0.0, 0.01, 1.0, 2.0]), np.array([0.0, 0.5, 1.0, 0.9])
    # pairs (0,2) (0,3) (1,2) (1,3) alike; (2,3) the other way; (0,1) unresolved in x
    assert warm_start.resolved_concordance(x, y, 0.05) == (5, pytest.approx(3 / 5))


def test_the_slope_is_bounded():
    decision = warm_start.decide([0.0, 1.0, 2.0, 3.0, 4.0], [0.0, 100.0, 200.0, 300.0, 400.0], 4, 0.6)
    assert decision.accepted and decision.slope == warm_start.SLOPE_BOUNDS[1]


def test_bad_decision_input_is_refused():
    with pytest.raises(ValueError, match="1-D of one length"):
        warm_start.decide([0.0, 1.0], [0.0], 1, 0.0)


def test_shape_distance_counts_doublings():
    assert warm_start.shape_distance((1024, 1024), (2048, 1024)) == pytest.approx(1.0)
    assert warm_start.shape_distance((512,), (2048,)) == pytest.approx(2.0)


# ----------------------------------------------------------------------------- the prior in the models
def _prior(ok: int, failed: int) -> warm_start.Prior:
    configs = [
        warm_start.PriorConfig([i], np.array([i % 7], np.int32), True, math.log(1.0 + i), 0.5) for i in range(ok)
    ] + [warm_start.PriorConfig([ok + i], np.array([i % 7], np.int32), False, None, 2.0) for i in range(failed)]
    random.Random(0).shuffle(configs)
    return warm_start.Prior("test", 1.0, tuple(configs))


def test_the_models_get_the_fastest_prior_configs_and_a_spread_of_the_rest():
    accepted = warm_start.WarmStartDecision(16, 40, 0.9, True)
    data = warm_start.prior_data(_prior(300, 50), accepted, measured={(0,)}, dims=1)
    assert (
        len(data.ok_points) == warm_start.PRIOR_OK_POINTS and len(data.failed_points) == warm_start.PRIOR_FAILED_POINTS
    )
    times = sorted(data.ok_log_ms)
    # config 0 was measured here (the measurement wins); the next PRIOR_FASTEST lead
    assert times[: warm_start.PRIOR_FASTEST] == pytest.approx(
        [math.log(2.0 + i) for i in range(warm_start.PRIOR_FASTEST)]
    )
    assert times[-1] == pytest.approx(math.log(300.0))  # the spread reaches the slowest
    assert len(data.cost_points) == len(data.ok_points) + len(data.failed_points)
    small = warm_start.prior_data(_prior(20, 3), accepted, measured=set(), dims=1)
    assert len(small.ok_points) == 20 and len(small.failed_points) == 3


# ----------------------------------------------------------------------------- judged when the exploration ends
def _judging_search(pending_initial: bool, slope: float = 0.5) -> Any:
    """A stand-in for a HybridSearch whose initial design led with an
    earlier tuning: eight configs timed as the prior ranks them, one still
    compiling (a straggler) or not; ``slope`` < 0 ranks them the other way."""
    import types

    from helion_hybrid.hybrid_search import FULL, HybridSearch
    from helion_hybrid.space import DiscreteSpace, Ordinal

    space = DiscreteSpace([Ordinal(tuple(float(v) for v in range(10)))])
    prior = warm_start.Prior(
        "test",
        1.0,
        tuple(warm_start.PriorConfig([v], np.array([v], np.int32), True, 0.3 * v, 0.5) for v in range(10)),
    )

    def observation(v: int, pending: bool = False) -> Any:
        member = types.SimpleNamespace(flat_values=[v])
        point, median = np.array([v], np.int32), math.exp(slope * v + 1.0)
        return types.SimpleNamespace(
            phase="initial", pending=pending, ok=not pending, point=point, median=median, member=member
        )

    observations = [observation(v) for v in range(8)] + ([observation(9, pending=True)] if pending_initial else [])
    search = types.SimpleNamespace(
        _warm_prior=prior, options=FULL, warm_start_report=None, _explore_scale=1.0,
        engine=types.SimpleNamespace(observations=dict(enumerate(observations))),
        bridge=types.SimpleNamespace(space=space, num_dims=1), models=types.SimpleNamespace(prior=None),
        derived_seed=lambda *salt: 7, logs=[],
    )  # fmt: skip
    search.log = search.logs.append
    search._tried_keys = lambda: HybridSearch._tried_keys(search)
    search.submit_flats = lambda *args: pytest.fail("the exploration has ended: nothing more to submit")
    search.judge = lambda final=False: HybridSearch._judge_warm_start(search, final)
    return search


def test_a_straggling_initial_config_holds_the_judgement_until_the_exploration_ends():
    search = _judging_search(pending_initial=True)
    search.judge()
    assert search.warm_start_report is None  # still waiting for the ninth config
    search.judge(final=True)
    report = search.warm_start_report
    assert report is not None and report["accepted"] and report["configs"] == 8, report
    assert search.models.prior is not None and search._explore_scale == search.options.warm_explore_fraction
    search.judge(final=True)  # judged once
    assert len(search.logs) == 1


def test_a_prior_dropped_as_the_exploration_ends_submits_nothing_more():
    search = _judging_search(pending_initial=True, slope=-0.5)
    search.judge(final=True)  # submit_flats would fail the test
    assert not search.warm_start_report["accepted"] and search.models.prior is None
    assert "as the exploration ended" in search.logs[0]


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
    assert report["accepted"] and report["concordance"] >= 0.6, report
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
    assert report["configs"] >= 1 and isinstance(report["accepted"], bool)
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
