"""The Helion adapter shared by the multi-fidelity searches.

A search here is a Helion ``PopulationBasedSearch`` for construction,
settings, seeds and the autotune cache, and holds strategy only: it submits
configs to the :class:`~helion_hybrid.evaluation.EvaluationEngine` (which
compiles, checks, times and compares them) and reacts to results as they
arrive. This module holds what both searches share: options and seeds,
turning flat configs into submissions, the initial design, Helion's
pattern-search moves, the budget, and the finish.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from helion import exc
from helion.autotuner.base_search import PopulationBasedSearch

from .evaluation import Counters, EvaluationEngine, Listener, Observation, StragglerPolicy, WallClock
from .helion_space import HelionConfigSpace
from .models import SearchModels
from .space import PointSet
from .timing import MultiFidelityBenchmarkProvider
from .tuning_store import TuningStore, record_search

if TYPE_CHECKING:
    from helion.autotuner.config_generation import FlatConfig
    from helion.autotuner.effort_profile import AutotuneEffortProfile
    from helion.runtime.config import Config
    from helion.runtime.settings import Settings

    from .evaluation import Backend

# The largest elements-per-thread Helion's random sampler draws (it draws
# PowerOfTwoFragment(1, 2048) in ConfigGeneration.random_flat).
MAX_ELEMENTS_PER_THREAD = 2048


class NoWorkingConfig(exc.NoConfigFound):
    """Helion's NoConfigFound, with what happened to the configs tried."""

    message = "No working config found from autotuning: {}"


_last_search: MultiFidelitySearchBase | None = None


def last_search() -> MultiFidelitySearchBase | None:
    """The most recently constructed HybridSearch / MultiFidelityBayesianSearch
    in this process (e.g. to read ``counters_dict()`` after ``kernel(*args)``
    autotuned through ``HELION_AUTOTUNER``), or None. One search is kept
    alive for this; the next one replaces it."""
    return _last_search


def default_backend(search: MultiFidelitySearchBase) -> Backend:
    """Helion's compile pipeline and timers (a replay passes its own)."""
    from .helion_backend import HelionBackend

    provider = search.benchmark_provider
    assert isinstance(provider, MultiFidelityBenchmarkProvider), type(provider)
    return HelionBackend(
        provider, search.log, codegen_workers=search.options.codegen_workers, compile_pool=search.options.compile_pool
    )


