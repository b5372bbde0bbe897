"""Gaussian-process regression backed by the C++ core."""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from . import _core
from ._validation import as_float_array

KERNELS = ("matern52",)


class NotFittedError(RuntimeError):
    """Raised when a model is used before :meth:`GaussianProcess.fit`."""


@dataclasses.dataclass(frozen=True)
class Hyperparameters:
    """Hyperparameters in the units of the data.

    Attributes:
        lengthscales: one per input feature (ARD), all > 0.
        signal_variance: prior variance of the latent function, > 0.
        noise_variance: noise variance of one timing repetition (sigma2);
            an observation of r repetitions has noise sigma2 / r + noise_floor.
        noise_floor: noise that repetitions cannot average away (tau2).
        mean: constant prior mean.

    Raises:
        TypeError: a value that is not a real number (a str, a bool) or
            lengthscales that are not a sequence of them.
        ValueError: a value the C++ core rejects (non-finite, not positive).
    """

    lengthscales: tuple[float, ...]
    signal_variance: float
    noise_variance: float
    noise_floor: float
    mean: float

    def __post_init__(self) -> None:
        # The core converts (exact types) and validates; we keep its floats.
        checked = _core.validate_hyperparameters(
            self.lengthscales, self.signal_variance, self.noise_variance, self.noise_floor, self.mean
        )
        for field, value in zip(dataclasses.fields(self), checked, strict=True):
            object.__setattr__(self, field.name, value)


def _option(name: str, doc: str) -> property:
    """A read-only property showing one field of the model's core FitOptions."""
    return property(lambda self: getattr(self._options, name), doc=doc)


