"""GaussianProcess against NumPy / scikit-learn references and edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import matern52, smooth_objective
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern

import helion_hybrid as hh


def _hyperparameters(dim: int, rng: np.random.Generator) -> hh.Hyperparameters:
    return hh.Hyperparameters(
        lengthscales=tuple(rng.uniform(0.3, 2.0, dim)),
        signal_variance=1.7,
        noise_variance=0.05,
        noise_floor=0.01,
        mean=0.4,
    )


def _sklearn_reference(X, y, reps, hp: hh.Hyperparameters):
    kernel = ConstantKernel(hp.signal_variance, "fixed") * Matern(
        length_scale=np.array(hp.lengthscales), length_scale_bounds="fixed", nu=2.5
    )
    noise = hp.noise_variance / reps + hp.noise_floor
    gpr = GaussianProcessRegressor(kernel=kernel, alpha=noise, optimizer=None, normalize_y=False)
    return gpr.fit(X, y - hp.mean)


@pytest.mark.parametrize("n, dim", [(1, 3), (7, 2), (60, 5), (300, 20)])
def test_matches_sklearn_with_identical_hyperparameters(rng, n, dim):
    X = rng.uniform(size=(n, dim))
    y = smooth_objective(np.pad(X, ((0, 0), (0, max(0, 3 - dim))))) + 0.05 * rng.normal(size=n)
    reps = rng.choice([5.0, 15.0, 50.0], size=n)
    hp = _hyperparameters(dim, rng)
    gp = hh.GaussianProcess(hyperparameters=hp).fit(X, y, repetitions=reps)
    ref = _sklearn_reference(X, y, reps, hp)

    Xc = rng.uniform(-0.2, 1.2, size=(257, dim))
    mean, var = gp.predict(Xc)
    ref_mean, ref_std = ref.predict(Xc, return_std=True)
    ref_mean = ref_mean + hp.mean
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(var, ref_std**2, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gp.log_marginal_likelihood, ref.log_marginal_likelihood_value_, rtol=1e-6)
    np.testing.assert_allclose(gp.predict_mean(Xc), ref_mean, rtol=1e-6, atol=1e-9)


def test_predict_in_many_chunks_matches_numpy(rng):
    # m far above any chunk size exercises the chunked, threaded path.
    dim, n, m = 4, 50, 5003
    X = rng.uniform(size=(n, dim))
    y = rng.normal(size=n)
    hp = _hyperparameters(dim, rng)
    gp = hh.GaussianProcess(hyperparameters=hp, threads=2).fit(X, y)
    Xc = rng.uniform(size=(m, dim))
    K = matern52(X, X, np.array(hp.lengthscales), hp.signal_variance) + np.eye(n) * (hp.noise_variance + hp.noise_floor)
    Ks = matern52(Xc, X, np.array(hp.lengthscales), hp.signal_variance)
    ref_mean = hp.mean + Ks @ np.linalg.solve(K, y - hp.mean)
    ref_var = hp.signal_variance - np.einsum("ij,ji->i", Ks, np.linalg.solve(K, Ks.T))
    mean, var = gp.predict(Xc)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(var, np.maximum(ref_var, 0), rtol=1e-6, atol=1e-9)


def test_gradient_matches_finite_differences(rng):
    dim, n = 4, 40
    X = rng.uniform(size=(n, dim))
    y = smooth_objective(X) + 0.1 * rng.normal(size=n)
    reps = rng.choice([5.0, 50.0], size=n)
    gp = hh.GaussianProcess(hyperparameters=_hyperparameters(dim, rng)).fit(X, y, repetitions=reps)
    packed = gp.core.pack()
    lml, grad = gp.log_marginal_likelihood_gradient(packed)
    assert lml == pytest.approx(gp.log_marginal_likelihood, rel=1e-12)
    step = 1e-5
    for i in range(packed.size):
        plus, minus = packed.copy(), packed.copy()
        plus[i] += step
        minus[i] -= step
        numeric = (gp.log_marginal_likelihood_gradient(plus)[0] - gp.log_marginal_likelihood_gradient(minus)[0]) / (
            2 * step
        )
        assert grad[i] == pytest.approx(numeric, rel=1e-5, abs=1e-6), f"parameter {i}"


def test_update_equals_full_refit(rng):
    dim = 6
    X = rng.uniform(size=(80, dim))
    y = smooth_objective(X)
    reps = rng.choice([5.0, 15.0, 50.0], size=80)
    hp = _hyperparameters(dim, rng)
    incremental = hh.GaussianProcess(hyperparameters=hp).fit(X[:50], y[:50], reps[:50])
    incremental.update(X[50:70], y[50:70], reps[50:70]).update(X[70:], y[70:], reps[70:])
    full = hh.GaussianProcess(hyperparameters=hp).fit(X, y, reps)
    Xc = rng.uniform(size=(300, dim))
    for a, b in zip(incremental.predict(Xc), full.predict(Xc)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    assert incremental.log_marginal_likelihood == pytest.approx(full.log_marginal_likelihood, rel=1e-9)
    assert incremental.n_observations == 80


def test_fit_improves_likelihood_and_recovers_relevance(rng):
    # y depends on the first two features only: their lengthscales must come
    # out much shorter than those of the irrelevant features.
    dim, n = 6, 150
    X = rng.uniform(size=(n, dim))
    y = np.sin(4 * X[:, 0]) + np.cos(3 * X[:, 1]) + 0.01 * rng.normal(size=n)
    gp = hh.GaussianProcess(seed=0).fit(X, y)
    ls = np.array(gp.hyperparameters.lengthscales)
    assert ls[:2].max() < ls[2:].min() / 3
    default = hh.GaussianProcess(
        hyperparameters=hh.Hyperparameters((1.0,) * dim, float(np.var(y)), 0.01, 1e-6, float(np.mean(y)))
    ).fit(X, y)
    assert gp.log_marginal_likelihood > default.log_marginal_likelihood
    Xt = rng.uniform(size=(200, dim))
    mean, _ = gp.predict(Xt)
    truth = np.sin(4 * Xt[:, 0]) + np.cos(3 * Xt[:, 1])
    assert np.sqrt(np.mean((mean - truth) ** 2)) < 0.1


def test_fit_matches_sklearn_likelihood(rng):
    # Within the same bounds (ours are in standardised-target units, so
    # scikit-learn gets normalize_y=True) our fit must reach scikit-learn's
    # likelihood up to what the weak log-normal lengthscale prior costs: we
    # maximise LML + log prior, so a couple of nats may go to the prior.
    from sklearn.gaussian_process.kernels import WhiteKernel

    dim, n = 5, 120
    X = rng.uniform(size=(n, dim))
    y = smooth_objective(X) + 0.05 * rng.normal(size=n)
    ours = hh.GaussianProcess(seed=1, restarts=2).fit(X, y)
    kernel = ConstantKernel(1.0, (1e-3, 1e2)) * Matern(np.ones(dim), (1e-2, 1e2), nu=2.5) + WhiteKernel(
        1e-2, (1e-8, 10)
    )
    ref = GaussianProcessRegressor(kernel, n_restarts_optimizer=2, random_state=0, normalize_y=True).fit(X, y)
    ref_lml_raw_units = ref.log_marginal_likelihood_value_ - n * np.log(y.std())
    assert ours.log_marginal_likelihood >= ref_lml_raw_units - 2.0
    # and the likelihood itself is evaluated exactly: ours at sklearn's optimum
    k = ref.kernel_
    s2 = y.std() ** 2
    at_ref = hh.GaussianProcess(
        hyperparameters=hh.Hyperparameters(
            tuple(k.k1.k2.length_scale), k.k1.k1.constant_value * s2, k.k2.noise_level * s2, 0.0, y.mean()
        )
    ).fit(X, y)
    assert at_ref.log_marginal_likelihood == pytest.approx(ref_lml_raw_units, rel=1e-6)


def test_multifidelity_noise_weights_observations():
    # Two conflicting observations of the same point: the one with more
    # repetitions must pull the posterior mean towards itself.
    hp = hh.Hyperparameters((1.0,), 1.0, noise_variance=1.0, noise_floor=1e-6, mean=0.0)
    X = np.array([[0.5], [0.5]])
    gp = hh.GaussianProcess(hyperparameters=hp).fit(X, [0.0, 1.0], repetitions=[5, 50])
    mean, _ = gp.predict([[0.5]])
    assert mean[0] > 0.75
    gp.fit(X, [0.0, 1.0], repetitions=[50, 5])
    assert gp.predict([[0.5]])[0][0] < 0.25


def test_merge_duplicates_preserves_posterior():
    hp = hh.Hyperparameters((0.7, 0.7), 1.0, noise_variance=0.3, noise_floor=0.0, mean=0.0)
    X = np.array([[0, 0], [1, 1], [0, 0], [0.5, 0.2]], dtype=float)
    y = np.array([1.0, 2.0, 3.0, 0.0])
    reps = np.array([5.0, 5.0, 15.0, 50.0])
    Xm, ym, rm = hh.merge_duplicates(X, y, reps)
    np.testing.assert_array_equal(Xm, [[0, 0], [1, 1], [0.5, 0.2]])
    np.testing.assert_allclose(ym, [(5 * 1 + 15 * 3) / 20, 2.0, 0.0])
    np.testing.assert_allclose(rm, [20, 5, 50])
    # with no noise floor, merging is exact for the posterior
    Xc = np.random.default_rng(0).uniform(size=(50, 2))
    a = hh.GaussianProcess(hyperparameters=hp).fit(X, y, reps).predict(Xc)
    b = hh.GaussianProcess(hyperparameters=hp).fit(Xm, ym, rm).predict(Xc)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "X, y",
    [
        (np.zeros((1, 3)), np.array([2.0])),  # n = 1
        (np.ones((20, 2)), np.linspace(0, 1, 20)),  # all duplicates
        (np.random.default_rng(0).uniform(size=(30, 4)), np.full(30, 3.0)),  # constant target
        (np.repeat(np.random.default_rng(1).uniform(size=(5, 3)), 8, axis=0), np.arange(40.0)),
        (np.linspace(0, 1e-9, 50)[:, None], np.sin(np.arange(50.0))),  # near-singular kernel
    ],
)
def test_degenerate_data_fit_without_nan(X, y):
    gp = hh.GaussianProcess(seed=3).fit(X, y)
    mean, var = gp.predict(np.vstack([X[:3], X[:3] + 0.5]))
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(var)) and np.all(var >= 0)
    assert np.isfinite(gp.log_marginal_likelihood)
    hp = gp.hyperparameters
    assert all(np.isfinite(v) and v > 0 for v in hp.lengthscales)


def test_fit_is_deterministic_under_seed(rng):
    X = rng.uniform(size=(60, 5))
    y = smooth_objective(X) + 0.1 * rng.normal(size=60)
    a = hh.GaussianProcess(seed=7).fit(X, y)
    b = hh.GaussianProcess(seed=7).fit(X, y)
    assert a.hyperparameters == b.hyperparameters
    assert a.log_marginal_likelihood == b.log_marginal_likelihood


def test_warm_start_never_worsens_refit(rng):
    X = rng.uniform(size=(80, 4))
    y = smooth_objective(X)
    gp = hh.GaussianProcess(seed=0, restarts=1).fit(X[:60], y[:60])
    gp.fit(X, y)
    cold = hh.GaussianProcess(seed=0, restarts=0).fit(X, y)
    assert gp.log_marginal_likelihood >= cold.log_marginal_likelihood - 1e-6


def test_float32_and_noncontiguous_inputs_are_converted(rng):
    X = rng.uniform(size=(30, 6))
    y = smooth_objective(X)
    hp = _hyperparameters(3, rng)
    a = hh.GaussianProcess(hyperparameters=hp).fit(X[:, ::2].astype(np.float32), y.astype(np.float32))
    b = hh.GaussianProcess(hyperparameters=hp).fit(
        np.ascontiguousarray(X[:, ::2].astype(np.float32), dtype=np.float64), y.astype(np.float32).astype(np.float64)
    )
    Xc = rng.uniform(size=(10, 3))
    np.testing.assert_array_equal(a.predict(Xc)[0], b.predict(Xc[:, :].copy())[0])
    np.testing.assert_array_equal(a.predict(np.asfortranarray(Xc))[1], b.predict(Xc)[1])


@pytest.mark.parametrize(
    "X, y, reps, message",
    [
        (np.zeros((0, 2)), np.zeros(0), None, "empty"),
        (np.zeros(3), np.zeros(3), None, "2-D"),
        (np.zeros((3, 2)), np.zeros(4), None, "rows"),
        (np.zeros((3, 2)), np.zeros((3, 1)), None, "1-D"),
        (np.array([[0.0, np.nan]]), np.zeros(1), None, "NaN"),
        (np.zeros((2, 2)), np.array([0.0, np.inf]), None, "NaN or inf"),
        (np.zeros((2, 2)), np.zeros(2), np.array([1.0, 0.0]), "> 0"),
        (np.zeros((2, 2)), np.zeros(2), np.array([1.0]), "length"),
    ],
)
def test_bad_inputs_raise_value_error(X, y, reps, message):
    with pytest.raises(ValueError, match=message):
        hh.GaussianProcess().fit(X, y, repetitions=reps)


def test_bad_arguments_and_state():
    with pytest.raises(TypeError):
        hh.GaussianProcess().fit([["a", "b"]], [1.0])
    with pytest.raises(ValueError, match="kernel"):
        hh.GaussianProcess(kernel="rbf")
    with pytest.raises(ValueError):
        hh.Hyperparameters((1.0, -1.0), 1.0, 0.1, 0.0, 0.0)
    gp = hh.GaussianProcess()
    with pytest.raises(hh.NotFittedError):
        gp.predict(np.zeros((1, 2)))
    gp.fit(np.zeros((2, 2)) + [[0, 0], [1, 1]], [0.0, 1.0])
    with pytest.raises(ValueError, match="columns"):
        gp.predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="lengthscales"):
        hh.GaussianProcess(hyperparameters=hh.Hyperparameters((1.0,), 1.0, 0.1, 0.0, 0.0)).fit(
            np.zeros((2, 2)), [0.0, 1.0]
        )


def test_predict_empty_candidates(rng):
    # Zero candidates are not an error (the core's rule): empty results.
    gp = hh.GaussianProcess(hyperparameters=_hyperparameters(2, rng)).fit(rng.uniform(size=(5, 2)), rng.normal(size=5))
    mean, var = gp.predict(np.zeros((0, 2)))
    assert mean.shape == (0,) and var.shape == (0,)
    assert gp.predict_mean(np.zeros((0, 2))).shape == (0,)
