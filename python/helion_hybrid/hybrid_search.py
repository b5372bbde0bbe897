"""HybridSearch: multi-fidelity Bayesian exploration, then a GP-screened
pattern-search refinement at full fidelity, on the pipelined evaluation
engine (configs compile while others are timed; no batch waits on its
slowest member).

Phases:

1. **Initial design** -- Helion's default config, the user's and compiler's
   seed configs, and a space-filling (maximin) fill, timed at low fidelity.
2. **Exploration** -- whenever compile workers free up, the C++ acquisition
   maximiser proposes configs: log EI times the probability that a config
   compiles and runs (regions that failed are down-weighted), per predicted
   compile second (configs likely to compile slowly must promise more), with
   the configs in flight fantasised at their predicted means so proposals
   spread out. Every ``batch_size`` results the configs the model ranks best
   are promoted to medium fidelity (successive halving) and the stop rules
   are checked: the best pick's expected improvement under ``ei_stop`` for
   ``patience`` rounds, or no better predicted best for ``stall_batches``
   rounds, the exploration share of the budget, or a config cap.
3. **Handoff** -- the top ``handoff_candidates`` diverse configs, by the
   lower of their posterior mean and (at medium fidelity or more) their
   measured median, are re-timed at full fidelity and seed the refinement.
4. **Refinement** -- Helion's pattern-search moves (radius 1 plus block-size
   pairs) from each seed at full fidelity; the model screens each path's
   neighbours so only those with a real chance of improving are compiled.
   Paths move independently as their neighbours' results arrive; when all
   have stopped, the incumbent's whole neighbourhood is timed once,
   unscreened, so the result is a true local optimum under Helion's moves.
5. **Shootout** -- once nothing compiles, the ``shootout_candidates``
   fastest configs are re-timed side by side in interleaved rounds (device
   time from a CUDA graph on a GPU), because timings taken between compiles
   squeeze good configs together; the winner is returned (its output was
   checked against Helion's baseline at its first timing).

``pipelined=False`` keeps the earlier synchronous behaviour for comparison:
batches of ``batch_size`` that wait for their last member, a global barrier
per refinement generation, and Helion's compile-timeout rule.
``space_filling_share`` sends that share of the exploration's proposals to
a space-filling pick of Helion's random configs instead of the acquisition
(1.0 is the ablation without the model's proposals).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from . import warm_start
from ._search_base import MultiFidelitySearchBase
from .acquisition import maximize_acquisition, score_points
from .background import Prefetch
from .evaluation import Observation
from .options import check_bool, check_float, check_int, with_overrides

if TYPE_CHECKING:
    from helion.autotuner.config_generation import FlatConfig


@dataclasses.dataclass(frozen=True)
class HybridSearchOptions:
    """HybridSearch settings (one instance per effort level: :data:`FULL`,
    :data:`QUICK`). Every field is a keyword of :class:`HybridSearch`.

    Attributes:
        initial_design: configs in the initial design (default + seeds + fill).
        batch_size: results per exploration round (promotions and stop rules
            run once per round) and the most configs one proposal asks for.
        min_explore_configs: exploration never stops on the model's word
            before this many configs were tried.
        max_explore_configs: cap on configs tried during exploration
            (initial design included).
        explore_budget_fraction: share of ``autotune_budget_seconds`` that
            exploration may use (when a budget is set).
        ei_stop: exploration stops when the best pick's expected improvement
            of log kernel time (about a relative speed-up) is below this ...
        patience: ... for this many consecutive rounds, or when the model's
            best predicted kernel time has not improved by
            ``min_improvement`` for ``stall_batches`` rounds.
        stall_batches: see ``patience``.
        low_fidelity, medium_fidelity, high_fidelity: timed repetitions.
        promotions_per_batch: configs promoted to medium fidelity per round.
        handoff_candidates: refinement starting points.
        refine_max_generations: moves per refinement path.
        screen_probability: a neighbour is timed only if the model gives it at
            least this probability of beating its path's current config ...
        screen_min_neighbours: ... but at least this many (the most promising)
            per path and move, so a wrong model cannot stall a path.
        screen_max_neighbours: and at most this many per path and move.
        screen_feasibility: the screen weighs that probability by the
            feasibility model's probability that the neighbour runs at all,
            and the models are refit as refinement's results arrive. On the
            H200 matmuls, configs that compiled and then failed to launch
            (shared memory beyond the device's) were 29-43% of all compile
            seconds, most of them neighbours in refinement
            (``bench/results/h200/matmul_*/runs/HybridSearch-*_seed0.jsonl.gz``).
            Off by default until a GPU A/B: replayed, it failed 0-29% fewer
            configs but moved walls both ways (-10% to +12%,
            ``bench/results/replay-h200/screen_feasibility_ab.json``), and
            the replay's failures are its surrogate's guesses.
        min_improvement: relative improvement a refinement move must bring.
        pool_size: random candidates the acquisition maximiser scores.
        compile_timeout_floor: a compile is never abandoned before this many
            seconds (s).
        straggler_factor: ... and is abandoned after this multiple of the p90
            compile time seen so far (Helion's compile timeout is the ceiling).
        barrier_patience_s: the end of exploration and a refinement path wait
            at most this long for their last compiles before moving on (those
            compiles go on; their results count when they arrive).
        cost_aware: the acquisition divides expected improvement by the
            predicted compile cost (a GP of log compile seconds).
        pipelined: the pipelined engine (False: synchronous batches).
        background_acquisition: the exploration maximises its acquisition
            on a thread of its own, one round ahead (started once the last
            proposals are submitted, taken when workers free up), while the
            search's thread times configs (:mod:`helion_hybrid.background`);
            False: on the search's thread when proposals are asked for.
        space_filling_share: share of the exploration's proposals picked
            space-filling (greedy maximin from every config tried) from
            Helion's random configs instead of by the acquisition, which
            otherwise concentrates on the region of its incumbents (on the
            H200, an attention run whose exploration never left one region:
            ``bench/results/h200/attention_2048_bf16/runs/HybridSearch-4a669eb_seed1.jsonl.gz``).
            1.0: the ablation without the model's proposals (promotions,
            handoff and refinement still use the model).
        codegen_workers: processes that generate Helion's code off the
            search's thread (:mod:`helion_hybrid.forked_pool`); 0: on it;
            None: :data:`~helion_hybrid.forked_pool.CUDA_CODEGEN_WORKERS`
            where the kernel runs on CUDA and Helion forks its compiles
            (``autotune_precompile="fork"``, its default), else 0.
        compile_pool: where the kernel runs on CUDA and Helion forks its
            compiles, run the Triton compiles in long-lived processes
            forked once (:mod:`helion_hybrid.triton_compile`) instead of a
            fork from the search's thread per config; False: Helion's fork.
        warm_start: read this kernel's earlier tunings at other shapes from
            the tuning store (:mod:`helion_hybrid.warm_start`) ...
        warm_seed_configs: ... put the nearest shape's fastest configs into
            the initial design ...
        warm_initial_design: ... which then has this many configs ...
        warm_min_concordance: ... and, once the new shape has timed those
            configs, use the prior in the models and explore less if its
            predictions rank them alike with at least this concordance
            (Kendall's tau over the pairs both tell apart by more than
            :data:`~helion_hybrid.warm_start.RESOLUTION`; else drop it and
            complete the cold initial design) ...
        warm_explore_fraction: ... exploring this fraction of
            ``min_explore_configs`` / ``max_explore_configs`` (replayed on
            an H200 matmul shape step, 0.25 was faster than 0.5 and as
            good: ``bench/results/replay-h200/warm_explore_ab.json``) ...
        warm_handoff_candidates: ... and refining from this many configs
            instead of ``handoff_candidates`` (the prior has shown where
            the fast region is: fewer paths need to look for it).
        shootout_candidates: fastest configs re-timed side by side before
            the pick (1 turns the shootout off) ...
        shootout_margin: ... among those at most this much slower than the
            fastest (by the comparison figure): a config 30% behind does not
            win a side-by-side re-timing, and a very slow one costs seconds.
        shootout_rounds: interleaved rounds of the shootout.
        refine_by_device_time: on CUDA, refinement compares configs by device
            time from a CUDA graph instead of their event-timed medians.
        helion_final_selection: also run Helion's final re-timing
            (``_finalize``) over the shootout's best ``final_candidates``.
        final_candidates: see ``helion_final_selection``.
    """

    initial_design: int = 32
    batch_size: int = 16
    min_explore_configs: int = 96
    max_explore_configs: int = 224
    explore_budget_fraction: float = 0.6
    ei_stop: float = 0.003
    patience: int = 2
    stall_batches: int = 4
    low_fidelity: int = 5
    medium_fidelity: int = 15
    high_fidelity: int = 50
    promotions_per_batch: int = 4
    handoff_candidates: int = 4
    refine_max_generations: int = 20
    screen_probability: float = 0.05
    screen_min_neighbours: int = 3
    screen_max_neighbours: int = 16
    screen_feasibility: bool = False
    min_improvement: float = 0.002
    pool_size: int = 50_000
    compile_timeout_floor: float = 10.0
    straggler_factor: float = 4.0
    barrier_patience_s: float = 2.0
    cost_aware: bool = True
    pipelined: bool = True
    background_acquisition: bool = True
    space_filling_share: float = 0.0
    codegen_workers: int | None = None
    compile_pool: bool = True
    warm_start: bool = True
    warm_seed_configs: int = 8
    warm_initial_design: int = 16
    warm_min_concordance: float = 0.6
    warm_explore_fraction: float = 0.25
    warm_handoff_candidates: int = 2
    shootout_candidates: int = 12
    shootout_margin: float = 0.3
    shootout_rounds: int = 5
    refine_by_device_time: bool = True
    helion_final_selection: bool = False
    final_candidates: int = 4

    def __post_init__(self) -> None:
        owner = "HybridSearch"
        for name in (
            "initial_design",
            "batch_size",
            "max_explore_configs",
            "low_fidelity",
            "medium_fidelity",
            "high_fidelity",
            "handoff_candidates",
            "warm_handoff_candidates",
            "screen_max_neighbours",
            "patience",
            "stall_batches",
            "shootout_candidates",
            "final_candidates",
        ):
            check_int(owner, name, getattr(self, name), 1, 10**6)
        check_int(owner, "pool_size", self.pool_size, 1, 10**7)
        if self.codegen_workers is not None:
            check_int(owner, "codegen_workers", self.codegen_workers, 0, 64)
        check_int(owner, "warm_seed_configs", self.warm_seed_configs, warm_start.MIN_CONFIGS, 10**6)
        check_int(owner, "warm_initial_design", self.warm_initial_design, 1, 10**6)
        check_float(owner, "warm_min_concordance", self.warm_min_concordance, -1, 1)
        check_float(owner, "warm_explore_fraction", self.warm_explore_fraction, 0, 1, low_open=True)
        for name in (
            "promotions_per_batch",
            "refine_max_generations",
            "screen_min_neighbours",
            "min_explore_configs",
            "shootout_rounds",
        ):
            check_int(owner, name, getattr(self, name), 0, 10**6)
        if not self.low_fidelity <= self.medium_fidelity <= self.high_fidelity:
            raise ValueError("HybridSearch fidelities must satisfy low_fidelity <= medium_fidelity <= high_fidelity")
        check_float(owner, "explore_budget_fraction", self.explore_budget_fraction, 0, 1, low_open=True)
        check_float(owner, "screen_probability", self.screen_probability, 0, 1, high_open=True)
        check_float(owner, "min_improvement", self.min_improvement, 0, 1, high_open=True)
        check_float(owner, "ei_stop", self.ei_stop, 0)
        check_float(owner, "compile_timeout_floor", self.compile_timeout_floor, 0, low_open=True)
        check_float(owner, "straggler_factor", self.straggler_factor, 1)
        check_float(owner, "barrier_patience_s", self.barrier_patience_s, 0)
        check_float(owner, "shootout_margin", self.shootout_margin, 0)
        check_float(owner, "space_filling_share", self.space_filling_share, 0, 1)
        for name in (
            "cost_aware",
            "screen_feasibility",
            "pipelined",
            "background_acquisition",
            "compile_pool",
            "refine_by_device_time",
            "helion_final_selection",
            "warm_start",
        ):
            check_bool(owner, name, getattr(self, name))


FULL = HybridSearchOptions()
QUICK = dataclasses.replace(
    FULL,
    initial_design=12,
    batch_size=8,
    min_explore_configs=32,
    max_explore_configs=64,
    warm_seed_configs=6,
    warm_initial_design=10,
    ei_stop=0.01,
    stall_batches=2,
    low_fidelity=3,
    medium_fidelity=9,
    high_fidelity=25,
    promotions_per_batch=2,
    handoff_candidates=2,
    warm_handoff_candidates=1,
    refine_max_generations=10,
    screen_probability=0.1,
    screen_min_neighbours=2,
    screen_max_neighbours=8,
    min_improvement=0.005,
    pool_size=20_000,
    shootout_candidates=6,
    shootout_rounds=3,
    final_candidates=3,
)
PROFILES = {"full": FULL, "quick": QUICK}


def resolve_options(
    profiles: dict[str, Any], effort: str | None, options: Any, overrides: dict[str, Any], owner: str
) -> Any:
    """``options`` (or the effort's profile, ``full`` for an unknown effort)
    with keyword overrides applied and checked; an unknown keyword is a
    TypeError naming the valid ones."""
    base = options if options is not None else profiles.get(effort or "full", profiles["full"])
    known = {f.name for f in dataclasses.fields(base)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TypeError(f"{owner} got unknown option(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
    return with_overrides(base, overrides)


@dataclasses.dataclass
class _Path:
    """One refinement path: its current config and the neighbours in flight."""

    current: Observation
    moves: int = 0
    waiting: set[Any] = dataclasses.field(default_factory=set)
    tried: list[Any] = dataclasses.field(default_factory=list)
    submitted_at: float = 0.0
    verifying: bool = False


class HybridSearch(MultiFidelitySearchBase):
    """Multi-fidelity Bayesian exploration handing off to a GP-screened
    pattern search (see the module docstring).

    Args:
        kernel: the bound kernel to tune.
        args: its arguments.
        effort: ``quick`` or ``full`` (Helion's ``autotune_effort`` when
            created through Helion): which of :data:`PROFILES` to start from.
        options: a full :class:`HybridSearchOptions` (instead of a profile).
        **overrides: any :class:`HybridSearchOptions` field.
    """

    def __init__(
        self,
        kernel: Any,
        args: Sequence[object],
        *,
        effort: str | None = None,
        options: HybridSearchOptions | None = None,
        **overrides: Any,
    ) -> None:
        effort = effort or str(kernel.settings.autotune_effort)
        resolved = resolve_options(PROFILES, effort, options, overrides, "HybridSearch")
        super().__init__(kernel, args, resolved)
        self.options: HybridSearchOptions = resolved
        self._last_gain = math.inf
        self._explore_asked = 0  # exploration proposals asked for, and how many went space-filling
        self._explore_spread = 0
        self._warm_prior: warm_start.Prior | None = None
        self._explore_scale = 1.0
        self._ahead = Prefetch("helion-hybrid-acquisition")

    # -- the search ----------------------------------------------------------------
    def search(self) -> Any:
        o = self.options
        self.log(
            f"Starting HybridSearch (seed {self.seed}, {'pipelined' if o.pipelined else 'synchronous'}, "
            f"{self.engine.workers} compile workers): {self.bridge.num_dims} searched dimensions, "
            f"~1e{self.bridge.space.log10_size:.0f} configs; fidelities {o.low_fidelity}/{o.medium_fidelity}/"
            f"{o.high_fidelity} repetitions"
        )
        self.enter_phase("initial")
        self._initial_design()
        self.enter_phase("explore")
        self._explore()
        self.enter_phase("handoff")
        starts = self._handoff()
        self.enter_phase("refine")
        self._refine(starts)
        self.engine.cancel_pending("the refinement has ended; the shootout needs a quiet machine")
        self.enter_phase("shootout")
        ranked = self._shootout()
        self.enter_phase("finish")
        config = self.finish(ranked)
        self.enter_phase("done")
        self.log("HybridSearch phases: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.phase_seconds.items()))
        return config

    # -- initial design and warm start -----------------------------------------------------
    def _initial_design(self) -> None:
        """The initial design: cold, or smaller and led by the fastest
        configs of an earlier tuning at another shape (a warm start)."""
        o = self.options
        self._warm_prior = warm_start.prior_for(self) if o.warm_start else None
        if self._warm_prior is None:
            self.submit_flats(self.initial_design_flats(o.initial_design), o.low_fidelity, "initial")
            return
        seeds = self._warm_prior.best_flats(o.warm_seed_configs)
        self.log(
            f"Warm start from {self._warm_prior.source} (shape distance {self._warm_prior.distance:.2f}, "
            f"{len(self._warm_prior.configs)} configs): its {len(seeds)} fastest lead the initial design"
        )
        self.submit_flats(self.initial_design_flats(o.warm_initial_design, extra=seeds), o.low_fidelity, "initial")

    def _judge_warm_start(self, final: bool = False) -> None:
        """Once the initial design has finished here (``final``: the
        exploration has ended, judge on what has finished): use the prior
        (models, shorter exploration) if a model of it predicts the timings
        measured here, else drop it and, before the exploration's end,
        complete the cold initial design."""
        prior, o = self._warm_prior, self.options
        if prior is None or self.warm_start_report is not None:
            return
        initial = [obs for obs in self.engine.observations.values() if obs.phase == "initial"]
        if any(obs.pending for obs in initial) and not final:
            return
        space = self.bridge.space
        model = warm_start.prior_model(prior, space, self.derived_seed(7))
        finished = [obs for obs in initial if not obs.pending]
        measured = warm_start.pairs(model, space, finished) if model is not None else ([], [])
        decision = warm_start.decide(*measured, warm_start.MIN_CONFIGS, o.warm_min_concordance)
        self.warm_start_report = {"source": prior.source, **dataclasses.asdict(decision)}
        verdict = (
            f"concordance {decision.concordance:.2f} of its predictions over {decision.resolved_pairs} pairs"
            f" of {decision.configs} timings here"
        )
        if decision.accepted:
            self.models.prior = warm_start.prior_data(prior, decision, self._tried_keys(), self.bridge.num_dims)
            self._explore_scale = o.warm_explore_fraction
            self.log(f"Warm start: prior used ({verdict}); exploring {o.warm_explore_fraction:.0%} as long")
            return
        if final:
            self.log(f"Warm start: prior dropped ({verdict}) as the exploration ended")
            return
        submitted = self._tried_keys()
        rest = [f for f in self.initial_design_flats(o.initial_design) if warm_start.flat_key(f) not in submitted]
        self.submit_flats(rest, o.low_fidelity, "initial")
        self.log(f"Warm start: prior dropped ({verdict}); {len(rest)} more initial configs, as a cold start")

    def _tried_keys(self) -> set[tuple[Any, ...]]:
        """Every config submitted so far, as warm_start.flat_key."""
        members = (obs.member for obs in self.engine.observations.values())
        return {warm_start.flat_key(getattr(member, "flat_values", None)) for member in members}

    def _explore_limits(self) -> tuple[int, int]:
        """(min, max) configs of the exploration (shorter with a used prior)."""
        o = self.options
        return round(o.min_explore_configs * self._explore_scale), round(o.max_explore_configs * self._explore_scale)

    # -- exploration -------------------------------------------------------------------
    def _explore(self) -> None:
        o = self.options
        state = {"results": 0, "quiet": 0, "stalled": 0, "best_predicted": math.inf, "stop": False}

        def stop() -> bool:
            return (
                state["stop"]
                or len(self.engine.observations) >= self._explore_limits()[1]
                or self.budget_left() < (1 - o.explore_budget_fraction) * self._budget()
            )

        def on_results(finished: list[Observation]) -> None:
            self._judge_warm_start()
            state["results"] += len(finished)
            if state["results"] >= o.batch_size:
                state["results"] = 0
                self._end_of_round(state)
            if o.background_acquisition and not self._ahead.busy and not stop():
                self._acquire_ahead()

        try:
            self.keep_busy(
                self._propose_explore,
                o.low_fidelity,
                "explore",
                stop,
                on_results,
                min_proposals=max(1, self.engine.workers // 2),
                batch=o.batch_size,
            )
        finally:
            self._ahead.close()
            self.counters.seconds["acquisition"] += self._ahead.wait_seconds
            self._ahead.wait_seconds = 0.0
        self.engine.drain(o.barrier_patience_s if o.pipelined else math.inf)
        # an initial config still compiling (a straggler) must not leave the prior unjudged
        self._judge_warm_start(final=True)
        ok = self.engine.successful()
        self.log(
            f"Exploration: {len(self.engine.observations)} configs tried, {len(ok)} ran"
            + (f", best {ok[0].median:.4f} ms" if ok else "")
        )

    def _budget(self) -> float:
        budget = self.settings.autotune_budget_seconds
        return math.inf if budget is None else float(budget)

    def _propose_explore(self, count: int) -> list[Any]:
        o = self.options
        engine = self.engine
        count = min(count, o.batch_size, self._explore_limits()[1] - len(engine.observations))
        if count <= 0:
            return []
        finished = self.refit_models()
        ok = engine.successful()
        # too little signal for a model: keep filling the space
        spread = count if self.models.objective is None or len(ok) < 2 else self._space_filling_due(count)
        flats = self.space_filling_flats(spread, self._tried_points()) if spread else []
        count -= spread
        if count == 0:
            return flats
        ahead = self._ahead.take()
        if ahead is None:  # the first round, or background_acquisition off
            with self.models.charged():
                ahead = self._acquisition(count, finished, ok)()
        points, gain = ahead
        if gain is not None:
            self._last_gain = gain
        return flats + self.propose(points[:count])

    def _acquire_ahead(self) -> None:
        """Start the next round's acquisition on the background thread
        (once the models can propose)."""
        finished = self.refit_models()
        ok = self.engine.successful()
        if self.models.objective is not None and len(ok) >= 2:
            self._ahead.start(self._acquisition(self.options.batch_size, finished, ok))

    def counters_dict(self) -> dict[str, Any]:
        counters = super().counters_dict()
        counters["acquisition_ahead"] = {"taken": self._ahead.taken, "seconds": round(self._ahead.work_seconds, 3)}
        return counters

    def refit_models(self, force: bool = False) -> list[Observation]:
        # a refit changes the models in place: never under a running acquisition
        self._ahead.settle()
        return super().refit_models(force)

    def submit_flats(self, flats: Sequence[FlatConfig], repetitions: int, phase: str) -> list[Observation]:
        # the tried set grows here, and the acquisition running ahead excludes it
        self._ahead.settle()
        return super().submit_flats(flats, repetitions, phase)

    def _acquisition(
        self, count: int, finished: list[Observation], ok: list[Observation]
    ) -> Callable[[], tuple[npt.NDArray[np.int32], float | None]]:
        """The acquisition's maximisation for ``count`` proposals, its inputs
        taken now: () -> (points, expected gain of the first, None without
        points). It reads the models and the tried set, which the search
        leaves alone until it has the result."""
        o = self.options
        model = self.models.believer(finished, self.engine.pending())
        best = math.log(ok[0].median)
        cost_aware = o.cost_aware and self.models.cost is not None
        kwargs = {
            "best": best,
            "acquisition": "log_ei_per_cost" if cost_aware else "log_ei",
            "cost_model": self.models.cost if cost_aware else None,
            "batch_size": count,
            "pool_size": o.pool_size,
            "seed": self.derived_seed(10, len(self.engine.observations)),
            "exclude": self.tried,
            "incumbents": np.stack([obs.point for obs in ok[: max(1, o.handoff_candidates)]]),
            "feasibility_model": self.models.feasibility,
        }

        def maximise() -> tuple[npt.NDArray[np.int32], float | None]:
            result = maximize_acquisition(self.bridge.space, model, **kwargs)
            if len(result.points) == 0:
                return result.points, None
            gain = score_points(self.bridge.space, model, result.points[:1], best=best, acquisition="log_ei")
            return result.points, float(np.exp(gain[0]))

        return maximise

    def _space_filling_due(self, count: int) -> int:
        """How many of ``count`` proposals go to the space-filling pick, so
        that over the exploration ``space_filling_share`` of them do."""
        share = self.options.space_filling_share
        due = math.floor(share * (self._explore_asked + count) + 1e-9) - self._explore_spread
        due = max(0, min(count, due))
        self._explore_asked += count
        self._explore_spread += due
        return due

    def _tried_points(self) -> npt.NDArray[np.int32]:
        """Every config submitted so far, encoded."""
        return np.stack([obs.point for obs in self.engine.observations.values()])

    def _end_of_round(self, state: dict[str, Any]) -> None:
        """Promotions and the stop rules, once per ``batch_size`` results."""
        o = self.options
        self.refit_models()
        if self.models.objective is None:
            return
        predicted = self._best_predicted()
        if predicted < state["best_predicted"] * (1 - o.min_improvement):
            state["best_predicted"], state["stalled"] = predicted, 0
        else:
            state["stalled"] += 1
        state["quiet"] = state["quiet"] + 1 if self._last_gain < o.ei_stop else 0
        self._promote(o.promotions_per_batch, o.medium_fidelity)
        self.log(
            f"Explore: {len(self.engine.observations)} tried, expected gain {self._last_gain:.4f}, "
            f"predicted best {predicted:.4f} ms, {self.engine.in_flight} in flight"
        )
        if len(self.engine.observations) >= self._explore_limits()[0]:
            if state["quiet"] >= o.patience:
                self.log(f"Exploration stops: expected gain below {o.ei_stop} for {state['quiet']} round(s)")
                state["stop"] = True
            elif state["stalled"] >= o.stall_batches:
                self.log(f"Exploration stops: no predicted improvement for {state['stalled']} round(s)")
                state["stop"] = True

    def _best_predicted(self) -> float:
        """The model's lowest posterior mean kernel time (ms) over the
        configs that ran; robust to one lucky low-fidelity sample."""
        ok = self.engine.successful()
        if self.models.objective is None or not ok:
            return ok[0].median if ok else math.inf
        mean, _ = self.models.predict(np.stack([obs.point for obs in ok]))
        return float(np.exp(mean.min()))

    def _promote(self, count: int, repetitions: int) -> None:
        """Re-time the configs the model ranks best that have fewer than
        ``repetitions`` samples (successive halving)."""
        ok = self.engine.successful()
        if count <= 0 or self.models.objective is None or not ok:
            return
        mean, _ = self.models.predict(np.stack([obs.point for obs in ok]))
        chosen = [ok[i] for i in np.argsort(mean, kind="stable") if ok[i].timed_repetitions < repetitions][:count]
        self.engine.retime_to(chosen, repetitions, "promote")

    # -- handoff and refinement -------------------------------------------------------
    def _handoff(self) -> list[Observation]:
        """Refinement's starting points, re-timed at full fidelity: the
        ``handoff_candidates`` (``warm_handoff_candidates`` with an accepted
        warm-start prior) configs ranked best by the lower of the model's
        posterior mean and, for those measured at medium fidelity or more,
        their median; no two of them differ in fewer than two slots.

        Why the medians: on a rugged landscape the model explains much of
        it as noise and pulls its best measurements towards the mean, so by
        the posterior alone every pick can be slower than the best promoted
        config (``bench/results/h200/suite.md``, "handoff / best promoted").
        The posterior still ranks the rest: one lucky sample at low
        fidelity does not make a config a starting point.
        """
        o = self.options
        ok = self.engine.successful()
        if not ok:
            return []
        self.refit_models(force=True)
        if self.models.objective is None:
            estimate = np.array([obs.median for obs in ok])
        else:
            mean, _ = self.models.predict(np.stack([obs.point for obs in ok]))
            measured = [obs.median if obs.timed_repetitions >= o.medium_fidelity else math.inf for obs in ok]
            estimate = np.minimum(np.exp(mean), measured)
        places = o.handoff_candidates if self.models.prior is None else o.warm_handoff_candidates
        chosen: list[Observation] = []
        for i in np.argsort(estimate, kind="stable"):
            if all(np.count_nonzero(ok[i].point != c.point) >= 2 for c in chosen):
                chosen.append(ok[i])
            if len(chosen) == places:
                break
        self.engine.retime_to(chosen, o.high_fidelity, "handoff")
        kind = self.engine.compare_by("device_time" if o.refine_by_device_time else "median")
        chosen = sorted((c for c in chosen if c.ok), key=self.engine.figure)
        self.log(f"Handoff to refinement ({kind}): " + ", ".join(f"{self.engine.figure(c):.4f} ms" for c in chosen))
        return chosen

    def _screen(self, points: np.ndarray, current: Observation) -> list[int]:
        """Indices of the neighbours worth timing: probability of beating
        ``current`` by ``min_improvement`` (and of running at all, with
        ``screen_feasibility``) at least ``screen_probability`` (the most
        promising few always pass), best first."""
        o = self.options
        if len(points) == 0:
            return []
        if self.models.objective is None:
            return list(range(min(len(points), o.screen_max_neighbours)))
        mean, variance = self.models.predict(points)
        target = math.log(current.median) + math.log1p(-o.min_improvement)
        probability = ndtr((target - mean) / np.sqrt(np.maximum(variance, 1e-12)))
        if o.screen_feasibility:
            probability = probability * self.models.feasible(points)
        order = [int(i) for i in np.argsort(-probability, kind="stable")]
        keep = [i for i in order if probability[i] >= o.screen_probability]
        if len(keep) < o.screen_min_neighbours:
            keep = order[: o.screen_min_neighbours]
        return keep[: o.screen_max_neighbours]

    def _expand(self, path: _Path) -> None:
        """Submit ``path``'s neighbours (screened unless it is verifying)."""
        candidates: dict[Any, Any] = {}
        for flat in self.neighbour_flats(path.current.member.flat_values):
            member = self.make_unbenchmarked(flat)
            if member is None:
                self.counters.invalid_configs += 1
            elif member.config not in self.engine.observations:
                candidates.setdefault(member.config, member)
        configs = list(candidates)
        if not path.verifying and configs:
            points = self.bridge.encode_many([candidates[c].flat_values for c in configs])
            configs = [configs[i] for i in self._screen(points, path.current)]
            self.screened_out += len(candidates) - len(configs)
        flats = [candidates[c].flat_values for c in configs]
        submitted = self.submit_flats(flats, self.options.high_fidelity, "refine")
        path.waiting = {obs.config for obs in submitted}
        path.tried = [obs.config for obs in submitted]
        path.submitted_at = self.engine.clock.now()

    def _settle(self, path: _Path) -> _Path | None:
        """A path whose neighbours are in: its next state, or None when it
        stops (no neighbour improved, or out of moves)."""
        o = self.options
        figure = self.engine.figure
        tried = [self.engine.observations[c] for c in path.tried]
        best = min((t for t in tried if t.ok), key=figure, default=path.current)
        improved = best is not path.current and figure(best) < figure(path.current) * (1 - o.min_improvement)
        if not improved or path.moves + 1 >= o.refine_max_generations:
            return None
        return _Path(best, moves=path.moves + 1)

    def _ready(self, path: _Path) -> bool:
        """Whether ``path`` can move: all its neighbours are in, or (when
        pipelined) the stragglers among them have had their patience."""
        if not path.waiting:
            return True
        if not self.options.pipelined:
            return False
        return self.engine.clock.now() - path.submitted_at > self.options.barrier_patience_s and len(
            path.waiting
        ) <= max(1, len(path.tried) // 4)

    def _refine(self, starts: list[Observation]) -> None:
        """Pattern search from ``starts`` at full fidelity (see the module
        docstring); paths move as their own neighbours' results arrive."""
        o = self.options
        self.screened_out = 0
        verified: set[Any] = set()
        live = [_Path(start) for start in starts]
        for path in live:
            self._expand(path)
        while not self.over_budget():
            if not live:
                incumbent = self._incumbent()
                if incumbent is None or incumbent.config in verified:
                    break
                verified.add(incumbent.config)
                live = [_Path(incumbent, verifying=True)]
                self._expand(live[0])
            finished = {obs.config for obs in self.engine.step(timeout=o.barrier_patience_s)}
            if finished and o.screen_feasibility:
                self.refit_models()  # the screen learns which neighbours fail
            moved: list[_Path] = []
            for path in live:
                path.waiting -= finished
                if not self._ready(path) or (not o.pipelined and any(p.waiting for p in live)):
                    moved.append(path)
                    continue
                following = self._settle(path)
                if following is not None and all(following.current.config != p.current.config for p in moved):
                    self._expand(following)
                    moved.append(following)
            live = moved
        self.log(
            f"Refinement: the model screened out {self.screened_out} neighbour(s); best "
            f"{self.engine.figure(self._incumbent()) if self._incumbent() else math.inf:.4f} ms"
        )

    def _incumbent(self) -> Observation | None:
        """The fastest config among full-fidelity measurements (a few-sample
        median is optimistic), by the comparison figure."""
        full = self.engine.successful(self.options.high_fidelity) or self.engine.successful()[:1]
        return min(full, key=self.engine.figure, default=None)

    # -- shootout -----------------------------------------------------------------------
    def _affordable_candidates(self, candidates: list[Observation]) -> list[Observation]:
        """The fastest candidates whose first shootout round fits in what is
        left of the budget (all of them without a budget)."""
        left = self.budget_left()
        if math.isinf(left):
            return candidates
        # calls per candidate and round: two graphs of 20 calls, 6 replays each; or the samples
        calls = 240 if self.engine.figure_kind == "device_time" else self.options.medium_fidelity + 1
        kept, cost = [], 0.0
        for obs in candidates:
            cost += calls * obs.median / 1000.0
            if cost > left:
                break
            kept.append(obs)
        return kept

    def _shootout(self) -> list[Observation]:
        """The fastest full-fidelity configs re-timed side by side (within
        what is left of the budget); their ranking, or the search's own if
        it could not run."""
        o = self.options
        full = sorted(self.engine.successful(o.high_fidelity) or self.engine.successful(), key=self.engine.figure)
        close = [
            c for c in full if full and self.engine.figure(c) <= (1 + o.shootout_margin) * self.engine.figure(full[0])
        ]
        candidates = self._affordable_candidates(close[: o.shootout_candidates])
        if len(candidates) <= 1 or o.shootout_rounds == 0:
            return full
        ranked = self.engine.shootout(
            candidates, o.shootout_rounds, o.medium_fidelity, self.derived_seed(0x5400), deadline=self.engine.deadline
        )
        if ranked:
            self.log(
                f"Shootout of {len(candidates)} configs by {self.engine.figure_kind}: best "
                f"{ranked[0].shootout_ms:.4f} ms (search {ranked[0].median:.4f} ms), spread "
                f"{ranked[-1].shootout_ms / ranked[0].shootout_ms - 1:.1%}"
            )
        return ranked or candidates
