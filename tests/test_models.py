"""SearchModels: the feasibility probability that refinement's screen
weighs neighbours by."""

from __future__ import annotations

import numpy as np

import helion_hybrid as hh
from helion_hybrid.evaluation import Counters, Observation
from helion_hybrid.models import SearchModels
from helion_hybrid.timing import TimingRecord


def _observation(index: int, point: tuple[int, int], fails: bool) -> Observation:
    obs = Observation(index, point, np.array(point, dtype=np.int32), None, "refine", 5)
    if fails:
        obs.status = "error"
    else:
        obs.status, obs.record = "ok", TimingRecord(samples=[1.0 + 0.1 * point[0] + 0.05 * point[1]] * 5, repetitions=5)
    return obs


def test_configs_like_those_that_failed_are_predicted_to_fail():
    space = hh.DiscreteSpace(
        [hh.Ordinal(tuple(float(v) for v in range(8))), hh.Ordinal(tuple(float(v) for v in range(8)))]
    )
    models = SearchModels(space, seed=0, counters=Counters())
    grid = [(a, b) for a in range(0, 8, 2) for b in range(0, 8, 2)]
    observations = [_observation(i, p, fails=p[0] >= 6) for i, p in enumerate(grid)]  # too large a tile: fails
    assert np.all(models.feasible(np.array([[1, 1], [7, 7]], dtype=np.int32)) == 1.0)  # nothing failed yet
    models.fit(observations[:-4])  # the failures come later
    assert models.feasibility is None
    models.fit(observations)
    runs, fails = models.feasible(np.array([[1, 3], [6, 3]], dtype=np.int32))  # between configs that ran; that failed
    assert runs > 0.8 and fails < 0.3
    assert np.all(models.feasible(np.array([[7, 7]], dtype=np.int32), floor=0.05) >= 0.05)
