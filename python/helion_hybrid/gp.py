"""Gaussian-process regression backed by the C++ core."""

from __future__ import annotations

import dataclasses
from typing import Any

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
    """

    lengthscales: tuple[float, ...]
    signal_variance: float
    noise_variance: float
    noise_floor: float
    mean: float

    def __post_init__(self) -> None:
        lengthscales = tuple(float(v) for v in self.lengthscales)
        object.__setattr__(self, "lengthscales", lengthscales)
        if not lengthscales:
            raise ValueError("lengthscales must not be empty")
        if not all(np.isfinite(v) and v > 0 for v in lengthscales):
            raise ValueError(f"lengthscales must be finite and > 0, got {lengthscales}")
        for name in ("signal_variance", "noise_variance", "noise_floor", "mean"):
            value = float(getattr(self, name))
            object.__setattr__(self, name, value)
            if not np.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value}")
        if self.signal_variance <= 0:
            raise ValueError(f"signal_variance must be > 0, got {self.signal_variance}")
        if self.noise_variance < 0 or self.noise_floor < 0:
            raise ValueError("noise_variance and noise_floor must be >= 0")


def _repetitions(value: Any, n: int) -> npt.NDArray[np.float64] | None:
    if value is None:
        return None
    reps = as_float_array(value, "repetitions", 1)
    if reps.shape[0] != n:
        raise ValueError(f"repetitions has length {reps.shape[0]} but y has length {n}")
    if np.any(reps <= 0):
        raise ValueError("repetitions must be > 0")
    return reps


class GaussianProcess:
    """Matern-5/2 ARD Gaussian process with multi-fidelity noise.

    Observation i, the summary of ``repetitions[i]`` timing repetitions, has
    noise variance ``noise_variance / repetitions[i] + noise_floor``, so a
    config timed 5 times counts less than one timed 50 times.

    Args:
        kernel: only ``"matern52"``.
        seed: seeds the hyperparameter restarts (same seed, same fit).
        restarts: random restarts of the hyperparameter fit besides the
            warm/default start.
        max_iterations: L-BFGS iterations per start.
        tolerance: relative change of the objective that ends a start.
        hyperparameters: fixed hyperparameters; when given, :meth:`fit` only
            conditions on the data and never optimises them.
        threads: threads for predictions (None: the core's default).

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
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        if restarts < 0:
            raise ValueError(f"restarts must be >= 0, got {restarts}")
        if max_iterations < 1:
            raise ValueError(f"max_iterations must be >= 1, got {max_iterations}")
        if not tolerance > 0:
            raise ValueError(f"tolerance must be > 0, got {tolerance}")
        if hyperparameters is not None and not isinstance(hyperparameters, Hyperparameters):
            raise TypeError("hyperparameters must be a helion_hybrid.Hyperparameters")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self.kernel = kernel
        self.seed = int(seed)
        self.restarts = int(restarts)
        self.max_iterations = int(max_iterations)
        self.tolerance = float(tolerance)
        self.fixed_hyperparameters = hyperparameters
        self.threads = threads
        self._model: Any = None
        self._fits = 0
        self.fit_evaluations_ = 0

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

        Args:
            X: inputs, shape (n, d); float32 or non-contiguous input is converted.
            y: targets, shape (n,).
            repetitions: timing repetitions behind each target, shape (n,),
                all > 0 (default: 1 each).

        Returns:
            self.

        Raises:
            ValueError: wrong shapes, empty input, NaN/inf, repetitions <= 0.
            TypeError: non-numeric input.
        """
        X = as_float_array(X, "X", 2)
        y = as_float_array(y, "y", 1)
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has length {y.shape[0]}")
        reps = _repetitions(repetitions, y.shape[0])
        dim = X.shape[1]
        fixed = self.fixed_hyperparameters
        if fixed is not None and len(fixed.lengthscales) != dim:
            raise ValueError(
                f"fixed hyperparameters have {len(fixed.lengthscales)} lengthscales but X has {dim} columns"
            )
        warm = self._model is not None and self._model.dim == dim
        if not warm:
            self._model = _core.GaussianProcess(dim)
            if fixed is not None:
                self._set_hyperparameters(fixed)
        self._model.set_data(X, y, reps)
        if fixed is None:
            result = self._model.fit(
                restarts=self.restarts,
                max_iterations=self.max_iterations,
                tolerance=self.tolerance,
                # a different stream per refit, still a function of the seed
                seed=(self.seed * 1_000_003 + self._fits) % 2**64,
                warm_start=warm,
            )
            self.fit_evaluations_ = int(result["evaluations"])
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
        """
        model = self._fitted()
        X = as_float_array(X, "X", 2)
        y = as_float_array(y, "y", 1)
        if X.shape[1] != model.dim:
            raise ValueError(f"X has {X.shape[1]} columns but the model was fitted on {model.dim}")
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has length {y.shape[0]}")
        model.add_points(X, y, _repetitions(repetitions, y.shape[0]))
        return self

    def _set_hyperparameters(self, hp: Hyperparameters) -> None:
        self._model.set_hyperparameters(
            np.asarray(hp.lengthscales, dtype=np.float64),
            hp.signal_variance,
            hp.noise_variance,
            hp.noise_floor,
            hp.mean,
        )

    def _fitted(self) -> Any:
        if self._model is None or self._model.size == 0:
            raise NotFittedError("GaussianProcess is not fitted: call fit(X, y) first")
        return self._model

    # -- prediction ------------------------------------------------------------
    def predict(
        self, X: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Posterior mean and variance of the latent function (no noise).

        Args:
            X: candidates, shape (m, d); m may be large (computed in chunks).

        Returns:
            (mean, variance), each shape (m,).
        """
        model = self._fitted()
        X = self._candidates(X, model.dim)
        return model.predict(X, threads=self.threads or 0)

    def predict_mean(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Posterior mean only (much cheaper than :meth:`predict` for large m)."""
        model = self._fitted()
        X = self._candidates(X, model.dim)
        return model.predict_mean(X, threads=self.threads or 0)

    @staticmethod
    def _candidates(X: npt.ArrayLike, dim: int) -> npt.NDArray[np.float64]:
        X = as_float_array(X, "X", 2)
        if X.shape[1] != dim:
            raise ValueError(f"X has {X.shape[1]} columns but the model was fitted on {dim}")
        return X

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
        if packed is None:
            packed = model.pack()
        packed = as_float_array(packed, "packed", 1)
        return model.lml_and_gradient(packed)

    @property
    def core(self) -> Any:
        """The underlying ``helion_hybrid._core.GaussianProcess`` (advanced use)."""
        return self._fitted()


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
