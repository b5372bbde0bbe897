"""Acquisition functions and their maximisation over a discrete space."""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import numpy.typing as npt

from . import _core
from .gp import GaussianProcess
from .space import DiscreteSpace, PointSet

AcquisitionName = Literal["log_ei", "ei", "ucb", "log_ei_per_cost"]
_KINDS: dict[str, int] = {"log_ei": 0, "ei": 1, "ucb": 2, "log_ei_per_cost": 3}
#: The feasibility probability is clipped below at this (a config predicted to fail keeps some chance).
FEASIBILITY_FLOOR = 1e-3


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


def log_expected_improvement(mean: npt.ArrayLike, variance: npt.ArrayLike, best: float) -> npt.NDArray[np.float64]:
    """log EI for minimisation, accurate far into the tail where EI underflows.

    Raises:
        ValueError: NaN or inf in the inputs, or shapes that differ.
    """
    return _core.log_expected_improvement(mean, variance, best)


def expected_improvement(mean: npt.ArrayLike, variance: npt.ArrayLike, best: float) -> npt.NDArray[np.float64]:
    """EI for minimisation: E[max(best - f, 0)]."""
    return _core.expected_improvement(mean, variance, best)


def _kind(acquisition: str) -> int:
    try:
        return _KINDS[acquisition]
    except KeyError:
        raise ValueError(f"unknown acquisition {acquisition!r}; available: {', '.join(_KINDS)}") from None


def _model_core(model: GaussianProcess | None, name: str) -> _core.GaussianProcess | None:
    if model is None:
        return None
    if not isinstance(model, GaussianProcess):
        raise TypeError(f"{name} must be a helion_hybrid.GaussianProcess, got {type(model).__name__}")
    return model.core


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
    feasibility_floor: float = FEASIBILITY_FLOOR,
    ucb_beta: float = 2.0,
    fantasy_repetitions: float = 50.0,
) -> AcquisitionResult:
    """Choose a diverse batch of points that maximise the acquisition.

    Scores a seeded uniform random pool exactly (the variance is computed
    exactly only where an upper bound says a point can still make the batch),
    hill-climbs over single-step neighbours from the pool's best points and
    from ``incumbents``, and fills the batch by kriging believer. A climb step
    tries at most 64 other levels of a categorical (sampled from the seed),
    so memory stays linear in the level count.

    Args:
        space: the discrete space; ``model`` must be fitted on its features.
        model: GP of the objective to minimise (e.g. log kernel time).
        best: incumbent objective value, in the model's units.
        acquisition: ``log_ei``, ``ei``, ``ucb`` (lower confidence bound) or
            ``log_ei_per_cost`` (needs ``cost_model``: a GP of log seconds).
        batch_size: q, the number of distinct points returned (fewer only if
            the candidates run out).
        pool_size: random candidates scored; a space with at most this many
            points is enumerated instead; at most 10,000,000 after that cap.
            0: only the climbs from ``incumbents``.
        local_starts: hill-climbs from the pool's best points.
        local_max_steps: steps per hill-climb.
        seed: seeds the pool; same seed and inputs, same batch, for any
            thread count.
        threads: threads (None or 0: the core's default).
        exclude: points never returned (e.g. those already measured).
        incumbents: extra hill-climb starts, shape (k, num_dims).
        cost_model: GP of log cost seconds, for ``log_ei_per_cost``.
        feasibility_model: GP of 0/1 success labels; its clipped mean
            multiplies EI so points like failed ones are down-weighted.
        feasibility_floor: lower clip of the feasibility probability.
        ucb_beta: exploration weight of ``ucb``.
        fantasy_repetitions: repetitions assumed for fantasised picks.

    Raises:
        TypeError: an argument of the wrong type (e.g. ``batch_size=2.5``).
        ValueError: bad values (checked by the C++ core) or models fitted on
            another feature count.
        NotFittedError: a model is not fitted.
    """
    if exclude is not None and not isinstance(exclude, PointSet):
        raise TypeError("exclude must be a helion_hybrid.PointSet")
    options = _core.AcquisitionOptions(
        kind=_kind(acquisition),
        best=best,
        ucb_beta=ucb_beta,
        batch_size=batch_size,
        pool_size=pool_size,
        local_starts=local_starts,
        local_max_steps=local_max_steps,
        seed=seed,
        threads=0 if threads is None else threads,
        fantasy_repetitions=fantasy_repetitions,
        feasibility_floor=feasibility_floor,
    )
    result = _core.maximize_acquisition(
        space.core,
        _model_core(model, "model"),
        _model_core(cost_model, "cost_model"),
        _model_core(feasibility_model, "feasibility_model"),
        options,
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
    feasibility_floor: float = FEASIBILITY_FLOOR,
    ucb_beta: float = 2.0,
) -> npt.NDArray[np.float64]:
    """Exact acquisition values of given points (no pruning, no fantasies)."""
    options = _core.AcquisitionOptions(
        kind=_kind(acquisition), best=best, ucb_beta=ucb_beta, feasibility_floor=feasibility_floor
    )
    return _core.score_points(
        space.core,
        _model_core(model, "model"),
        _model_core(cost_model, "cost_model"),
        _model_core(feasibility_model, "feasibility_model"),
        options,
        points,
    )
