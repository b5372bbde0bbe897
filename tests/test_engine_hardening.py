"""Regression tests for the engine side of issue 10 (items 1, 2, 3, 7, 8, 9,
10) and for "one rule, one layer" (issue 14): each reproducer from the issue
gives a clear exception or a correct result, never a crash or a silent NaN."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

import helion_hybrid as hh
from helion_hybrid import _core


def _data(n: int = 30, dim: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, dim))
    return X, np.sin(3 * X[:, 0]) + X[:, 1] ** 2 - 0.5 * X[:, -1]


def _state(gp: hh.GaussianProcess, probe: np.ndarray) -> tuple:
    mean, var = gp.predict(probe)
    return gp.n_observations, gp.log_marginal_likelihood, gp.hyperparameters, mean.tobytes(), var.tobytes()


def _small_space() -> hh.DiscreteSpace:
    return hh.DiscreteSpace([hh.Ordinal((0.0, 1.0, 2.0)), hh.Categorical(3), hh.Boolean()])


# -- item 1: no crash after a failed fit; the model is exactly as it was --------
def test_failed_first_fit_leaves_an_unfitted_model():
    gp = hh.GaussianProcess()
    with pytest.raises(ValueError, match="overflows the kernel"):
        gp.fit(np.array([[0.0], [1e200]]), np.array([0.0, 1.0]))
    assert gp.n_observations == 0
    with pytest.raises(hh.NotFittedError):
        gp.predict(np.array([[0.5]]))
    with pytest.raises(hh.NotFittedError):
        gp.update(np.array([[0.5]]), [1.0])
    with pytest.raises(hh.NotFittedError):
        gp.log_marginal_likelihood  # noqa: B018
    space = _small_space()
    model = hh.GaussianProcess(restarts=0).fit(space.features(space.sample(6, seed=1)), np.arange(6.0))
    with pytest.raises(hh.NotFittedError):
        hh.maximize_acquisition(space, model, best=0.0, feasibility_model=gp)


@pytest.mark.parametrize(
    "call",
    [
        lambda gp, X, y: gp.fit(np.vstack([X, np.full((1, 3), 1e200)]), np.append(y, 0.0)),
        lambda gp, X, y: gp.fit(X, np.append(y[:-1], 1e200)),
        # a model of another dimension whose fit fails is never kept
        lambda gp, X, y: gp.fit(np.array([[0.0, 0.0], [1e200, 0.0]]), [0.0, 1.0]),
        lambda gp, X, y: gp.update(np.full((1, 3), 1e200), [0.0]),
        lambda gp, X, y: gp.update(X[:1], [np.nan]),
        lambda gp, X, y: gp.update(X[:1], [0.0], repetitions=[-1.0]),
    ],
)
def test_failed_refit_or_update_changes_nothing(call):
    X, y = _data()
    gp = hh.GaussianProcess(seed=0, restarts=1).fit(X, y)
    probe = X[:7] + 0.01
    before = _state(gp, probe)
    with pytest.raises(ValueError):
        call(gp, X, y)
    assert _state(gp, probe) == before
    gp.update(X[:2] + 0.5, y[:2])  # still usable
    assert gp.n_observations == 32


# -- item 2: no silent NaN --------------------------------------------------------
def test_overflowing_update_raises_instead_of_nan():
    X, y = _data()
    gp = hh.GaussianProcess(seed=0).fit(X, y)
    with pytest.raises(ValueError, match="add_points: X row 0 overflows"):
        gp.update(np.full((1, 3), 1e160), [0.0])
    mean, var = gp.predict(X)
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(var)) and np.all(var > 0)
    # large but representable: handled finitely
    gp.update(np.full((1, 3), 1e140), [0.0])
    mean, var = gp.predict(X)
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(var)) and np.all(var > 0)
    with pytest.raises(ValueError, match="candidate row 0 overflows"):
        gp.predict(np.full((1, 3), 1e200))


def test_tiny_fixed_lengthscales_raise_at_fit():
    X, y = _data(dim=5)
    fixed = hh.Hyperparameters(
        lengthscales=(1e-300,) * 5, signal_variance=1.0, noise_variance=1e-2, noise_floor=1e-6, mean=0.0
    )
    gp = hh.GaussianProcess(hyperparameters=fixed)
    with pytest.raises(ValueError, match="lengthscales too short"):
        gp.fit(X, y)
    assert gp.n_observations == 0
    with pytest.raises(ValueError, match="finite inverse"):
        hh.Hyperparameters((5e-324,), 1.0, 0.0, 0.0, 0.0)


def test_overflowing_ordinal_range_has_finite_features():
    space = hh.DiscreteSpace([hh.Ordinal((-1e308, 0, 1e308))])
    np.testing.assert_array_equal(space.features([[0], [1], [2]]).ravel(), [0.0, 0.5, 1.0])


def test_targets_beyond_the_limit_raise():
    X, y = _data()
    with pytest.raises(ValueError, match=r"\|y\| must be at most"):
        hh.GaussianProcess().fit(X, y * 1e200)


# -- item 3: scale-free targets -----------------------------------------------------
@pytest.mark.parametrize("scale", [1e-13, 1e-100, 1e-140, 1e100])
def test_scaled_targets_fit_like_unscaled(scale):
    X, y = _data(60)
    reference = hh.GaussianProcess(seed=0).fit(X, y)
    scaled = hh.GaussianProcess(seed=0).fit(X, scale * y)
    mean, var = scaled.predict(X)
    ref_mean, _ = reference.predict(X)
    assert spearmanr(mean, y).statistic == pytest.approx(spearmanr(ref_mean, y).statistic, abs=1e-9)
    np.testing.assert_allclose(mean / scale, ref_mean, rtol=1e-5, atol=1e-8)
    assert np.ptp(mean) / np.ptp(scale * y) == pytest.approx(np.ptp(ref_mean) / np.ptp(y), rel=1e-5)
    assert np.all(np.isfinite(var)) and np.all(var > 0)
    np.testing.assert_allclose(scaled.hyperparameters.lengthscales, reference.hyperparameters.lengthscales, rtol=1e-5)


def test_constant_and_unrepresentably_small_spreads_predict_the_mean():
    X, y = _data()
    for value in (3.0, 1e-300, 0.0):
        mean, var = hh.GaussianProcess(seed=0).fit(X, np.full(30, value)).predict(X + 0.3)
        assert np.all(mean == value) and np.all(var > 0)
    # A spread whose square would underflow is fitted as its mean (finite,
    # within the targets' range), like a constant.
    for tiny in (1e-160 * y, np.array([5.9e-242, 0.0] * 15)):
        gp = hh.GaussianProcess(seed=0).fit(X, tiny)
        mean, var = gp.predict(X + 0.1)
        assert gp.hyperparameters.mean == pytest.approx(tiny.mean(), rel=1e-12, abs=0)
        assert np.all(mean >= tiny.min()) and np.all(mean <= tiny.max())
        assert np.all(np.isfinite(var)) and np.all(var > 0)


# -- item 7: bounded memory ------------------------------------------------------------
def test_huge_categorical_fails_fast():
    start = time.perf_counter()
    with pytest.raises(ValueError, match="2147483648 levels exceed the maximum of 1048576"):
        hh.Categorical(2**31)
    assert time.perf_counter() - start < 0.1
    with pytest.raises(ValueError, match="at most 1048576 model features"):
        hh.DiscreteSpace([hh.Categorical(2**20), hh.Categorical(2)])


def test_pool_is_capped_by_the_space_and_checked_before_allocation():
    space = _small_space()  # 18 points
    pts = space.sample(6, seed=1)
    gp = hh.GaussianProcess(restarts=0).fit(space.features(pts), np.arange(6.0))
    tried = hh.PointSet(space.num_dims)
    tried.add(pts)
    result = hh.maximize_acquisition(space, gp, best=0.0, pool_size=10**9, batch_size=50, exclude=tried)
    assert result.candidates_scored == 18 - len(tried)
    assert len(result.points) == 18 - len(tried)
    big = hh.DiscreteSpace([hh.Ordinal(tuple(float(i) for i in range(10)))] * 12)
    model = hh.GaussianProcess(restarts=0).fit(big.features(big.sample(10, seed=0)), np.arange(10.0))
    with pytest.raises(ValueError, match="exceeds the maximum of 10000000"):
        hh.maximize_acquisition(big, model, best=0.0, pool_size=10**9)
    with pytest.raises(ValueError, match="pool_size must be in"):
        hh.maximize_acquisition(big, model, best=0.0, pool_size=2**31)


def _peak_rss_after(fn) -> float:
    """MB the peak resident set grew by while fn ran (Linux: resets the peak)."""
    status = Path("/proc/self/status")
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pytest.skip("cannot reset the peak RSS here")

    def field(name: str) -> float:
        line = next(x for x in status.read_text().splitlines() if x.startswith(name))
        return float(line.split()[1]) / 1024

    before = field("VmRSS")
    fn()
    return field("VmHWM") - before


def test_high_cardinality_hill_climb_has_linear_memory():
    # Issue 10: 20,000 levels took 6.7 GB (neighbour features for every level).
    space = hh.DiscreteSpace([hh.Categorical(20_000), hh.Ordinal((0.0, 1.0, 2.0, 3.0)), hh.Boolean()])
    pts = space.sample(40, seed=0)
    gp = hh.GaussianProcess(seed=0, restarts=0, max_iterations=20).fit(
        space.features(pts), np.sin(pts[:, 0] / 7.0) + pts[:, 1]
    )
    result: list[hh.AcquisitionResult] = []
    grown = _peak_rss_after(
        lambda: result.append(hh.maximize_acquisition(space, gp, best=0.0, batch_size=4, pool_size=500))
    )
    assert len(result[0].points) == 4
    assert grown < 300, f"peak RSS grew by {grown:.0f} MB"


# -- item 8 (engine side): exact option types, no silent truncation ---------------------
def _space_and_model() -> tuple[hh.DiscreteSpace, hh.GaussianProcess]:
    space = _small_space()
    return space, hh.GaussianProcess(restarts=0).fit(space.features(space.sample(6, seed=1)), np.arange(6.0))


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: hh.GaussianProcess(restarts=1.5), TypeError),
        (lambda: hh.GaussianProcess(restarts=True), TypeError),
        (lambda: hh.GaussianProcess(restarts=-1), ValueError),
        (lambda: hh.GaussianProcess(max_iterations=float("inf")), TypeError),
        (lambda: hh.GaussianProcess(tolerance=float("nan")), ValueError),
        (lambda: hh.GaussianProcess(tolerance="1e-6"), TypeError),
        (lambda: hh.GaussianProcess(seed=-1), ValueError),
        (lambda: hh.GaussianProcess(seed=2.0), TypeError),
        (lambda: hh.GaussianProcess(threads=1.5), TypeError),
        (lambda: hh.set_num_threads(1.9), TypeError),
        (lambda: hh.set_num_threads(-1), ValueError),
        (lambda: _small_space().sample(2.7), TypeError),
        (lambda: _small_space().sample(-1), ValueError),
        (lambda: _small_space().features([[0.5, 0, 0]]), TypeError),
        (
            lambda: hh.Hyperparameters(
                lengthscales="12345", signal_variance=1.0, noise_variance=0.1, noise_floor=0.0, mean=0.0
            ),
            TypeError,
        ),
        (lambda: hh.Hyperparameters((1.0,), "1.0", 0.1, 0.0, 0.0), TypeError),
        (lambda: hh.Hyperparameters((True,), 1.0, 0.1, 0.0, 0.0), TypeError),
        (lambda: hh.Categorical(2.0), TypeError),
        (lambda: hh.Categorical(True), TypeError),
        (lambda: hh.Ordinal(("1", "2")), TypeError),
        (lambda: hh.PointSet(1.0), TypeError),
        (lambda: hh.maximize_acquisition(*_space_and_model(), best=0.0, batch_size=2.5), TypeError),
        (lambda: hh.maximize_acquisition(*_space_and_model(), best=0.0, pool_size=float("inf")), TypeError),
        (lambda: hh.maximize_acquisition(*_space_and_model(), best=0.0, local_starts=float("nan")), TypeError),
        (lambda: hh.maximize_acquisition(*_space_and_model(), best=0.0, seed=1.0), TypeError),
        (lambda: hh.maximize_acquisition(*_space_and_model(), best="0"), TypeError),
        (lambda: hh.maximize_acquisition(*_space_and_model(), best=0.0, incumbents=[[0.5, 0, 0]]), TypeError),
        (lambda: hh.maximize_acquisition(*_space_and_model(), best=0.0, fantasy_repetitions=0), ValueError),
        (lambda: hh.maximize_acquisition(*_space_and_model(), best=0.0, threads=-1), ValueError),
    ],
)
def test_options_have_exact_types(call, error):
    with pytest.raises(error):
        call()


def test_integral_numpy_values_are_accepted():
    hh.GaussianProcess(restarts=np.int64(2), tolerance=np.float32(1e-6), seed=np.uint64(3))
    space, gp = _space_and_model()
    hh.maximize_acquisition(space, gp, best=np.float64(0.0), batch_size=np.int32(2), pool_size=50)


# -- issue 14: one rule, one layer ------------------------------------------------------
def test_each_rule_is_decided_once():
    # The core allows pool_size=0 (only the incumbents' climbs) and
    # tolerance=0 (stop on the gradient or the iteration limit); the
    # bindings and wrappers no longer second-guess it.
    space, gp = _space_and_model()
    assert len(hh.maximize_acquisition(space, gp, best=0.0, pool_size=0).points) == 0
    result = hh.maximize_acquisition(space, gp, best=0.0, pool_size=0, incumbents=[[0, 0, 0]], batch_size=2)
    assert len(result.points) == 2
    X, y = _data()
    assert np.isfinite(hh.GaussianProcess(tolerance=0, max_iterations=30).fit(X, y).log_marginal_likelihood)
    # Options objects are always valid: a rejected change leaves them as they were.
    options = _core.AcquisitionOptions(batch_size=4)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        options.batch_size = 0
    assert options.batch_size == 4
    with pytest.raises(TypeError, match="unexpected option"):
        _core.FitOptions(restart=3)
    assert options.replace(pool_size=7).pool_size == 7 and options.pool_size == 100_000


# -- item 9: one GaussianProcess shared by threads -----------------------------------------
def test_gp_shared_between_threads_is_safe():
    X, y = _data(400, 4, seed=2)
    gp = hh.GaussianProcess(seed=0, restarts=0, max_iterations=15).fit(X[:150], y[:150])
    space = hh.DiscreteSpace([hh.Ordinal((0.0, 0.5, 1.0))] * 4)
    tried = hh.PointSet(4)
    bad: list[str] = []
    errors: list[BaseException] = []
    deadline = time.monotonic() + 2.0

    def guarded(fn):
        def run() -> None:
            try:
                while time.monotonic() < deadline:
                    fn()
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        return run

    def writer() -> None:
        n = int(np.random.default_rng().integers(100, 350))
        gp.fit(X[:n], y[:n])
        gp.update(X[n : n + 5], y[n : n + 5])
        tried.add(space.sample(3, seed=n))

    def reader() -> None:
        mean, var = gp.predict(X[:300])
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(var)) and np.all(var > 0)):
            bad.append("predict")

    def maximiser() -> None:
        r = hh.maximize_acquisition(space, gp, best=0.0, batch_size=4, pool_size=200, exclude=tried)
        if not (np.all(np.isfinite(r.means)) and np.all(r.variances > 0)):
            bad.append("acquisition")

    threads = [threading.Thread(target=guarded(f)) for f in (writer, reader, reader, maximiser)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert not bad, bad


# -- item 10: results independent of the thread count ----------------------------------------
def test_fit_and_predict_do_not_depend_on_the_thread_count():
    # N=800 > 2 * screening size: the path where one refined start used to
    # run with multithreaded BLAS (lengthscales differed by 1.4e-4).
    rng = np.random.default_rng(1)
    X = rng.uniform(size=(800, 8))
    y = np.sin(3 * X[:, :3]).sum(axis=1) + 0.05 * rng.normal(size=800)
    results = []
    before = hh.get_num_threads()
    try:
        for threads in (1, 2):
            hh.set_num_threads(threads)
            gp = hh.GaussianProcess(seed=0, restarts=1).fit(X, y)
            results.append((gp.hyperparameters, gp.predict(X[:500])))
    finally:
        hh.set_num_threads(before)
    (hp1, (m1, v1)), (hp2, (m2, v2)) = results
    assert hp1 == hp2
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(v1, v2)
    # the per-model threads option is the same knob
    gp3 = hh.GaussianProcess(seed=0, restarts=1, threads=3).fit(X, y)
    assert gp3.hyperparameters == hp1
    np.testing.assert_array_equal(gp3.predict(X[:500])[1], v1)


_NO_THREADS_SCRIPT = """
import threading
import numpy as np
from helion_hybrid.gp import GaussianProcess
try:
    probe = threading.Thread(target=lambda: None)
    probe.start()
    probe.join()
    print("threads start")
except RuntimeError:
    pass
rng = np.random.default_rng(0)
X, Xs = rng.random((300, 4)), rng.random((50000, 4))
gp = GaussianProcess(threads=1).fit(X, np.sin(X).sum(1))
single = gp.predict(Xs)[0]
gp.threads = 8
print("same", bool(np.array_equal(gp.predict(Xs)[0], single)))
"""


def test_threads_that_cannot_be_created_do_not_abort_the_process():
    """Every new thread asks for a 1 TB stack (RLIMIT_STACK sets the default),
    so the OS refuses it: the core's parallel loops then run on the threads
    they have. Before, the first refusal escaped as a RuntimeError ("Resource
    temporarily unavailable"), or, with some threads started, unwound past
    them into std::terminate."""
    import os
    import resource
    import subprocess
    import sys

    def huge_stacks() -> None:
        resource.setrlimit(resource.RLIMIT_STACK, (2**40, resource.RLIM_INFINITY))

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, "-c", _NO_THREADS_SCRIPT],
        preexec_fn=huge_stacks,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if "threads start" in run.stdout:
        pytest.skip("this OS creates threads with a 1 TB stack, so thread creation cannot be made to fail here")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "same True" in run.stdout
