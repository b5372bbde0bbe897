"""Warm start: earlier tunings of the same kernel as prior data.

Tuning kernel K at a new shape, HybridSearch reads K's earlier tunings on
this device and Helion version (:mod:`helion_hybrid.tuning_store`), takes the
one at the nearest shape, and

1. puts its best configs into a smaller initial design;
2. once the new shape's initial design has been timed (or when the
   exploration ends, whichever comes first), measures how well a Gaussian
   process fitted to the prior predicts those timings: the concordance of
   its predictions with the measured log-times over the pairs of configs
   that both tell apart by more than :data:`RESOLUTION`;
3. if it predicts them well (:attr:`WarmStartDecision.accepted`), maps the
   prior's log-times onto the new shape's (a least-squares line through
   predicted and measured) and gives prior configs to the objective,
   feasibility and compile-cost models as extra data (at most
   :data:`PRIOR_OK_POINTS` that ran, fastest first, and
   :data:`PRIOR_FAILED_POINTS` that failed), at low weight (one timed
   repetition: a noisier point than any measured here), and explores less
   and refines from fewer configs; otherwise it drops the prior and
   completes the cold initial design, so a misleading prior costs only the
   prior configs it timed.

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
MIN_CONFIGS = 5
#: Pairs of them told apart (:data:`RESOLUTION`) needed: with fewer, an
#: unrelated prior passes too often (its chance, by simulation: docs/tuning_store.md).
MIN_RESOLVED_PAIRS = 10
#: Tunings read from the store (newest first) to choose the nearest shape from.
TUNINGS_READ = 20
#: Log-time differences the judge does not tell apart (5%). The prior's
#: fastest configs lead the initial design and time within a few percent of
#: each other at both shapes, so their order is noise, which pulled
#: Spearman's rho down on the H200 matmul 2048 -> 4096 step while every
#: pair apart by more than 5% ranked alike (docs/tuning_store.md, "What the
#: H200 shape sequence showed").
RESOLUTION = math.log(1.05)
#: Prior configs that ran given to the models: the fastest
#: :data:`PRIOR_FASTEST`, then evenly spread over the rest by rank. All of a
#: tuning's ~300 made the model fits most of an H200 warm run's search
#: thread (``bench/results/h200/sequences/matmul_fp16`` as of commit 809a4c0, matmul_4096 warm
#: seed 1's log: "model").
PRIOR_OK_POINTS = 64
PRIOR_FASTEST = 32
#: Prior configs that failed given to the feasibility model (evenly spread).
PRIOR_FAILED_POINTS = 32


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
        configs: configs of the new shape the prior's predictions were judged on.
        resolved_pairs: pairs of them that both predictions and measurements
            tell apart (log-times more than :data:`RESOLUTION` apart).
        concordance: over those pairs, (ranked alike - ranked the other
            way) / pairs, in [-1, 1] (Kendall's tau on the resolved pairs);
            nan without any.
        accepted: the prior is used by the models.
        intercept, slope: new log-time = intercept + slope * prior log-time.
    """

    configs: int
    resolved_pairs: int
    concordance: float
    accepted: bool
    intercept: float = 0.0
    slope: float = 1.0


def decide(
    prior_log_ms: Sequence[float],
    new_log_ms: Sequence[float],
    min_configs: int,
    min_concordance: float,
    resolution: float = RESOLUTION,
    min_resolved: int = MIN_RESOLVED_PAIRS,
) -> WarmStartDecision:
    """Accept the prior when at least ``min_configs`` configs were timed at
    both shapes, at least ``min_resolved`` pairs of them are told apart by
    both, and those rank alike (concordance >= ``min_concordance``); then
    fit the line that maps prior log-times onto the new shape's."""
    x, y = np.asarray(prior_log_ms, dtype=np.float64), np.asarray(new_log_ms, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"prior and new log-times must be 1-D of one length, got {x.shape} and {y.shape}")
    resolved, concordance = resolved_concordance(x, y, resolution)
    if len(x) < min_configs or resolved < min_resolved or not concordance >= min_concordance:
        return WarmStartDecision(len(x), resolved, concordance, False)
    slope = float(np.polyfit(x, y, 1)[0]) if np.ptp(x) > 0 else 1.0
    slope = min(max(slope, SLOPE_BOUNDS[0]), SLOPE_BOUNDS[1])
    intercept = float(np.mean(y - slope * x))
    return WarmStartDecision(len(x), resolved, concordance, True, intercept, slope)


def resolved_concordance(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], resolution: float
) -> tuple[int, float]:
    """(pairs i < j with |x_i - x_j| and |y_i - y_j| both above
    ``resolution``, their concordance; nan without such pairs)."""
    dx = x[:, None] - x[None, :]
    dy = y[:, None] - y[None, :]
    upper = np.triu(np.ones(dx.shape, dtype=bool), k=1)
    resolved = upper & (np.abs(dx) > resolution) & (np.abs(dy) > resolution)
    count = int(resolved.sum())
    if count == 0:
        return 0, math.nan
    alike = int((np.sign(dx[resolved]) == np.sign(dy[resolved])).sum())
    return count, (2 * alike - count) / count


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
    """The accepted prior for the models: prior configs not measured at
    this shape (the measurement wins), at most :data:`PRIOR_OK_POINTS` that
    ran (the fastest :data:`PRIOR_FASTEST`, the rest spread by rank) and
    :data:`PRIOR_FAILED_POINTS` that failed, log-times mapped by
    ``decision``."""
    kept = [c for c in prior.configs if c.key not in measured]
    ranked = sorted((c for c in kept if c.ok and c.log_ms is not None), key=lambda c: c.log_ms)
    ok = ranked[:PRIOR_FASTEST] + _spread(ranked[PRIOR_FASTEST:], PRIOR_OK_POINTS - PRIOR_FASTEST)
    failed = _spread([c for c in kept if not c.ok], PRIOR_FAILED_POINTS)
    costly = [c for c in ok + failed if c.compile_s is not None and c.compile_s >= 0]

    def points(configs: list[PriorConfig]) -> npt.NDArray[np.int32]:
        return np.stack([c.point for c in configs]).astype(np.int32) if configs else np.zeros((0, dims), np.int32)

    return PriorData(
        ok_points=points(ok),
        ok_log_ms=np.array([decision.intercept + decision.slope * c.log_ms for c in ok], dtype=np.float64),
        failed_points=points(failed),
        cost_points=points(costly),
        compile_s=np.array([c.compile_s for c in costly], dtype=np.float64),
    )


def _spread(configs: list[PriorConfig], count: int) -> list[PriorConfig]:
    """``count`` of ``configs`` at evenly spaced positions (all if fewer)."""
    if len(configs) <= count:
        return configs
    return [configs[i] for i in np.linspace(0, len(configs) - 1, count).round().astype(int)]


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
