"""Acquisition functions and the discrete maximiser."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import norm

import helion_hybrid as hh


def _reference_ei(mean, var, best):
    sigma = np.sqrt(var)
    z = (best - mean) / sigma
    return sigma * (z * norm.cdf(z) + norm.pdf(z))


def test_ei_and_log_ei_match_closed_form():
    mean = np.linspace(-2, 2, 41)
    var = np.linspace(0.01, 2, 41)
    ei = hh.expected_improvement(mean, var, 0.3)
    np.testing.assert_allclose(ei, _reference_ei(mean, var, 0.3), rtol=1e-10)
    np.testing.assert_allclose(hh.log_expected_improvement(mean, var, 0.3), np.log(ei), rtol=1e-9)


def test_log_ei_is_finite_and_monotone_far_in_the_tail():
    mean = np.linspace(1, 1000, 2000)  # z from -1 down to -1000
    log_ei = hh.log_expected_improvement(mean, np.ones_like(mean), 0.0)
    assert np.all(np.isfinite(log_ei))
    assert np.all(np.diff(log_ei) < 0)
    # asymptotically log EI ~ -z^2/2 - log(2 pi)/2 - 2 log|z|
    z = -mean[-1]
    assert log_ei[-1] == pytest.approx(-z * z / 2 - 0.5 * np.log(2 * np.pi) - 2 * np.log(-z), rel=1e-6)


def test_zero_variance_ei():
    assert hh.expected_improvement([1.0, -1.0], [0.0, 0.0], 0.0).tolist() == [0.0, 1.0]


def _enumerable_space() -> hh.DiscreteSpace:
    return hh.DiscreteSpace(
        [
            hh.Ordinal((0.0, 1.0, 2.0, 3.0, 4.0)),
            hh.Ordinal((4.0, 5.0, 6.0)),
            hh.Categorical(3),
            hh.Boolean(),
            hh.Categorical(2),
        ]
    )


def _all_points(space: hh.DiscreteSpace) -> np.ndarray:
    levels = [5, 3, 3, 2, 2]
    return np.array(list(itertools.product(*[range(k) for k in levels])), dtype=np.int32)


def _model(space, rng, n=25):
    pts = space.sample(n, seed=11)
    X = space.features(pts)
    y = np.sin(3 * X[:, 0]) + (X[:, 1] - 0.5) ** 2 + 0.3 * X[:, 3] + 0.05 * rng.normal(size=n)
    return pts, y, hh.GaussianProcess(seed=0).fit(X, y, repetitions=np.full(n, 15.0))


@pytest.mark.parametrize("acquisition", ["log_ei", "ei", "ucb"])
def test_maximiser_finds_true_argmax_on_enumerable_space(rng, acquisition):
    space = _enumerable_space()
    pts, y, gp = _model(space, rng)
    everything = _all_points(space)
    exclude = hh.PointSet(space.num_dims)
    exclude.add(pts)
    allowed = np.array([p not in exclude for p in everything])
    scores = hh.score_points(space, gp, everything, best=y.min(), acquisition=acquisition)
    truth = everything[allowed][np.argmax(scores[allowed])]
    result = hh.maximize_acquisition(
        space, gp, best=y.min(), acquisition=acquisition, batch_size=1, pool_size=200, seed=0, exclude=exclude
    )
    np.testing.assert_array_equal(result.points[0], truth)
    assert result.scores[0] == pytest.approx(scores[allowed].max(), rel=1e-9, abs=1e-12)


def test_batch_is_distinct_not_excluded_and_diverse(rng):
    space = _enumerable_space()
    pts, y, gp = _model(space, rng)
    exclude = hh.PointSet(space.num_dims)
    exclude.add(pts)
    result = hh.maximize_acquisition(space, gp, best=y.min(), batch_size=16, pool_size=500, seed=1, exclude=exclude)
    assert result.points.shape == (16, space.num_dims)
    assert len({tuple(p) for p in result.points.tolist()}) == 16
    assert not any(p in exclude for p in result.points)
    # kriging believer: later picks see shrunken variance at earlier picks,
    # so the batch does not collapse onto one neighbourhood
    assert result.scores[0] >= result.scores[-1]


def test_batch_larger_than_space_returns_what_is_left():
    space = hh.DiscreteSpace([hh.Boolean(), hh.Categorical(2)])
    gp = hh.GaussianProcess(seed=0).fit(space.features([[0, 0], [1, 1]]), [0.0, 1.0])
    exclude = hh.PointSet(2)
    exclude.add([[0, 0]])
    result = hh.maximize_acquisition(space, gp, best=0.0, batch_size=10, pool_size=50, exclude=exclude)
    assert {tuple(p) for p in result.points.tolist()} == {(0, 1), (1, 0), (1, 1)}


def test_maximiser_is_deterministic(rng):
    space = _enumerable_space()
    _, y, gp = _model(space, rng)
    a = hh.maximize_acquisition(space, gp, best=y.min(), batch_size=8, seed=3, pool_size=1000, threads=1)
    b = hh.maximize_acquisition(space, gp, best=y.min(), batch_size=8, seed=3, pool_size=1000, threads=2)
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.scores, b.scores)


def test_pruned_maximiser_matches_brute_force_on_large_space(rng):
    dims = [hh.Ordinal(tuple(range(6))) for _ in range(8)] + [hh.Categorical(4), hh.Boolean()]
    space = hh.DiscreteSpace(dims)
    pts = space.sample(300, seed=2)
    X = space.features(pts)
    y = np.cos(4 * X[:, 0]) + X[:, 1] * X[:, 2] + 0.1 * rng.normal(size=300)
    gp = hh.GaussianProcess(seed=0).fit(X, y)
    result = hh.maximize_acquisition(space, gp, best=y.min(), batch_size=1, pool_size=20000, local_starts=0, seed=9)
    pool = space.sample(20000, seed=9)
    scores = hh.score_points(space, gp, pool, best=y.min())
    assert result.scores[0] == pytest.approx(scores.max(), rel=1e-9)
    assert result.exact_evaluations < 20000 / 4  # pruning did real work


def test_cost_and_feasibility_models_change_the_choice(rng):
    space = _enumerable_space()
    pts, y, gp = _model(space, rng)
    X = space.features(pts)
    # Points with the boolean set are 100x more expensive / always fail.
    expensive = pts[:, 3] == 1
    cost = hh.GaussianProcess(seed=0).fit(X, np.where(expensive, np.log(100.0), 0.0))
    feas = hh.GaussianProcess(seed=0).fit(X, np.where(expensive, 0.0, 1.0))
    for kwargs in ({"acquisition": "log_ei_per_cost", "cost_model": cost}, {"feasibility_model": feas}):
        result = hh.maximize_acquisition(space, gp, best=y.min(), batch_size=4, pool_size=500, **kwargs)
        assert np.all(result.points[:, 3] == 0)


def test_acquisition_argument_errors(rng):
    space = _enumerable_space()
    _, y, gp = _model(space, rng)
    with pytest.raises(ValueError, match="unknown acquisition"):
        hh.maximize_acquisition(space, gp, best=0.0, acquisition="pi")
    with pytest.raises(ValueError, match="cost model"):
        hh.maximize_acquisition(space, gp, best=0.0, acquisition="log_ei_per_cost")
    with pytest.raises(ValueError, match="features"):
        other = hh.GaussianProcess().fit(np.eye(3), [0.0, 1.0, 2.0])
        hh.maximize_acquisition(space, other, best=0.0)
    with pytest.raises(ValueError):
        hh.maximize_acquisition(space, gp, best=float("nan"))
    with pytest.raises(ValueError):
        hh.maximize_acquisition(space, gp, best=0.0, batch_size=0)
    with pytest.raises(ValueError):
        hh.maximize_acquisition(space, gp, best=0.0, incumbents=[[9, 0, 0, 0, 0]])
    with pytest.raises(hh.NotFittedError):
        hh.maximize_acquisition(space, hh.GaussianProcess(), best=0.0)