class GaussianProcess:
    """Matern-5/2 ARD Gaussian process with multi-fidelity noise.

    Observation i, the summary of ``repetitions[i]`` timing repetitions, has
    noise variance ``noise_variance / repetitions[i] + noise_floor``, so a
    config timed 5 times counts less than one timed 50 times.

    Every call that changes the model (:meth:`fit`, :meth:`update`) either
    completes or raises and leaves the model as it was; inputs the model
    cannot represent (features or targets that overflow in double precision,
    a kernel matrix that cannot be made positive definite) raise ValueError
    before anything changes.

    Thread safety: one instance may be used from several threads. Reads
    (:meth:`predict`, :meth:`predict_mean`, the properties, acquisition
    maximisation) run concurrently; :meth:`fit` and :meth:`update` take the
    model exclusively (a reader-writer lock in the C++ bindings; the GIL is
    released around the numerical work). A read sees the model before or
    after a concurrent write, never in between.

    Results do not depend on the thread count: the same seed and inputs give
    bitwise the same hyperparameters and predictions for any ``threads``.

    Args:
        kernel: only ``"matern52"``.
        seed: seeds the hyperparameter restarts (same seed, same fit).
        restarts: random restarts of the hyperparameter fit besides the
            warm/default start.
        max_iterations: L-BFGS iterations per start.
        tolerance: relative change of the objective that ends a start.
        hyperparameters: fixed hyperparameters; when given, :meth:`fit` only
            conditions on the data and never optimises them.
        threads: threads for the fit and predictions (None or 0: the core's
            default, see :func:`helion_hybrid.set_num_threads`).

    Raises:
        TypeError: an option of the wrong type (e.g. ``restarts=1.5``).
        ValueError: an option out of range (checked by the C++ core).

    Example:
        >>> gp = GaussianProcess(seed=0).fit(X, y, repetitions=reps)
        >>> mean, variance = gp.predict(X_candidates)
    """

    def __init__(
        self,
        kernel: str = "matern52",
        *,
        seed: int = 0,
        restarts: int = 3,
        max_iterations: int = 200,
        tolerance: float = 1e-6,
        hyperparameters: Hyperparameters | None = None,
        threads: int | None = None,
    ) -> None:
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}; available: {', '.join(KERNELS)}")
        if hyperparameters is not None and not isinstance(hyperparameters, Hyperparameters):
            raise TypeError("hyperparameters must be a helion_hybrid.Hyperparameters")
        self.kernel = kernel
        self._options = _core.FitOptions(
            seed=seed,
            restarts=restarts,
            max_iterations=max_iterations,
            tolerance=tolerance,
            threads=0 if threads is None else threads,
        )
        self.fixed_hyperparameters = hyperparameters
        self._model: _core.GaussianProcess | None = None
        self._fits = 0
        self.fit_evaluations_ = 0

    # -- options (read access; set at construction) ------------------------------------
    seed = _option("seed", "Seed of the hyperparameter restarts.")
    restarts = _option("restarts", "Random restarts of each fit.")
    max_iterations = _option("max_iterations", "L-BFGS iterations per start.")
    tolerance = _option("tolerance", "Relative objective change that ends a start.")

    @property
    def threads(self) -> int | None:
        """Threads for the fit and predictions (None: the core's default)."""
        return int(self._options.threads) or None

    @threads.setter
    def threads(self, value: int | None) -> None:
        self._options = self._options.replace(threads=0 if value is None else value)

    # -- fitting ---------------------------------------------------------------
    def fit(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        repetitions: npt.ArrayLike | None = None,
    ) -> GaussianProcess:
        """Condition on data and (unless fixed) fit the hyperparameters.

        A refit of a model with the same input dimension starts from the
        previous hyperparameters (warm start) besides the random restarts.
        Targets are standardised by their spread for the fit, however small
        (down to 1e-150), so ``c * y`` fits like ``y``; constant targets, and
        spreads below 1e-150 (whose variance a double cannot hold), are
        fitted as their mean.

        Args:
            X: inputs, shape (n, d); float32 or non-contiguous input is converted.
            y: targets, shape (n,).
            repetitions: timing repetitions behind each target, shape (n,),
                all > 0 (default: 1 each).

        Returns:
            self.

        Raises:
            ValueError: wrong shapes, empty input, NaN/inf, repetitions <= 0,
                values that overflow the model; the model is then unchanged.
            TypeError: non-numeric input.
        """
        X = np.asarray(X)
        dim = X.shape[1] if X.ndim == 2 else 1  # other shapes: the core says why
        warm = self._model is not None and self._model.dim == dim
        # A new model is only kept once it fitted (strong guarantee).
        model = self._model if warm else _core.GaussianProcess(dim)
        fixed = self.fixed_hyperparameters
        if fixed is None:
            options = self._options.replace(
                # a different stream per refit, still a function of the seed
                seed=(self._options.seed * 1_000_003 + self._fits) % 2**64,
                warm_start=warm,
            )
            result = model.fit_data(X, y, repetitions, options)
            self.fit_evaluations_ = int(result["evaluations"])
        else:
            if not warm:
                model.set_hyperparameters(*dataclasses.astuple(fixed))
            model.set_data(X, y, repetitions)
        self._model = model
        self._fits += 1
        return self

    def update(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        repetitions: npt.ArrayLike | None = None,
    ) -> GaussianProcess:
        """Add observations without refitting hyperparameters.

        Extends the Cholesky factor in O(n^2 k) rather than refactorising.

        Raises:
            NotFittedError: before the first :meth:`fit`.
            ValueError: bad or overflowing input; the model is then unchanged.
        """
        self._fitted().add_points(X, y, repetitions)
        return self

    def _fitted(self) -> _core.GaussianProcess:
        if self._model is None or self._model.size == 0:
            raise NotFittedError("GaussianProcess is not fitted: call fit(X, y) first")
        return self._model

    # -- prediction ------------------------------------------------------------
    def predict(self, X: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Posterior mean and variance of the latent function (no noise).

        Args:
            X: candidates, shape (m, d); m may be large (computed in chunks).

        Returns:
            (mean, variance), each shape (m,).

        Raises:
            NotFittedError: before the first :meth:`fit`.
            ValueError: wrong shape, NaN/inf, or candidates so far from the
                data that the kernel overflows.
        """
        return self._fitted().predict(X, threads=self._options.threads)

    def predict_mean(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Posterior mean only (much cheaper than :meth:`predict` for large m)."""
        return self._fitted().predict_mean(X, threads=self._options.threads)

    # -- read access -------------------------------------------------------------
    @property
    def hyperparameters(self) -> Hyperparameters:
        """The current (fitted or fixed) hyperparameters, in data units."""
        hp = self._fitted().hyperparameters()
        return Hyperparameters(
            lengthscales=tuple(hp["lengthscales"]),
            signal_variance=hp["signal_variance"],
            noise_variance=hp["noise_variance"],
            noise_floor=hp["noise_floor"],
            mean=hp["mean"],
        )

    @property
    def log_marginal_likelihood(self) -> float:
        """Log marginal likelihood of the data under the current hyperparameters."""
        return float(self._fitted().log_marginal_likelihood)

    @property
    def n_observations(self) -> int:
        """Number of conditioned observations (0 before fit)."""
        return 0 if self._model is None else int(self._model.size)

    def log_marginal_likelihood_gradient(
        self, packed: npt.ArrayLike | None = None
    ) -> tuple[float, npt.NDArray[np.float64]]:
        """LML and its gradient with respect to the packed parameters.

        The packing is ``[log l_1..log l_d, log signal_variance,
        log noise_variance, log noise_floor, mean]``.

        Args:
            packed: parameters to evaluate at (default: the current ones).
        """
        model = self._fitted()
        return model.lml_and_gradient(model.pack() if packed is None else packed)

    @property
    def core(self) -> _core.GaussianProcess:
        """The underlying ``helion_hybrid._core.GaussianProcess`` (advanced use)."""
        return self._fitted()


def _repetitions(value: npt.ArrayLike | None, n: int) -> npt.NDArray[np.float64] | None:
    if value is None:
        return None
    reps = as_float_array(value, "repetitions", 1)
    if reps.shape[0] != n:
        raise ValueError(f"repetitions has length {reps.shape[0]} but y has length {n}")
    if np.any(reps <= 0):
        raise ValueError("repetitions must be > 0")
    return reps


def merge_duplicates(
    X: npt.ArrayLike, y: npt.ArrayLike, repetitions: npt.ArrayLike | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Merge repeated measurements of the same input into one row.

    The merged target is the repetition-weighted mean and the merged
    repetition count the sum, so the merged row carries the combined noise
    (sigma2 / sum r) of its parts.

    Returns:
        (X_unique, y_merged, repetitions_merged), rows in first-seen order.
    """
    X = as_float_array(X, "X", 2)
    y = as_float_array(y, "y", 1)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has length {y.shape[0]}")
    reps = _repetitions(repetitions, y.shape[0])
    if reps is None:
        reps = np.ones_like(y)
    _, first, inverse = np.unique(X, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(first)  # unique rows in first-seen order
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    groups = rank[inverse]
    total_reps = np.bincount(groups, weights=reps)
    merged_y = np.bincount(groups, weights=reps * y) / total_reps
    return X[np.sort(first)], np.asarray(merged_y, dtype=np.float64), np.asarray(total_reps, dtype=np.float64)
