"""Warm start: earlier tunings of the same kernel as prior data.

Tuning kernel K at a new shape, HybridSearch reads K's earlier tunings on
this device and Helion version (:mod:`helion_hybrid.tuning_store`), takes the
one at the nearest shape, and

1. puts its best configs into a smaller initial design;
2. once the new shape's initial design has been timed, measures how well a
   Gaussian process fitted to the prior predicts those timings (Spearman's
   rank correlation of its predictions with the measured log-times);
3. if it predicts them well (:attr:`WarmStartDecision.accepted`), maps the
   prior's log-times onto the new shape's (a least-squares line through
   predicted and measured) and gives every prior config to the
   objective, feasibility and compile-cost models as extra data, at low
   weight (one timed repetition: a noisier point than any measured here),
   and explores less and refines from fewer configs; otherwise it drops
   the prior and completes the cold initial design, so a misleading prior
   costs only the prior configs it timed.

The prior is kept only where its configs exist in the new shape's space
(Helion transfers them as it does user seed configs).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .gp import GaussianProcess
from .tuning_store import TuningStoreWarning

if TYPE_CHECKING:
    from ._search_base import MultiFidelitySearchBase
    from .evaluation import Observation
    from .space import DiscreteSpace
    from .tuning_store import Tuning

#: Repetitions a prior point counts for in the objective model (its noise
#: variance is the model's per-repetition noise over this).
PRIOR_REPETITIONS = 1.0
#: The slope of the prior-to-new-shape line is kept within these bounds.
SLOPE_BOUNDS = (0.25, 4.0)
#: Configs timed at the new shape needed to judge the prior.
MIN_PAIRS = 5
#: Tunings read from the store (newest first) to choose the nearest shape from.
TUNINGS_READ = 20


@dataclasses.dataclass(frozen=True)
class PriorConfig:
    """One config of an earlier tuning, placed in the current space.

    Attributes:
        flat: the flat config.
        point: its level indices in the current space.
        ok: it ran and was timed there.
        log_ms: natural log of its median (ms) there, or None.
        compile_s: its compile seconds there, or None.
    """

    flat: list[Any]
    point: npt.NDArray[np.int32]
    ok: bool
    log_ms: float | None
    compile_s: float | None

    @property
    def key(self) -> tuple[Any, ...]:
        """The config's identity in this space (:func:`flat_key`)."""
        return flat_key(self.flat)


@dataclasses.dataclass(frozen=True)
class Prior:
    """An earlier tuning of this kernel, in the current space.

    Attributes:
        source: where it came from (a store file, or a test's name).
        distance: how far its shape is from this one (log-size distance).
        configs: its configs that exist in this space.
    """

    source: str
    distance: float
    configs: tuple[PriorConfig, ...]

    def best_flats(self, count: int) -> list[list[Any]]:
        """Its ``count`` fastest configs that ran, fastest first."""
        ranked = sorted((c for c in self.configs if c.ok), key=lambda c: c.log_ms)
        return [c.flat for c in ranked[:count]]


@dataclasses.dataclass(frozen=True)
class WarmStartDecision:
    """Whether the prior predicts the new shape (see the module docstring).

    Attributes:
        pairs: configs of the new shape the prior's predictions were judged on.
        correlation: Spearman's rank correlation of predicted and measured
            log-times (nan with fewer than 3 pairs).
        accepted: the prior is used by the models.
        intercept, slope: new log-time = intercept + slope * prior log-time.
    """

    pairs: int
    correlation: float
    accepted: bool
    intercept: float = 0.0
    slope: float = 1.0


def decide(
    prior_log_ms: Sequence[float], new_log_ms: Sequence[float], min_pairs: int, min_correlation: float
) -> WarmStartDecision:
    """Accept the prior when at least ``min_pairs`` configs timed at both
    shapes rank alike (Spearman's rho >= ``min_correlation``); then fit
    the line that maps prior log-times onto the new shape's."""
    x, y = np.asarray(prior_log_ms, dtype=np.float64), np.asarray(new_log_ms, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"prior and new log-times must be 1-D of one length, got {x.shape} and {y.shape}")
    rho = _spearman(x, y) if len(x) >= 3 else math.nan
    if len(x) < min_pairs or not rho >= min_correlation:
        return WarmStartDecision(len(x), rho, False)
    slope = float(np.polyfit(x, y, 1)[0]) if np.ptp(x) > 0 else 1.0
    slope = min(max(slope, SLOPE_BOUNDS[0]), SLOPE_BOUNDS[1])
    intercept = float(np.mean(y - slope * x))
    return WarmStartDecision(len(x), rho, True, intercept, slope)


