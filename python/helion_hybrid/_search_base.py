"""Machinery shared by the multi-fidelity Helion searches.

A search here keeps one :class:`Observation` per distinct Helion ``Config``
it has tried: where it sits in the discrete space, its Helion population
member, and every timing sample. It evaluates configs through Helion's own
compile pipeline with :class:`~helion_hybrid.timing.MultiFidelityBenchmarkProvider`
(first timing at a chosen number of repetitions), re-times compiled configs at
higher fidelity without recompiling, and fits the Gaussian-process models the
searches steer by:

* objective: log of the median kernel time of every config that ran, with
  the number of samples as repetitions (a 5-sample median counts less than a
  50-sample one);
* feasibility: 1 for configs that ran correctly, 0 for those that failed to
  compile, timed out or failed the accuracy check.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import random
import statistics
import time
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import numpy.typing as npt
from helion.autotuner.base_search import PopulationBasedSearch, PopulationMember

from .gp import GaussianProcess
from .helion_space import HelionConfigSpace
from .space import PointSet
from .timing import GraphDeviceTimer, MultiFidelityBenchmarkProvider, TimingRecord, _uses_cuda

if TYPE_CHECKING:
    from helion.autotuner.config_generation import FlatConfig
    from helion.autotuner.effort_profile import AutotuneEffortProfile
    from helion.runtime.settings import Settings
    from helion.runtime.config import Config

# The largest elements-per-thread Helion's random sampler draws (it draws
# PowerOfTwoFragment(1, 2048) in ConfigGeneration.random_flat).
MAX_ELEMENTS_PER_THREAD = 2048

FAILURE_STATUSES = ("error", "timeout", "accuracy_error", "peer_compilation_fail", "filtered", "source_rejected")


@dataclasses.dataclass
class Observation:
    """One distinct config the search has tried."""

    config: Config
    point: npt.NDArray[np.int32]
    member: PopulationMember
    record: TimingRecord | None
    phase: str
    status: str
    #: Ranking figure from :meth:`MultiFidelitySearchBase.shootout` (ms).
    shootout_ms: float = math.inf
    #: Device time from a CUDA graph (ms); None until measured, nan if it
    #: could not be.
    device_ms: float | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "deduplicated") and math.isfinite(self.median)

    @property
    def samples(self) -> list[float]:
        return [] if self.record is None else self.record.samples

    @property
    def median(self) -> float:
        if self.record is not None and self.record.samples:
            return self.record.median
        return float(self.member.perf)  # e.g. a source-deduplicated config

    @property
    def repetitions(self) -> int:
        """Timed repetitions behind the median (the fidelity reached)."""
        return max(1, self.record.repetitions if self.record is not None else 1)


class SearchCounters:
    """Counters that add up: configs timed per phase and fidelity, failures
    by kind, and seconds spent compiling, timing and modelling."""

    def __init__(self) -> None:
        self.timed: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
        self.retimed: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
        self.failures: collections.Counter[str] = collections.Counter()
        self.invalid_configs = 0
        self.duplicate_proposals = 0
        self.seconds: collections.defaultdict[str, float] = collections.defaultdict(float)
        self.model_fits = 0

    def as_dict(self) -> dict[str, Any]:
        """A plain dict for logs and JSON."""
        return {
            "configs_timed": {phase: dict(sorted(c.items())) for phase, c in self.timed.items()},
            "configs_retimed": {phase: dict(sorted(c.items())) for phase, c in self.retimed.items()},
            "configs_timed_total": sum(sum(c.values()) for c in self.timed.values()),
            "failures": dict(self.failures),
            "invalid_configs": self.invalid_configs,
            "duplicate_proposals": self.duplicate_proposals,
            "model_fits": self.model_fits,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }

    def summary(self) -> str:
        """One log line."""
        d = self.as_dict()
        timed = ", ".join(
            f"{phase} " + "+".join(f"{n}@{r}" for r, n in per.items()) for phase, per in d["configs_timed"].items()
        )
        retimed = ", ".join(
            f"{phase} " + "+".join(f"{n}@{r}" for r, n in per.items()) for phase, per in d["configs_retimed"].items()
        )
        seconds = ", ".join(f"{k} {v:.1f}s" for k, v in d["seconds"].items())
        failures = ", ".join(f"{k} {v}" for k, v in d["failures"].items()) or "none"
        return (
            f"configs timed (count@repetitions): {timed or 'none'}; re-timed: {retimed or 'none'}; "
            f"failures: {failures}; invalid {d['invalid_configs']}; time: {seconds}"
        )


_last_search: MultiFidelitySearchBase | None = None


def last_search() -> MultiFidelitySearchBase | None:
    """The most recently constructed HybridSearch / MultiFidelityBayesianSearch
    in this process (e.g. to read ``counters_dict()`` after ``kernel(*args)``
    autotuned through ``HELION_AUTOTUNER``), or None. One search is kept
    alive for this; the next one replaces it."""
    return _last_search


class MultiFidelitySearchBase(PopulationBasedSearch):
    """Base for searches that time configs at several fidelities and steer
    with Gaussian-process models (see the module docstring)."""

    def __init__(self, kernel: Any, args: Sequence[object], *, finishing_rounds: int = 0) -> None:
        global _last_search
        super().__init__(kernel, args, finishing_rounds=finishing_rounds)
        _last_search = self
        # PopulationBasedSearch does not forward benchmark_provider_cls; the
        # provider is built from this attribute in _prepare().
        self._benchmark_provider_cls = MultiFidelityBenchmarkProvider
        self.bridge = HelionConfigSpace(self.config_gen)
        self.observations: dict[Config, Observation] = {}
        self.tried = PointSet(self.bridge.num_dims)
        self.counters = SearchCounters()
        self._objective_model: GaussianProcess | None = None
        self._feasibility_model: GaussianProcess | None = None
        #: Whether :meth:`figure` uses device time; None until first asked.
        self.device_time_figures: bool | None = None
        self._device_timer: GraphDeviceTimer | None = None
        self.options: Any = None
        self.phase_seconds: dict[str, float] = {}

    def resolve_options(self, profiles: dict[str, Any], effort: str | None, overrides: dict[str, Any]) -> Any:
        """The effort profile's defaults (``full`` for an unknown effort)
        with the keyword arguments that were given (not None) applied."""
        base = profiles.get(effort or str(self.settings.autotune_effort), profiles["full"])
        fields = dataclasses.fields(base)
        given = {f.name: overrides[f.name] for f in fields if overrides.get(f.name) is not None}
        return dataclasses.replace(base, **given)

    def _algorithm_cache_policy(self) -> dict[str, object]:
        return {"algorithm": type(self).__name__, **dataclasses.asdict(self.options)}

    @classmethod
    def get_kwargs_from_profile(cls, profile: AutotuneEffortProfile, settings: Settings) -> dict[str, object]:
        """Helion passes its effort profile; the searches map the effort
        name to their own profiles (``quick`` / ``full``)."""
        kwargs = dict(super().get_kwargs_from_profile(profile, settings))
        kwargs.pop("max_generations", None)
        kwargs["effort"] = str(settings.autotune_effort)
        return kwargs

    # -- seeds -------------------------------------------------------------------
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

    @property
    def provider(self) -> MultiFidelityBenchmarkProvider:
        provider = self.benchmark_provider
        assert isinstance(provider, MultiFidelityBenchmarkProvider), type(provider)
        return provider

    def counters_dict(self) -> dict[str, Any]:
        """Counters as a dict (configs per phase/fidelity, failures, seconds)."""
        return self.counters.as_dict()

    # -- evaluation --------------------------------------------------------------
    def evaluate_flats(self, flats: Sequence[FlatConfig], repetitions: int, phase: str) -> list[Observation]:
        """Compile and time new configs at ``repetitions``; skip invalid and
        already-tried ones. Returns the new observations (failed included)."""
        members: list[PopulationMember] = []
        points: list[npt.NDArray[np.int32]] = []
        seen: set[Any] = set()
        for flat in flats:
            proposed = self.bridge.encode(flat)
            member = self.make_unbenchmarked(list(flat))
            if member is None:
                self.counters.invalid_configs += 1
                self.tried.add(proposed[None, :])
                continue
            if member.config in self.observations or member.config in seen:
                self.counters.duplicate_proposals += 1
                self.tried.add(proposed[None, :])
                continue
            seen.add(member.config)
            members.append(member)
            points.append(proposed)
        return self.evaluate_members(members, points, repetitions, phase)

    def evaluate_members(
        self,
        members: Sequence[PopulationMember],
        points: Sequence[npt.NDArray[np.int32]],
        repetitions: int,
        phase: str,
    ) -> list[Observation]:
        """Compile and time distinct, untried members (from
        ``make_unbenchmarked``) at ``repetitions``; ``points`` are where they
        were proposed in the discrete space."""
        if not members:
            return []
        self.provider.repetitions = int(repetitions)
        start = time.perf_counter()
        self.benchmark_population(members, desc=f"{type(self).__name__} {phase}", raise_if_no_viable_config=False)
        elapsed = time.perf_counter() - start
        new: list[Observation] = []
        check = timing = 0.0
        for member, proposed in zip(members, points):
            record = self.provider.records.get(member.config)
            status = member.status
            if record is not None and record.status != "ok":
                status = record.status
            if record is not None:
                check += record.check_seconds
                timing += record.timing_seconds
            # Helion may canonicalise the config: learn at the point it became.
            point = self.bridge.encode(member.flat_values)
            self.tried.add(np.stack([proposed, point]))
            obs = Observation(member.config, point, member, record, phase, status)
            self.observations[member.config] = obs
            new.append(obs)
            if obs.ok:
                self.counters.timed[phase][int(repetitions)] += 1
            else:
                self.counters.failures[status if status in FAILURE_STATUSES else "error"] += 1
        self.counters.seconds["compile"] += max(0.0, elapsed - check - timing)
        self.counters.seconds["accuracy_check"] += check
        self.counters.seconds["timing"] += timing
        return new

    def propose(self, points: npt.NDArray[np.int32]) -> list[FlatConfig]:
        """Flat configs for points the acquisition chose. Each point is
        marked tried (never proposed again) and its tiles are shrunk the way
        Helion's own random sampler shrinks them (``shrink_config`` at its
        most generous elements-per-thread): tiles far beyond what the warps
        can hold fail or hang the compiler, and one hung compile costs more
        than a whole batch."""
        flats = []
        for point in points:
            self.tried.add(np.asarray(point, dtype=np.int32)[None, :])
            flat = self.bridge.decode(point)
            self.config_gen.shrink_config(flat, MAX_ELEMENTS_PER_THREAD)
            flats.append(flat)
        return flats

    def retime_to(self, observations: Sequence[Observation], repetitions: int, phase: str) -> None:
        """Top each ok observation up to ``repetitions`` samples in total
        (re-timing the compiled kernel; no recompile)."""
        start = time.perf_counter()
        for obs in observations:
            missing = int(repetitions) - obs.repetitions
            if not obs.ok or obs.record is None or missing <= 0:
                continue
            record = self.provider.retime(obs.config, missing)
            if record.status != "ok":
                obs.status = record.status
                obs.member.perfs.append(math.inf)
                obs.member.status = "error"
                self.counters.failures["error"] += 1
                continue
            obs.member.perfs.append(record.median)
            self.counters.retimed[phase][int(repetitions)] += 1
            if record.median < self.best_perf_so_far:  # type: ignore[has-type]
                self.best_perf_so_far = record.median
        self.counters.seconds["timing"] += time.perf_counter() - start

    def successful(self, min_repetitions: int = 0) -> list[Observation]:
        """Observations that ran correctly (with at least ``min_repetitions``
        samples), fastest (by median) first."""
        return sorted(
            (o for o in self.observations.values() if o.ok and o.repetitions >= min_repetitions),
            key=lambda o: o.median,
        )

    # -- models ----------------------------------------------------------------
    def fit_models(self) -> GaussianProcess | None:
        """Refit the objective (and, when there are failures, feasibility)
        models on everything observed. Returns the objective model, or None
        with fewer than two successful configs."""
        start = time.perf_counter()
        ok = self.successful()
        if len(ok) < 2:
            return None
        X = self.bridge.space.features(np.stack([o.point for o in ok]))
        y = np.log(np.array([o.median for o in ok]))
        reps = np.array([o.repetitions for o in ok], dtype=np.float64)
        if self._objective_model is None:
            self._objective_model = GaussianProcess(seed=self.derived_seed(1), restarts=2)
        self._objective_model.fit(X, y, repetitions=reps)
        failed = [o for o in self.observations.values() if not o.ok]
        if failed:
            every = ok + failed
            Xf = self.bridge.space.features(np.stack([o.point for o in every]))
            labels = np.array([1.0] * len(ok) + [0.0] * len(failed))
            if self._feasibility_model is None:
                self._feasibility_model = GaussianProcess(seed=self.derived_seed(2), restarts=1)
            self._feasibility_model.fit(Xf, labels)
        self.counters.model_fits += 1
        self.counters.seconds["model"] += time.perf_counter() - start
        return self._objective_model

    @property
    def feasibility_model(self) -> GaussianProcess | None:
        """The current feasibility model (None until a config has failed)."""
        return self._feasibility_model

    def predict(self, points: npt.NDArray[np.int32]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Objective model's posterior (log ms) at points."""
        assert self._objective_model is not None
        start = time.perf_counter()
        result = self._objective_model.predict(self.bridge.space.features(points))
        self.counters.seconds["model"] += time.perf_counter() - start
        return result

    # -- initial design ------------------------------------------------------------
    def initial_design_flats(self, count: int) -> list[FlatConfig]:
        """Helion's default config, the user's and the compiler's seed
        configs, then a space-filling (greedy maximin) pick from a pool of
        Helion's own random configs up to ``count``. Helion's sampler keeps
        tiles within what the warps can hold; a maximin pick from the raw
        space would favour its extreme corners, which fail or hang the
        compiler far more often."""
        gen = self.config_gen
        flats: list[FlatConfig] = [gen.default_flat()]
        seeds = list(gen.user_seed_flat_config_pairs(self.settings.autotune_seed_configs or (), self.log))
        seeds += list(gen.seed_flat_config_pairs(self.log))
        for flat, _config in seeds:
            if not any(flat == f for f in flats):
                flats.append(flat)
        fill = count - len(flats)
        if fill > 0:
            # Python's random was seeded with autotune_random_seed by Helion.
            pool_flats = [gen.random_flat() for _ in range(max(16 * fill, 256))]
            pool = self.bridge.encode_many(pool_flats)
            chosen = self.bridge.encode_many(flats)
            space = self.bridge.space
            picks = maximin_selection(space.features(pool), np.arange(len(pool)), space.features(chosen), fill)
            flats += [pool_flats[int(i)] for i in picks]
        return flats

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

    #: How many configs Helion's final re-timing compares (its default is 8;
    #: HELION_AUTOTUNE_FINAL_REBENCHMARK_TOP_K still overrides).
    final_candidates: int = 8

    def _final_rebenchmark_top_k_default(self) -> int:
        return self.final_candidates

    def use_device_time(self, enabled: bool) -> None:
        """Let :meth:`figure` compare configs by device time from a CUDA
        graph when the kernel runs on CUDA (see :meth:`shootout` for why)."""
        self.device_time_figures = bool(enabled) and _uses_cuda(self.provider._working_args())
        if self.device_time_figures and self._device_timer is None:
            self._device_timer = GraphDeviceTimer()

    def figure(self, obs: Observation) -> float:
        """The number a full-fidelity comparison uses (ms): the config's
        device time where device-time figures are on, else the median of its
        samples. If one config cannot be captured in a CUDA graph, device
        time is switched off for the rest of the search, so figures of
        different kinds are never compared."""
        if not self.device_time_figures or not obs.ok or self._device_timer is None:
            return obs.median
        if obs.device_ms is None:
            start = time.perf_counter()
            value = self.provider.device_time(obs.config, self._device_timer)
            obs.device_ms = math.nan if value is None else value
            self.counters.seconds["timing"] += time.perf_counter() - start
        if not math.isfinite(obs.device_ms):
            self.log.warning("A config cannot be timed in a CUDA graph; comparing event timings from now on")
            self.device_time_figures = False
            return obs.median
        return obs.device_ms

    def shootout(
        self, count: int, rounds: int, repetitions: int, min_repetitions: int = 0
    ) -> list[Observation] | None:
        """Re-time the ``count`` fastest configs so far with at least
        ``min_repetitions`` samples (by :meth:`figure`) side by side, in
        ``rounds`` interleaved rounds once the search has stopped compiling,
        and rank them by these timings alone (fastest first). None when it
        did not run (fewer than two candidates, no rounds) or every
        candidate failed.

        Why: on an H100, timings taken between compile batches read ~20% low
        and squeeze good configs together (eight configs timed within 1% of
        each other during a search spread over 17% right after it, same
        process, same timer; see bench/results/h100/timing_study.md), while
        Helion's final selection only compares the top few.

        On CUDA the figure is device time from a CUDA graph (no launch
        overhead; under 1% apart between processes, against up to 6% for
        do_bench); elsewhere, or if any candidate cannot be captured, the
        median of ``repetitions`` fresh samples per round.
        """
        candidates = sorted(self.successful(min_repetitions), key=self.figure)[:count]
        if len(candidates) <= 1 or rounds <= 0:
            return None
        start = time.perf_counter()
        provider = self.provider
        timer = GraphDeviceTimer() if _uses_cuda(provider._working_args()) else None

        def figure(obs: Observation) -> float | None:
            if timer is not None:
                return provider.device_time(obs.config, timer)
            samples = provider.sample(obs.config, repetitions)
            return statistics.median(samples) if samples else math.inf

        figures: dict[int, list[float]] = {id(obs): [] for obs in candidates}
        order = list(candidates)
        rng = random.Random(self.derived_seed(0x5400))
        for _ in range(rounds):
            rng.shuffle(order)
            for obs in order:
                value = figure(obs)
                if value is None:  # not capturable: every candidate by samples instead
                    timer = None
                    figures = {id(o): [] for o in candidates}
                    value = figure(obs)
                figures[id(obs)].append(math.inf if value is None else value)
        ranked = []
        for obs in candidates:
            obs.shootout_ms = statistics.median(figures[id(obs)]) if figures[id(obs)] else math.inf
            if math.isfinite(obs.shootout_ms):
                ranked.append(obs)
        ranked.sort(key=lambda obs: obs.shootout_ms)
        self.counters.seconds["timing"] += time.perf_counter() - start
        self.counters.retimed["shootout"][rounds] += len(candidates)
        if ranked:
            kind = "device time (CUDA graph)" if timer is not None else f"median of {repetitions} samples"
            self.log(
                f"Shootout of {len(candidates)} configs, {rounds} rounds by {kind}: best "
                f"{ranked[0].shootout_ms:.4f} ms (search timing {ranked[0].median:.4f} ms), "
                f"spread {ranked[-1].shootout_ms / ranked[0].shootout_ms - 1:.1%}"
            )
        return ranked or None

    def finish(self, finalists: Sequence[Observation] | None = None) -> Config:
        """Hand the measured members to Helion's shared final re-timing and
        selection (``_finalize``), after logging the counters.

        Args:
            finalists: a shootout's ranking (fastest first); only these go to
                Helion, ranked by their shootout figures. Default: every
                successful config, ranked by its search timing.
        """
        from helion import exc

        ok = list(finalists) if finalists else self.successful()
        if not ok:
            raise exc.NoConfigFound
        for obs in ok:
            # Helion ranks finalists by their lowest recorded perf; a noisy
            # low-fidelity minimum must not outrank a 50-sample median.
            obs.member.perfs[:] = [obs.shootout_ms if finalists else obs.median]
        self.population = [o.member for o in ok]
        self.log(f"{type(self).__name__} counters: {self.counters.summary()}")
        return self._finalize()


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


