"""HybridSearch: multi-fidelity Bayesian exploration, then a GP-screened
pattern-search refinement at full fidelity.

Phases:

1. **Initial design** -- Helion's default config, the user's and compiler's
   seed configs, and a space-filling (maximin) fill, timed at low fidelity.
2. **Exploration** -- batches chosen by the C++ acquisition maximiser (log
   EI times the probability that a config compiles and runs, so regions that
   failed are down-weighted), timed at low fidelity; after each batch the
   configs the model ranks best are promoted to medium fidelity (successive
   halving). Exploration stops when the model expects little more (the best
   pick's expected improvement falls under a threshold for ``patience``
   batches), when its share of the budget is spent, or at a config cap.
3. **Handoff** -- the top ``handoff_candidates`` diverse configs by posterior
   mean are re-timed at full fidelity and seed the refinement.
4. **Refinement** -- Helion's pattern-search moves (radius 1 plus block-size
   pairs) from each seed at full fidelity; the model screens every
   generation's neighbours so only those with a real chance of improving are
   compiled and timed. A path stops when its best neighbour does not improve.
5. **Shootout** -- the ``shootout_candidates`` fastest configs are re-timed
   side by side in interleaved rounds once nothing compiles (device time from
   a CUDA graph on a GPU), because timings taken between compile batches
   squeeze good configs together.
6. **Finish** -- Helion's shared final re-timing and selection
   (``_finalize``) over the shootout's best ``final_candidates``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Sequence

import numpy as np
from scipy.special import ndtr

from ._search_base import MultiFidelitySearchBase, Observation
from .acquisition import maximize_acquisition

@dataclasses.dataclass(frozen=True)
class HybridSearchDefaults:
    """HybridSearch settings for one effort level.

    Attributes:
        initial_design: configs in the initial design (default + seeds + fill).
        batch_size: configs per exploration batch.
        min_explore_configs: exploration never stops on the model's word
            before this many configs were tried (a young model can be wrongly
            sure that nothing is left to find).
        max_explore_configs: cap on configs tried during exploration (initial
            design included).
        explore_budget_fraction: share of ``autotune_budget_seconds`` that
            exploration may use (when a budget is set).
        ei_stop: exploration stops when the best pick's expected improvement
            of log kernel time (about a relative speed-up) is below this ...
        patience: ... for this many consecutive batches, or when the
            model's best predicted kernel time has not improved by
            ``min_improvement`` for ``stall_batches`` batches.
        stall_batches: see ``patience``.
        low_fidelity, medium_fidelity, high_fidelity: timed repetitions.
        promotions_per_batch: configs promoted to medium fidelity per batch.
        handoff_candidates: refinement starting points.
        refine_max_generations: refinement generations.
        screen_probability: a neighbour is timed only if the model gives it at
            least this probability of beating its path's current config ...
        screen_min_neighbours: ... but at least this many (the most promising)
            per path and generation, so a wrong model cannot stall a path.
        screen_max_neighbours: and at most this many per path and generation.
        min_improvement: relative improvement a refinement move must bring.
        compile_timeout_floor: lower bound (s) of the adaptive compile
            timeout set after the initial design (PatternSearch uses 30).
        final_candidates: configs Helion's final re-timing compares (their
            full-fidelity medians are already known, so fewer than Helion's
            default of 8 suffice).
        pool_size: random candidates the acquisition maximiser scores.
        shootout_candidates: fastest configs re-timed side by side before
            the final selection (1 turns the shootout off).
        shootout_rounds: interleaved rounds of the shootout.
        refine_by_device_time: on CUDA, refinement compares configs by device
            time from a CUDA graph instead of their event-timed medians
            (timings between compile batches squeeze good configs together;
            see :meth:`MultiFidelitySearchBase.shootout`).
    """

    initial_design: int
    batch_size: int
    min_explore_configs: int
    max_explore_configs: int
    explore_budget_fraction: float
    ei_stop: float
    patience: int
    stall_batches: int
    low_fidelity: int
    medium_fidelity: int
    high_fidelity: int
    promotions_per_batch: int
    handoff_candidates: int
    refine_max_generations: int
    screen_probability: float
    screen_min_neighbours: int
    screen_max_neighbours: int
    min_improvement: float
    pool_size: int
    compile_timeout_floor: float
    final_candidates: int
    shootout_candidates: int
    shootout_rounds: int
    refine_by_device_time: bool


FULL = HybridSearchDefaults(
    initial_design=32,
    batch_size=16,
    min_explore_configs=96,
    max_explore_configs=224,
    explore_budget_fraction=0.6,
    ei_stop=0.003,
    patience=2,
    stall_batches=4,
    low_fidelity=5,
    medium_fidelity=15,
    high_fidelity=50,
    promotions_per_batch=4,
    handoff_candidates=4,
    refine_max_generations=20,
    screen_probability=0.05,
    screen_min_neighbours=3,
    screen_max_neighbours=16,
    min_improvement=0.002,
    pool_size=50_000,
    compile_timeout_floor=10.0,
    final_candidates=4,
    shootout_candidates=12,
    shootout_rounds=5,
    refine_by_device_time=True,
)

QUICK = HybridSearchDefaults(
    initial_design=12,
    batch_size=8,
    min_explore_configs=32,
    max_explore_configs=64,
    explore_budget_fraction=0.6,
    ei_stop=0.01,
    patience=2,
    stall_batches=2,
    low_fidelity=3,
    medium_fidelity=9,
    high_fidelity=25,
    promotions_per_batch=2,
    handoff_candidates=2,
    refine_max_generations=10,
    screen_probability=0.1,
    screen_min_neighbours=2,
    screen_max_neighbours=8,
    min_improvement=0.005,
    pool_size=20_000,
    compile_timeout_floor=10.0,
    final_candidates=3,
    shootout_candidates=6,
    shootout_rounds=3,
    refine_by_device_time=True,
)

PROFILES = {"full": FULL, "quick": QUICK}


class HybridSearch(MultiFidelitySearchBase):
    """Multi-fidelity Bayesian exploration handing off to a GP-screened
    pattern search (see the module docstring).

    Args:
        kernel: the bound kernel to tune.
        args: its arguments.
        Every other keyword overrides the effort profile's value of the same
        name in :class:`HybridSearchDefaults`.
    """

    def __init__(
        self,
        kernel: Any,
        args: Sequence[object],
        *,
        effort: str | None = None,
        initial_design: int | None = None,
        batch_size: int | None = None,
        min_explore_configs: int | None = None,
        max_explore_configs: int | None = None,
        explore_budget_fraction: float | None = None,
        ei_stop: float | None = None,
        patience: int | None = None,
        stall_batches: int | None = None,
        low_fidelity: int | None = None,
        medium_fidelity: int | None = None,
        high_fidelity: int | None = None,
        promotions_per_batch: int | None = None,
        handoff_candidates: int | None = None,
        refine_max_generations: int | None = None,
        screen_probability: float | None = None,
        screen_min_neighbours: int | None = None,
        screen_max_neighbours: int | None = None,
        min_improvement: float | None = None,
        pool_size: int | None = None,
        compile_timeout_floor: float | None = None,
        final_candidates: int | None = None,
        shootout_candidates: int | None = None,
        shootout_rounds: int | None = None,
        refine_by_device_time: bool | None = None,
        finishing_rounds: int = 0,
    ) -> None:
        super().__init__(kernel, args, finishing_rounds=finishing_rounds)
        self.options: HybridSearchDefaults = self.resolve_options(PROFILES, effort, locals())
        _check_options(self.options)
        self.final_candidates = self.options.final_candidates

    # -- the search ----------------------------------------------------------------
    def _autotune(self) -> Any:
        o = self.options
        self.log(
            f"Starting HybridSearch (seed {self.seed}): {self.bridge.num_dims} searched dimensions, "
            f"~1e{self.bridge.space.log10_size:.0f} configs; fidelities {o.low_fidelity}/{o.medium_fidelity}/"
            f"{o.high_fidelity} repetitions"
        )
        start = time.perf_counter()
        self._explore()
        self.phase_seconds["explore"] = time.perf_counter() - start
        mark = time.perf_counter()
        starts = self._handoff()
        self.phase_seconds["handoff"] = time.perf_counter() - mark
        mark = time.perf_counter()
        self._refine(starts)
        self.phase_seconds["refine"] = time.perf_counter() - mark
        mark = time.perf_counter()
        finalists = self.shootout(o.shootout_candidates, o.shootout_rounds, o.medium_fidelity, o.high_fidelity)
        self.phase_seconds["shootout"] = time.perf_counter() - mark
        mark = time.perf_counter()
        config = self.finish(finalists)
        self.phase_seconds["finalize"] = time.perf_counter() - mark
        self.counters.seconds["finalize"] += self.phase_seconds["finalize"]
        self.log("HybridSearch phases: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.phase_seconds.items()))
        return config

    def _explore_budget_spent(self, start: float) -> bool:
        budget = self.settings.autotune_budget_seconds
        if budget is None:
            return False
        return time.perf_counter() - start > self.options.explore_budget_fraction * budget

    def _explore(self) -> None:
        o = self.options
        start = time.perf_counter()
        self.set_generation(0)
        initial = self.evaluate_flats(self.initial_design_flats(o.initial_design), o.low_fidelity, "initial")
        # As PatternSearch does, later compiles time out at a quantile of
        # these compile times (when Helion's adaptive timeout is enabled),
        # but with a lower floor: a config that compiles 10x slower than
        # the p90 is not one worth waiting 30 s for.
        self.set_adaptive_compile_timeout(
            [obs.member for obs in initial], min_seconds=o.compile_timeout_floor, quantile=0.9
        )
        ok = self.successful()
        self.log(
            f"Initial design: {len(self.observations)} configs, {len(ok)} ran"
            + (f", best {ok[0].median:.4f} ms" if ok else "")
        )
        quiet_batches = 0  # batches whose best pick promised less than ei_stop
        stalled_batches = 0  # batches without a better predicted best
        best_predicted = math.inf
        for batch_index in self._budgeted_range(1, 10_000):
            if len(self.observations) >= o.max_explore_configs or self._explore_budget_spent(start):
                break
            model = self.fit_models()
            if model is None:
                # Too little signal for a model: keep filling the space.
                more = self.initial_design_flats(len(self.observations) + o.batch_size)
                self.evaluate_flats(more[len(self.observations):], o.low_fidelity, "explore")
                continue
            predicted = self._best_predicted()
            if predicted < best_predicted * (1 - o.min_improvement):
                best_predicted, stalled_batches = predicted, 0
            else:
                stalled_batches += 1
            if len(self.observations) >= o.min_explore_configs:
                if quiet_batches >= o.patience:
                    self.log(f"Exploration stops: expected gain below {o.ei_stop} for {quiet_batches} batch(es)")
                    break
                if stalled_batches >= o.stall_batches:
                    self.log(f"Exploration stops: no predicted improvement for {stalled_batches} batch(es)")
                    break
            ok = self.successful()
            mark = time.perf_counter()
            result = maximize_acquisition(
                self.bridge.space,
                model,
                best=math.log(ok[0].median),
                acquisition="log_ei",
                batch_size=min(o.batch_size, o.max_explore_configs - len(self.observations)),
                pool_size=o.pool_size,
                seed=self.derived_seed(10, batch_index),
                exclude=self.tried,
                incumbents=np.stack([obs.point for obs in ok[: max(1, o.handoff_candidates)]]),
                feasibility_model=self.feasibility_model,
            )
            self.counters.seconds["model"] += time.perf_counter() - mark
            if len(result.points) == 0:
                break
            expected_gain = float(np.exp(result.scores[0]))
            quiet_batches = quiet_batches + 1 if expected_gain < o.ei_stop else 0
            self.set_generation(batch_index)
            new = self.evaluate_flats(self.propose(result.points), o.low_fidelity, "explore")
            self._promote(o.promotions_per_batch, o.medium_fidelity)
            self.log(
                f"Explore batch {batch_index}: {len(new)} configs ({sum(x.ok for x in new)} ran), "
                f"expected gain {expected_gain:.4f}, predicted best {predicted:.4f} ms, "
                f"{len(self.observations)} tried"
            )

    def _best_predicted(self) -> float:
        """The model's lowest posterior mean kernel time (ms) over the
        configs that ran; robust to one lucky low-fidelity sample."""
        ok = self.successful()
        if self._objective_model is None or not ok:
            return ok[0].median if ok else math.inf
        mean, _ = self.predict(np.stack([obs.point for obs in ok]))
        return float(np.exp(mean.min()))

    def _promote(self, count: int, repetitions: int) -> None:
        """Re-time the configs the model ranks best that have fewer than
        ``repetitions`` samples (successive halving)."""
        if count <= 0 or self._objective_model is None:
            return
        ok = self.successful()
        if not ok:
            return
        mean, _ = self.predict(np.stack([obs.point for obs in ok]))
        order = np.argsort(mean)
        chosen = [ok[i] for i in order if ok[i].repetitions < repetitions][:count]
        self.retime_to(chosen, repetitions, "promote")

    def _handoff(self) -> list[Observation]:
        """Top diverse configs by posterior mean, re-timed at full fidelity."""
        o = self.options
        ok = self.successful()
        if not ok:
            return []
        model = self.fit_models()
        if model is None:
            chosen = ok[: o.handoff_candidates]
        else:
            mean, _ = self.predict(np.stack([obs.point for obs in ok]))
            chosen = []
            for i in np.argsort(mean):
                candidate = ok[i]
                if all(np.count_nonzero(candidate.point != c.point) >= 2 for c in chosen):
                    chosen.append(candidate)
                if len(chosen) == o.handoff_candidates:
                    break
        self.retime_to(chosen, o.high_fidelity, "handoff")
        self.use_device_time(o.refine_by_device_time)
        chosen = sorted((c for c in chosen if c.ok), key=self.figure)
        kind = "device time" if self.device_time_figures else f"{o.high_fidelity} samples"
        self.log("Handoff to refinement (" + kind + "): " + ", ".join(f"{self.figure(c):.4f} ms" for c in chosen))
        return chosen

    def _screen(self, points: np.ndarray, current: Observation) -> list[int]:
        """Indices of the neighbours worth timing: probability of beating
        ``current`` by ``min_improvement`` at least ``screen_probability``
        (the most promising few always pass), best first."""
        o = self.options
        if len(points) == 0:
            return []
        if self._objective_model is None:
            return list(range(min(len(points), o.screen_max_neighbours)))
        mean, variance = self.predict(points)
        target = math.log(current.median) + math.log1p(-o.min_improvement)
        probability = ndtr((target - mean) / np.sqrt(np.maximum(variance, 1e-12)))
        order = [int(i) for i in np.argsort(-probability, kind="stable")]
        keep = [i for i in order if probability[i] >= o.screen_probability]
        if len(keep) < o.screen_min_neighbours:
            keep = order[: o.screen_min_neighbours]
        return keep[: o.screen_max_neighbours]

    def _refine(self, starts: list[Observation]) -> None:
        """Pattern search from ``starts`` at full fidelity. Each generation
        times the screened neighbours of every live path; a path moves to its
        best neighbour if that improves by ``min_improvement``. When every
        path has stopped, the incumbent's neighbours are all timed once,
        unscreened, so the result is a true local optimum under Helion's moves
        whatever the model believed; an improvement there restarts a path."""
        o = self.options
        paths = list(starts)
        unscreened: set[Any] = set()  # configs whose full neighbourhood was timed
        screened_out = 0
        for generation in self._budgeted_range(1, o.refine_max_generations + 1):
            verifying = not paths
            if verifying:
                # the incumbent among full-fidelity measurements only: a
                # low-fidelity median of a few samples is optimistic
                best = min(self.successful(o.high_fidelity) or self.successful()[:1], key=self.figure)
                if best.config in unscreened:
                    break
                paths = [best]
                unscreened.add(best.config)
            self.fit_models()
            proposals: list[list[Any]] = []  # per path: configs to time
            batch: dict[Any, Any] = {}  # config -> member, across paths
            for current in paths:
                candidates: dict[Any, Any] = {}
                for flat in self.neighbour_flats(current.member.flat_values):
                    member = self.make_unbenchmarked(flat)
                    if member is None:
                        self.counters.invalid_configs += 1
                    elif member.config not in self.observations:
                        candidates.setdefault(member.config, member)
                configs = list(candidates)
                if verifying:
                    kept = configs
                else:
                    points = self.bridge.encode_many([candidates[c].flat_values for c in configs])
                    kept = [configs[i] for i in self._screen(points, current)]
                screened_out += len(configs) - len(kept)
                proposals.append(kept)
                for config in kept:
                    batch.setdefault(config, candidates[config])
            if batch:
                self.set_generation(1000 + generation)
                members = list(batch.values())
                proposed = [self.bridge.encode(m.flat_values) for m in members]
                self.evaluate_members(members, proposed, o.high_fidelity, "refine")
            next_paths: list[Observation] = []
            for current, kept in zip(paths, proposals):
                tried = [self.observations.get(config) for config in kept]
                best = min((t for t in tried if t is not None and t.ok), key=self.figure, default=current)
                improved = self.figure(best) < self.figure(current) * (1 - o.min_improvement)
                if improved and all(best.config != p.config for p in next_paths):
                    next_paths.append(best)
            self.log(
                f"Refine generation {generation}: {len(batch)} neighbours timed, {len(next_paths)} path(s) moved, "
                f"best {min(self.figure(t) for t in self.successful(o.high_fidelity) or self.successful()[:1]):.4f} ms"
            )
            paths = next_paths
        self.log(f"Refinement: the model screened out {screened_out} neighbour(s)")


def _check_options(o: HybridSearchDefaults) -> None:
    for name in ("initial_design", "batch_size", "max_explore_configs", "low_fidelity", "medium_fidelity",
                 "high_fidelity", "handoff_candidates", "screen_max_neighbours", "pool_size", "patience", "stall_batches",
                 "final_candidates", "shootout_candidates"):
        if getattr(o, name) < 1:
            raise ValueError(f"HybridSearch {name} must be >= 1, got {getattr(o, name)}")
    for name in ("promotions_per_batch", "refine_max_generations", "screen_min_neighbours", "min_explore_configs",
                 "shootout_rounds"):
        if getattr(o, name) < 0:
            raise ValueError(f"HybridSearch {name} must be >= 0, got {getattr(o, name)}")
    if not o.low_fidelity <= o.medium_fidelity <= o.high_fidelity:
        raise ValueError("HybridSearch fidelities must satisfy low <= medium <= high")
    if not 0 < o.explore_budget_fraction <= 1:
        raise ValueError("explore_budget_fraction must be in (0, 1]")
    if not 0 <= o.screen_probability < 1 or not 0 <= o.min_improvement < 1 or o.ei_stop < 0:
        raise ValueError("screen_probability and min_improvement must be in [0, 1), ei_stop >= 0")
