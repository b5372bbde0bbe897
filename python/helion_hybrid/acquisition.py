"""Acquisition functions and their maximisation over a discrete space."""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import numpy.typing as npt

from . import _core
from ._validation import as_float_array, as_index_array
from .gp import GaussianProcess
from .space import DiscreteSpace, PointSet

AcquisitionName = Literal["log_ei", "ei", "ucb", "log_ei_per_cost"]
_KINDS: dict[str, int] = {"log_ei": 0, "ei": 1, "ucb": 2, "log_ei_per_cost": 3}


@dataclasses.dataclass(frozen=True)
class AcquisitionResult:
    """A batch chosen by :func:`maximize_acquisition`.

    Attributes:
        points: the batch, shape (q, num_dims), distinct and not excluded, in
            the order picked.
        scores: acquisition value of each point when it was picked (later
            picks are scored with earlier picks fantasised as observed).
        means: posterior mean of each point.
        variances: posterior variance of each point when picked.
        candidates_scored: points whose mean and variance bound were computed.
        exact_evaluations: points whose exact variance was needed.
    """

    points: npt.NDArray[np.int32]
    scores: npt.NDArray[np.float64]
    means: npt.NDArray[np.float64]
    variances: npt.NDArray[np.float64]
    candidates_scored: int
    exact_evaluations: int


def log_expected_improvement(
    mean: npt.ArrayLike, variance: npt.ArrayLike, best: float
) -> npt.NDArray[np.float64]:
    """log EI for minimisation, accurate far into the tail where EI underflows."""
    return _core.log_expected_improvement(
        as_float_array(mean, "mean", 1), as_float_array(variance, "variance", 1), float(best)
    )


def expected_improvement(
    mean: npt.ArrayLike, variance: npt.ArrayLike, best: float
) -> npt.NDArray[np.float64]:
    """EI for minimisation: E[max(best - f, 0)]."""
    return _core.expected_improvement(
        as_float_array(mean, "mean", 1), as_float_array(variance, "variance", 1), float(best)
    )


def _kind(acquisition: str) -> int:
    try:
        return _KINDS[acquisition]
    except KeyError:
        raise ValueError(
            f"unknown acquisition {acquisition!r}; available: {', '.join(_KINDS)}"
        ) from None


def maximize_acquisition(
    space: DiscreteSpace,
    model: GaussianProcess,
    *,
    best: float,
    acquisition: AcquisitionName = "log_ei",
    batch_size: int = 16,
    pool_size: int = 100_000,
    local_starts: int = 10,
    local_max_steps: int = 50,
    seed: int = 0,
    threads: int | None = None,
    exclude: PointSet | None = None,
    incumbents: npt.ArrayLike | None = None,
    cost_model: GaussianProcess | None = None,
    feasibility_model: GaussianProcess | None = None,
    feasibility_floor: float = 1e-3,
    ucb_beta: float = 2.0,
    fantasy_repetitions: float = 50.0,
) -> AcquisitionResult:
    """Choose a diverse batch of points that maximise the acquisition.

    Scores a seeded uniform random pool exactly (the variance is computed
    exactly only where an upper bound says a point can still make the batch),
    hill-climbs over single-step neighbours from the pool's best points and
    from ``incumbents``, and fills the batch by kriging believer.

    Args:
        space: the discrete space; ``model`` must be fitted on its features.
        model: GP of the objective to minimise (e.g. log kernel time).
        best: incumbent objective value, in the model's units.
        acquisition: ``log_ei``, ``ei``, ``ucb`` (lower confidence bound) or
            ``log_ei_per_cost`` (needs ``cost_model``: a GP of log seconds).
        batch_size: q, the number of distinct points returned (fewer only if
            the space runs out of non-excluded points).
        pool_size: random candidates scored.
        local_starts: hill-climbs from the pool's best points.
        local_max_steps: steps per hill-climb.
        seed: seeds the pool; same seed and inputs, same batch.
        threads: threads (None: the core's default).
        exclude: points never returned (e.g. those already measured).
        incumbents: extra hill-climb starts, shape (k, num_dims).
        cost_model: GP of log cost seconds, for ``log_ei_per_cost``.
        feasibility_model: GP of 0/1 success labels; its clipped mean
            multiplies EI so points like failed ones are down-weighted.
        feasibility_floor: lower clip of the feasibility probability.
        ucb_beta: exploration weight of ``ucb``.
        fantasy_repetitions: repetitions assumed for fantasised picks.

    Raises:
        ValueError: bad arguments or models fitted on another feature count.
        NotFittedError: a model is not fitted.
    """
    kind = _kind(acquisition)
    if kind == _KINDS["log_ei_per_cost"] and cost_model is None:
        raise ValueError("acquisition 'log_ei_per_cost' needs a cost_model")
    if not np.isfinite(best):
        raise ValueError(f"best must be finite, got {best}")
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if exclude is not None and not isinstance(exclude, PointSet):
        raise TypeError("exclude must be a helion_hybrid.PointSet")
    if exclude is not None and exclude.core.num_dims != space.num_dims:
        raise ValueError(f"exclude holds {exclude.core.num_dims}-D points but the space has {space.num_dims} dims")
    if incumbents is not None:
        incumbents = as_index_array(incumbents, "incumbents", 2)
        if incumbents.shape[0] and incumbents.shape[1] != space.num_dims:
            raise ValueError(f"incumbents must have {space.num_dims} columns, got shape {incumbents.shape}")
    result = _core.maximize_acquisition(
        space.core,
        model.core,
        None if cost_model is None else cost_model.core,
        None if feasibility_model is None else feasibility_model.core,
        float(feasibility_floor),
        kind,
        float(best),
        float(ucb_beta),
        int(batch_size),
        int(pool_size),
        int(local_starts),
        int(local_max_steps),
        int(seed),
        int(threads or 0),
        float(fantasy_repetitions),
        None if exclude is None else exclude.core,
        incumbents,
    )
    return AcquisitionResult(
        points=result["points"],
        scores=result["scores"],
        means=result["means"],
        variances=result["variances"],
        candidates_scored=int(result["candidates_scored"]),
        exact_evaluations=int(result["exact_evaluations"]),
    )


def score_points(
    space: DiscreteSpace,
    model: GaussianProcess,
    points: npt.ArrayLike,
    *,
    best: float,
    acquisition: AcquisitionName = "log_ei",
    cost_model: GaussianProcess | None = None,
    feasibility_model: GaussianProcess | None = None,
    feasibility_floor: float = 1e-3,
    ucb_beta: float = 2.0,
) -> npt.NDArray[np.float64]:
    """Exact acquisition values of given points (no pruning, no fantasies)."""
    kind = _kind(acquisition)
    if kind == _KINDS["log_ei_per_cost"] and cost_model is None:
        raise ValueError("acquisition 'log_ei_per_cost' needs a cost_model")
    points = as_index_array(points, "points", 2)
    return _core.score_points(
        space.core,
        model.core,
        None if cost_model is None else cost_model.core,
        None if feasibility_model is None else feasibility_model.core,
        float(feasibility_floor),
        kind,
        float(best),
        float(ucb_beta),
        points,
    )
