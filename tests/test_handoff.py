"""HybridSearch's handoff to refinement: which configs it starts from."""

from __future__ import annotations

import math
import types

import numpy as np
from fake_backends import ScriptedBackend

from helion_hybrid.evaluation import EvaluationEngine, StragglerPolicy
from helion_hybrid.hybrid_search import HybridSearch, HybridSearchOptions


def _search_with_results(model_ms, promoted=(0, 1), points=None):
    """A search state with eight configs timed at 5 repetitions (config c
    reads 1 + 0.1 c ms: 0 is the fastest), ``promoted`` re-timed at 15, and
    a model whose posterior means are ``model_ms`` (ms per config)."""
    backend = ScriptedBackend(lambda c: 0.1, lambda c: 1.0 + 0.1 * c)
    engine = EvaluationEngine(backend, workers=4, stragglers=StragglerPolicy())
    # by default two slots apart, so the diversity rule keeps every config eligible
    points = points or {c: [c, c, 0] for c in range(8)}
    engine.submit([(c, None, np.array(points[c], dtype=np.int32)) for c in range(8)], 5, "explore")
    while engine.in_flight:
        engine.step()
    engine.retime_to([engine.observations[c] for c in promoted], 15, "promote")
    models = types.SimpleNamespace(
        objective=object(),
        prior=None,
        predict=lambda pts: (
            np.array([math.log(model_ms[next(c for c in points if points[c] == list(p))]) for p in pts]),
            np.ones(len(pts)),
        ),
    )
    return types.SimpleNamespace(
        options=HybridSearchOptions(handoff_candidates=4),
        engine=engine,
        models=models,
        refit_models=lambda force=False: None,
        log=lambda message: None,
    )


def _handoff(search):
    return [obs.config for obs in HybridSearch._handoff(search)]


def test_handoff_keeps_the_fastest_promoted_configs_that_the_model_pulls_towards_the_mean():
    # the model predicts 1.43-1.5 ms everywhere and ranks config 7 best; 0 and 1 read 1.0 and
    # 1.1 ms at 15 repetitions
    search = _search_with_results({c: 1.5 - 0.01 * c for c in range(8)})
    assert _handoff(search) == [0, 1, 6, 7]  # the model's 7 and 6, all ranked by their medians
    assert all(obs.timed_repetitions == 50 for obs in HybridSearch._handoff(search))


def test_handoff_does_not_take_a_config_twice_when_model_and_measurements_agree():
    search = _search_with_results({c: 1.0 + 0.1 * c for c in range(8)})
    assert _handoff(search) == [0, 1, 2, 3]


def test_a_promoted_config_does_not_displace_a_better_near_twin():
    # config 6 (1.6 ms, promoted) differs from config 0 (predicted 1.0 ms, not promoted) in one
    # slot: the diversity rule keeps one of them, and it must be 0
    points = {c: [c, c, 0] for c in range(8)}
    points[6] = [0, 0, 1]
    search = _search_with_results({c: 1.0 + 0.1 * c for c in range(8)}, promoted=(6,), points=points)
    chosen = _handoff(search)
    assert chosen[0] == 0 and 6 not in chosen


def test_a_lucky_low_fidelity_sample_is_ranked_by_the_model():
    # config 0 reads fastest at 5 repetitions, but the model (and no medium-fidelity median) says
    # it is the slowest: it is not a starting point
    search = _search_with_results({c: 2.0 - 0.1 * c for c in range(8)}, promoted=())
    assert _handoff(search) == [4, 5, 6, 7]


def test_an_accepted_warm_start_prior_refines_from_fewer_configs():
    search = _search_with_results({c: 1.0 + 0.1 * c for c in range(8)})
    search.models.prior = object()  # what an accepted prior leaves (warm_start.prior_data)
    assert _handoff(search) == [0, 1]  # warm_handoff_candidates at full effort
