"""Property-based fuzzing of the bindings: any input gives a result or a
clean Python exception, never a crash, a hang or NaN from valid data."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import helion_hybrid as hh
from helion_hybrid import _core

CLEAN_ERRORS = (ValueError, TypeError, hh.NotFittedError)

floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    X=hnp.arrays(np.float64, shapes, elements=floats),
    y=hnp.arrays(np.float64, shapes, elements=floats),
    reps=st.one_of(st.none(), hnp.arrays(np.float64, shapes, elements=floats)),
)
def test_fit_any_arrays(X, y, reps):
    gp = hh.GaussianProcess(restarts=0, max_iterations=20)
    try:
        gp.fit(X, y, repetitions=reps)
    except CLEAN_ERRORS:
        return
    mean, var = gp.predict(X)
    assert np.all(np.isfinite(mean)) and np.all(var >= 0)


@settings(max_examples=100, deadline=None)
@given(
    X=hnp.arrays(np.float64, st.tuples(st.integers(1, 8), st.integers(1, 4)), elements=finite),
    data=st.data(),
)
def test_fit_valid_data_never_nan(X, data):
    y = data.draw(hnp.arrays(np.float64, X.shape[0], elements=finite))
    reps = data.draw(hnp.arrays(np.float64, X.shape[0], elements=st.floats(0.5, 100)))
    gp = hh.GaussianProcess(restarts=1, max_iterations=30).fit(X, y, repetitions=reps)
    mean, var = gp.predict(X)
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(var)) and np.all(var >= 0)
    assert np.isfinite(gp.log_marginal_likelihood)


@settings(max_examples=150, deadline=None)
@given(
    arr=hnp.arrays(st.sampled_from([np.float64, np.float32, np.int64, np.int32, np.bool_]), shapes, elements=None),
    dim=st.integers(1, 4),
)
def test_raw_core_calls_reject_bad_shapes(arr, dim):
    gp = _core.GaussianProcess(dim)
    for call in (
        lambda: gp.set_data(arr, arr, None),
        lambda: gp.predict(arr),
        lambda: gp.add_points(arr, arr, None),
        lambda: gp.set_hyperparameters(arr, 1.0, 0.1, 0.0, 0.0),
        lambda: gp.lml_and_gradient(arr),
    ):
        try:
            call()
        except CLEAN_ERRORS:
            pass


@settings(max_examples=150, deadline=None)
@given(
    levels=st.lists(st.integers(1, 5), min_size=1, max_size=5),
    points=hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=5), elements=st.integers(-3, 7)),
    seed=st.integers(0, 2**63),
)
def test_space_calls_with_arbitrary_points(levels, points, seed):
    space = hh.DiscreteSpace(
        [hh.Categorical(k) if i % 2 else hh.Ordinal(tuple(range(k))) for i, k in enumerate(levels)]
    )
    sample = space.sample(5, seed=seed)
    assert np.all(sample >= 0)
    for call in (lambda: space.features(points), lambda: space.neighbours(points), lambda: space.validate(points)):
        try:
            call()
        except CLEAN_ERRORS:
            pass


@settings(max_examples=60, deadline=None)
@given(
    batch=st.integers(-2, 20),
    pool=st.integers(-2, 300),
    starts=st.integers(-1, 5),
    best=floats,
    kind=st.integers(-1, 4),
    seed=st.integers(0, 2**63),
)
def test_maximiser_arguments(batch, pool, starts, best, kind, seed):
    space = hh.DiscreteSpace([hh.Ordinal((0.0, 1.0, 2.0)), hh.Boolean(), hh.Categorical(3)])
    pts = space.sample(6, seed=0)
    gp = hh.GaussianProcess(restarts=0).fit(space.features(pts), np.arange(6.0))
    try:
        options = _core.AcquisitionOptions(
            kind=kind,
            best=best,
            batch_size=batch,
            pool_size=pool,
            local_starts=starts,
            local_max_steps=5,
            seed=seed,
            threads=1,
        )
        result = _core.maximize_acquisition(space.core, gp.core, None, None, options, None, None)
    except CLEAN_ERRORS:
        return
    points = result["points"]
    assert points.shape[0] <= batch
    space.validate(points)