class MultiFidelitySearchBase(PopulationBasedSearch):
    """Base for searches that time configs at several fidelities and steer
    with Gaussian-process models.

    Attributes:
        options: the search's frozen options dataclass.
        listeners: callables given one dict per evaluation step (the
            comparison harness records its trace through these).
        backend_factory: builds the engine's backend from the search.
    """

    backend_factory: Callable[[MultiFidelitySearchBase], Backend] = staticmethod(default_backend)

    def __init__(self, kernel: Any, args: Sequence[object], options: Any) -> None:
        global _last_search
        super().__init__(kernel, args)
        _last_search = self
        # PopulationBasedSearch does not forward benchmark_provider_cls; the
        # provider is built from this attribute in _prepare().
        self._benchmark_provider_cls = MultiFidelityBenchmarkProvider
        self.options = options
        self.bridge = HelionConfigSpace(self.config_gen)
        self.tried = PointSet(self.bridge.num_dims)
        self.counters = Counters()
        self.listeners: list[Listener] = []
        self.phase_seconds: dict[str, float] = {}
        self.engine: EvaluationEngine | None = None
        #: how a warm start went (prior, configs timed at both shapes, correlation, used or not); None without one
        self.warm_start_report: dict[str, Any] | None = None
        self.models: SearchModels | None = None
        #: Where the finished tuning is written (None: nowhere); from
        #: HELION_HYBRID_TUNING_STORE, read here so a bad value fails before
        #: any tuning time is spent.
        self.tuning_store: TuningStore | None = TuningStore.from_environment()

    @classmethod
    def get_kwargs_from_profile(cls, profile: AutotuneEffortProfile, settings: Settings) -> dict[str, object]:
        """Helion passes its effort profile; the searches map the effort
        name to their own options (``quick`` / ``full``)."""
        return {"effort": str(settings.autotune_effort)}

    def _algorithm_cache_policy(self) -> dict[str, object]:
        import dataclasses

        return {"algorithm": type(self).__name__, **dataclasses.asdict(self.options)}

    def counters_dict(self) -> dict[str, Any]:
        """Counters as a dict (configs per phase/fidelity, failures, seconds,
        configs whose code a codegen process generated, and what the compile
        pool did)."""
        counters = self.counters.as_dict()
        backend = self.engine.backend if self.engine else None
        counters["codegen_offloaded"] = getattr(backend, "codegen_offloaded", 0)
        counters["codegen_workers"] = getattr(backend, "codegen_workers", 0)
        counters["codegen_failures"] = getattr(backend, "codegen_failures", {})
        counters["compiles_elsewhere"] = getattr(backend, "compiles_elsewhere", {})
        counters["warm_start"] = self.warm_start_report
        return counters

    def _codegen_summary(self) -> str:
        """What the codegen and compile processes did, for the counters' log line."""
        counters = self.counters_dict()
        summary = ""
        if counters["codegen_workers"]:
            failures = counters["codegen_failures"]
            failed, retried = sum(failures["failed"].values()), sum(failures["retried"].values())
            summary += (
                f"; codegen processes: {counters['codegen_workers']}, served {counters['codegen_offloaded']}, "
                f"failed {failed}, retried {retried}"
            )
        compiles = counters["compiles_elsewhere"]
        if compiles:
            summary += (
                f"; compile processes: {compiles['processes']}, ran {compiles['ran']}, "
                f"forked as Helion does {compiles['forked']}, replaced {compiles['replaced']}"
            )
        return summary

    @property
    def observations(self) -> dict[Config, Observation]:
        return {} if self.engine is None else self.engine.observations

    # -- seeds --------------------------------------------------------------------
    @property
    def seed(self) -> int:
        """The autotune random seed (Helion's setting), for every random source."""
        seed = self.settings.autotune_random_seed
        return int(seed) % (2**62) if seed is not None else 0

    def derived_seed(self, *salt: int) -> int:
        """A deterministic seed per use, derived from the autotune seed."""
        value = self.seed
        for s in salt:
            value = (value * 1_000_003 + int(s) + 1) % (2**62)
        return value

    # -- the run --------------------------------------------------------------------
    def _autotune(self) -> Config:
        self.engine = self._make_engine()
        self.models = SearchModels(self.bridge.space, self.derived_seed(1), self.counters, self.engine.clock.now)
        self._started = self.engine.clock.now()
        budget_start = getattr(self, "_autotune_budget_start", None)
        if isinstance(self.engine.clock, WallClock) and budget_start is not None:
            # Helion's budget starts in _prepare(), before its baseline run
            self._started -= time.perf_counter() - budget_start
        budget = self.settings.autotune_budget_seconds
        if budget is not None:
            self.engine.deadline = self._started + float(budget)
        try:
            config = self.search()
        finally:
            self.engine.close()
        # after close: what was still in flight is recorded as cancelled
        self.record_tuning(config)
        return config

    def search(self) -> Config:
        """The strategy; ends with :meth:`finish`."""
        raise NotImplementedError

    def measures_device(self) -> bool:
        """Whether this search times a real device (Helion's compile pipeline
        and timers), not a replay's or a test backend's simulated timings:
        only such a search writes to or reads from the tuning store."""
        from .helion_backend import HelionBackend

        return isinstance(getattr(self.engine, "backend", None), HelionBackend)

    def record_tuning(self, config: Config) -> Path | None:
        """Write every observation of this finished run to the tuning store
        (:mod:`helion_hybrid.tuning_store`); the file, or None. Only a real
        device's measurements are written (:meth:`measures_device`): simulated
        timings would mislead a later warm start. Never raises."""
        assert self.engine is not None
        if self.tuning_store is None or not self.measures_device():
            return None
        start = time.perf_counter()
        path = record_search(self.tuning_store, self, config)
        if path is not None:
            self.log(
                f"Tuning store: {len(self.engine.observations)} observations written to {path} "
                f"in {1000 * (time.perf_counter() - start):.0f} ms"
            )
        return path

    def _make_engine(self) -> EvaluationEngine:
        backend = type(self).backend_factory(self)
        provider = self.benchmark_provider
        workers = provider._decide_num_jobs() if hasattr(provider, "_decide_num_jobs") else 1
        ceiling = float(self.settings.autotune_compile_timeout)
        floor = min(self.options.compile_timeout_floor, ceiling)
        if self.options.pipelined:
            stragglers = StragglerPolicy(factor=self.options.straggler_factor, floor_s=floor, ceiling_s=ceiling)
        else:
            # Helion's synchronous behaviour: its full timeout for the initial
            # design, then an adaptive timeout at the p90 (PatternSearch's rule).
            stragglers = StragglerPolicy(
                factor=1.0,
                floor_s=floor,
                ceiling_s=ceiling,
                min_samples=self.options.initial_design,
                ceiling_until_min_samples=True,
            )
        return EvaluationEngine(
            backend,
            workers=max(1, int(workers)),
            stragglers=stragglers,
            counters=self.counters,
            listeners=self.listeners,
            log=self.log,
        )

    def enter_phase(self, name: str) -> None:
        """Account what follows to phase ``name`` (seconds and waiting)."""
        assert self.engine is not None
        now = self.engine.clock.now()
        previous = self.engine.phase
        if previous != "start":
            self.phase_seconds[previous] = self.phase_seconds.get(previous, 0.0) + now - self._phase_started
        self.engine.phase = name
        self._phase_started = now

    def refit_models(self, force: bool = False) -> list[Observation]:
        """Refit the models when enough new results arrived since the last
        fit (a tenth more, at least 4); returns the finished observations."""
        assert self.engine is not None and self.models is not None
        finished = [obs for obs in self.engine.observations.values() if not obs.pending]
        new = len(finished) - self.models.fitted_on
        if force or self.models.objective is None or new >= max(4, len(finished) // 10):
            self.models.fit(finished, with_cost=getattr(self.options, "cost_aware", False))
        return finished

    # -- budget ---------------------------------------------------------------------
    def budget_left(self) -> float:
        """Seconds of ``autotune_budget_seconds`` left (inf without a budget)."""
        budget = self.settings.autotune_budget_seconds
        if budget is None or self.engine is None:
            return math.inf
        return float(budget) - (self.engine.clock.now() - self._started)

    def over_budget(self) -> bool:
        """Past the budget, once a config has run (before that the search
        keeps going: returning nothing is not an answer)."""
        assert self.engine is not None
        return self.budget_left() <= 0 and any(o.ok for o in self.engine.observations.values())

    # -- submissions ------------------------------------------------------------------
    def submit_flats(self, flats: Sequence[FlatConfig], repetitions: int, phase: str) -> list[Observation]:
        """Queue flat configs for compile and first timing. Invalid configs
        and ones already tried are skipped (and counted)."""
        assert self.engine is not None
        items = []
        for flat in flats:
            proposed = self.bridge.encode(flat)
            member = self.make_unbenchmarked(list(flat))
            if member is None:
                self.counters.invalid_configs += 1
                self.tried.add(proposed[None, :])
                continue
            # Helion may canonicalise the config: learn at the point it became.
            point = self.bridge.encode(member.flat_values)
            self.tried.add(np.stack([proposed, point]))
            items.append((member.config, member, point))
        return self.engine.submit(items, repetitions, phase)

    def propose(self, points: npt.NDArray[np.int32]) -> list[FlatConfig]:
        """Flat configs for points the acquisition chose. Each point is
        marked tried (never proposed again) and its tiles are shrunk the way
        Helion's own random sampler shrinks them (``shrink_config`` at its
        most generous elements-per-thread): tiles far beyond what the warps
        can hold fail or hang the compiler."""
        flats = []
        for point in points:
            self.tried.add(np.asarray(point, dtype=np.int32)[None, :])
            flat = self.bridge.decode(point)
            self.config_gen.shrink_config(flat, MAX_ELEMENTS_PER_THREAD)
            flats.append(flat)
        return flats

    def keep_busy(
        self,
        propose: Callable[[int], list[FlatConfig]],
        repetitions: int,
        phase: str,
        stop: Callable[[], bool],
        on_results: Callable[[list[Observation]], None],
        min_proposals: int,
        batch: int,
    ) -> None:
        """Keep every compile worker busy with ``propose(n)`` until ``stop()``
        (or the budget): results go to ``on_results`` as they arrive.

        Pipelined, proposals are asked for once at least ``min_proposals``
        slots are free (or nothing is in flight); synchronous
        (``options.pipelined`` False, or where nothing compiles in the
        background, e.g. the Pallas backend), ``batch`` configs are asked
        for once the previous batch is done. ``propose`` returning nothing ends the
        loop once the configs in flight are done.
        """
        assert self.engine is not None
        engine = self.engine
        exhausted = False
        while not stop() and not self.over_budget():
            if self.options.pipelined and engine.background_compiles is not False:
                free = engine.workers + max(1, engine.workers // 2) - engine.in_flight
                ask = free >= min_proposals or engine.in_flight == 0
            else:
                free, ask = batch, engine.in_flight == 0
            if ask and not exhausted:
                flats = propose(free)
                exhausted = not flats
                if flats:
                    self.submit_flats(flats, repetitions, phase)
            if exhausted and engine.in_flight == 0:
                return
            finished = engine.step()
            if finished:
                on_results(finished)

    # -- initial design -------------------------------------------------------------
    def initial_design_flats(self, count: int, extra: Sequence[FlatConfig] = ()) -> list[FlatConfig]:
        """Helion's default config, the user's and the compiler's seed
        configs, ``extra`` (a warm start's prior best), then a space-filling
        (greedy maximin) pick from a pool of
        Helion's own random configs up to ``count``. Helion's sampler keeps
        tiles within what the warps can hold; a maximin pick from the raw
        space would favour its extreme corners, which fail or hang the
        compiler far more often."""
        gen = self.config_gen
        flats: list[FlatConfig] = [gen.default_flat()]
        seeds = list(gen.user_seed_flat_config_pairs(self.settings.autotune_seed_configs or (), self.log))
        seeds += list(gen.seed_flat_config_pairs(self.log))
        for flat in [f for f, _config in seeds] + list(extra):
            if not any(flat == f for f in flats):
                flats.append(flat)
        fill = count - len(flats)
        if fill > 0:
            flats += self.space_filling_flats(fill, self.bridge.encode_many(flats))
        return flats

    def space_filling_flats(self, count: int, chosen: npt.NDArray[np.int32]) -> list[FlatConfig]:
        """``count`` of Helion's own random configs, picked greedily maximin
        from the ``chosen`` points (encoded) and from each other."""
        gen = self.config_gen
        # Python's random was seeded with autotune_random_seed by Helion.
        pool_flats = [gen.random_flat() for _ in range(max(16 * count, 256))]
        pool = self.bridge.encode_many(pool_flats)
        space = self.bridge.space
        picks = maximin_selection(space.features(pool), np.arange(len(pool)), space.features(chosen), count)
        return [pool_flats[int(i)] for i in picks]

    def neighbour_flats(self, base: FlatConfig) -> list[FlatConfig]:
        """Helion PatternSearch's moves: every radius-1 change of one
        non-overridden slot, plus every pair of block-size changes."""
        gen = self.config_gen
        overridden = gen.overridden_flat_indices
        candidates = [
            spec.pattern_neighbors(base[i]) if i not in overridden else [] for i, spec in enumerate(gen.flat_spec)
        ]
        neighbours: list[FlatConfig] = []
        for i, values in enumerate(candidates):
            for value in values:
                flat = [*base]
                flat[i] = value
                neighbours.append(flat)
        blocks = [i for i in gen.block_size_indices if i not in overridden]
        for pos, first in enumerate(blocks):
            for second in blocks[pos + 1 :]:
                for a in candidates[first]:
                    for b in candidates[second]:
                        flat = [*base]
                        flat[first], flat[second] = a, b
                        neighbours.append(flat)
        return neighbours

    # -- the finish -------------------------------------------------------------------
    def finish(self, ranked: Sequence[Observation]) -> Config:
        """Return the best of ``ranked`` (fastest first, by figures measured
        side by side at full fidelity). Its output passed the accuracy check
        against Helion's baseline at its first timing, and its figure is a
        re-timing, so Helion's own final re-timing (``_finalize``) would
        repeat work already done; set ``helion_final_selection`` to run it
        anyway over these finalists.

        Raises:
            NoWorkingConfig: (a ``helion.exc.NoConfigFound``) nothing ran,
                with the count of configs by status.
        """
        assert self.engine is not None
        if not ranked:
            counts = ", ".join(f"{n} {status}" for status, n in sorted(self.engine.status_counts().items()))
            raise NoWorkingConfig(f"{len(self.engine.observations)} configs tried ({counts or 'none'})")
        self.population = []
        for obs in ranked:
            member = obs.member
            member.fn = obs.handle
            member.status = obs.status
            member.compile_time = obs.compile_s
            member.perfs[:] = [obs.shootout_ms if math.isfinite(obs.shootout_ms) else self.engine.figure(obs)]
            self.population.append(member)
        self.best_perf_so_far = min(m.perf for m in self.population)
        self.log(f"{type(self).__name__} counters: {self.counters.summary()}{self._codegen_summary()}")
        if self.options.helion_final_selection:
            self.final_candidates = min(len(ranked), self.options.final_candidates)
            return self._finalize()
        self.best = self.population[0]
        return self.best.config

    #: Helion's final re-timing compares this many configs when it runs.
    final_candidates: int = 8

    def _final_rebenchmark_top_k_default(self) -> int:
        return self.final_candidates


def maximin_selection(
    pool_features: npt.NDArray[np.float64],
    pool_points: npt.NDArray[Any],
    chosen_features: npt.NDArray[np.float64],
    count: int,
) -> list[Any]:
    """Greedy maximin design: repeatedly take the pool point farthest from
    everything chosen so far (a space-filling set)."""
    if count <= 0 or len(pool_points) == 0:
        return []
    distance = np.full(len(pool_points), np.inf)
    for feature in chosen_features:
        distance = np.minimum(distance, np.sum((pool_features - feature) ** 2, axis=1))
    picked: list[npt.NDArray[np.int32]] = []
    for _ in range(min(count, len(pool_points))):
        index = int(np.argmax(distance))
        if distance[index] <= 0:
            break
        picked.append(pool_points[index])
        distance = np.minimum(distance, np.sum((pool_features - pool_features[index]) ** 2, axis=1))
    return picked