def _spearman(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> float:
    rx, ry = _ranks(x), _ranks(y)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def _ranks(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Average ranks (ties share their mean rank)."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(len(values), dtype=np.float64)
    for value in np.unique(values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


@dataclasses.dataclass(frozen=True)
class PriorData:
    """A prior as the models take it (accepted and mapped).

    Attributes:
        ok_points, ok_log_ms: prior configs that ran, their mapped log-times.
        failed_points: prior configs that failed there.
        cost_points, compile_s: prior configs with compile seconds.
    """

    ok_points: npt.NDArray[np.int32]
    ok_log_ms: npt.NDArray[np.float64]
    failed_points: npt.NDArray[np.int32]
    cost_points: npt.NDArray[np.int32]
    compile_s: npt.NDArray[np.float64]

    @property
    def repetitions(self) -> npt.NDArray[np.float64]:
        return np.full(len(self.ok_points), PRIOR_REPETITIONS)


def prior_data(prior: Prior, decision: WarmStartDecision, measured: set[tuple[Any, ...]], dims: int) -> PriorData:
    """The accepted prior for the models: every prior config not measured
    at this shape (the measurement wins), log-times mapped by ``decision``."""
    kept = [c for c in prior.configs if c.key not in measured]
    ok = [c for c in kept if c.ok and c.log_ms is not None]
    failed = [c for c in kept if not c.ok]
    costly = [c for c in kept if c.compile_s is not None and c.compile_s >= 0]

    def points(configs: list[PriorConfig]) -> npt.NDArray[np.int32]:
        return np.stack([c.point for c in configs]).astype(np.int32) if configs else np.zeros((0, dims), np.int32)

    return PriorData(
        ok_points=points(ok),
        ok_log_ms=np.array([decision.intercept + decision.slope * c.log_ms for c in ok], dtype=np.float64),
        failed_points=points(failed),
        cost_points=points(costly),
        compile_s=np.array([c.compile_s for c in costly], dtype=np.float64),
    )


def prior_model(prior: Prior, space: DiscreteSpace, seed: int) -> GaussianProcess | None:
    """A Gaussian process of the prior's log-times over this space (None
    with fewer than two configs that ran there)."""
    ok = [c for c in prior.configs if c.ok and c.log_ms is not None]
    if len(ok) < 2:
        return None
    model = GaussianProcess(seed=seed, restarts=1)
    model.fit(space.features(np.stack([c.point for c in ok])), np.array([c.log_ms for c in ok]))
    return model


def pairs(
    model: GaussianProcess, space: DiscreteSpace, observations: Sequence[Observation]
) -> tuple[list[float], list[float]]:
    """(the prior's predicted log-time, measured log-time) of every config
    of ``observations`` that ran here."""
    ok = [o for o in observations if o.ok]
    if not ok:
        return [], []
    predicted, _ = model.predict(space.features(np.stack([o.point for o in ok])))
    return [float(v) for v in predicted], [math.log(o.median) for o in ok]


# ----------------------------------------------------------------------------- reading the store
def prior_for(search: MultiFidelitySearchBase) -> Prior | None:
    """The earlier tuning of this kernel at the nearest other shape (same
    device, same Helion version) in the search's tuning store, placed in
    this space; None without one, without a store, for a search that does
    not measure a real device (a replay, a test's backend), and -- with one
    warning -- when reading it fails: a warm start never aborts a search."""
    if search.tuning_store is None or not search.measures_device():
        return None
    try:
        return _nearest_prior(search)
    except Exception as error:  # a store or a transfer we did not foresee
        warnings.warn(f"Warm start skipped: {type(error).__name__}: {error}", TuningStoreWarning, stacklevel=2)
        return None


def _nearest_prior(search: MultiFidelitySearchBase) -> Prior | None:
    from .tuning_store import context_of_search

    store = search.tuning_store
    assert store is not None
    context = context_of_search(search)
    if context is None:
        return None
    candidates = [
        t
        for t in store.tunings_for(context, limit=TUNINGS_READ)
        if t.context.shape.signature == context.shape.signature
        and t.context.shape.features != context.shape.features
        and t.context.space.same_layout(context.space)
    ]
    if not candidates:
        return None
    here = context.shape.features
    nearest = min(candidates, key=lambda t: shape_distance(t.context.shape.features, here))
    return place(search, nearest, shape_distance(nearest.context.shape.features, here))


def shape_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Euclidean distance of log2 sizes (a shape twice as large in one
    dimension is 1 away)."""
    return math.sqrt(sum((math.log2(max(x, 1.0)) - math.log2(max(y, 1.0))) ** 2 for x, y in zip(a, b)))


def place(search: MultiFidelitySearchBase, tuning: Tuning, distance: float) -> Prior | None:
    """``tuning``'s observations as configs of this search's space (those
    Helion cannot transfer are dropped); None if none transfers."""
    gen = search.config_gen
    configs: dict[tuple[Any, ...], PriorConfig] = {}
    for stored in tuning.observations:
        if stored.status == "cancelled":
            continue
        try:
            transferred = list(gen.user_seed_flat_config_pairs([stored.helion_config()], None))
        except Exception:  # a config of another layout: skip it
            continue
        if not transferred:
            continue
        flat = transferred[0][0]
        key = flat_key(flat)
        if key in configs:
            continue
        median = stored.median_ms
        timed = stored.ok and median is not None and median > 0
        configs[key] = PriorConfig(
            flat=list(flat),
            point=search.bridge.encode_many([flat])[0],
            ok=timed,
            log_ms=math.log(median) if timed else None,
            compile_s=stored.compile_s,
        )
    if not configs:
        return None
    return Prior(source=tuning.source or "store", distance=distance, configs=tuple(configs.values()))


def flat_key(flat: Any) -> tuple[Any, ...]:
    """A flat config as a hashable key."""
    return tuple(_hashable(v) for v in (flat or ()))


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value
