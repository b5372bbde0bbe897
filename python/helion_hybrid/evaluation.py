"""The evaluation engine: how configs are compiled, checked, timed, re-timed
and compared.

A search submits configs and is told as results arrive; it never waits on a
batch. The engine keeps up to ``workers`` compiles running at once (each in
its own process, through the backend), times every config as soon as it is
compiled, one at a time on a single timing lane (so no two timings overlap),
and abandons a compile that runs far longer than its peers
(:class:`StragglerPolicy`) without blocking anyone. Everything a config went
through is one :class:`Observation`.

The backend does the work (:class:`Backend`: Helion's compile pipeline and
timers in :mod:`helion_hybrid.helion_backend`, recorded measurements in a
replay, scripted processes in the tests); the engine decides what runs when.
Every finished step is also reported to ``on_event`` listeners as a plain
dict (the comparison harness writes them to its trace).
"""

from __future__ import annotations

import collections
import dataclasses
import math
import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from .space import PointSet

if TYPE_CHECKING:
    from .timing import TimingRecord

#: Statuses of a config that ran and was timed.
OK_STATUSES = ("ok", "deduplicated")
#: Statuses of a config that failed; the feasibility model learns from them.
FAILURE_STATUSES = ("error", "timeout", "accuracy_error", "bad_timing")
#: A config stopped by the search itself (budget, end of a phase): not a
#: failure, nothing is learned from it.
CANCELLED = "cancelled"
#: Statuses before an observation is finished.
PENDING_STATUSES = ("queued", "generating", "compiling", "compiled")
#: Kernel calls per CUDA graph of a slow config's device time (see
#: ``EvaluationEngine.precise_factor``; the timer's default is 20), and the
#: fewest any comparison's device time asks for.
CHEAP_DEVICE_TIME_CALLS = 4
#: Kernel time (ms) the graph of a near-best config's device time spans in
#: comparisons: its (L2 flush, call) pairs are as many as that takes (at
#: least CHEAP_DEVICE_TIME_CALLS; the timer caps them at its default), so a
#: kernel above 0.1 ms is not timed 100 times per measurement: graph replays
#: were the largest cost of the search thread in an H200 run of a 0.19 ms
#: matmul (``bench/results/h200/checks/warm_fix``, the cold seed 0's
#: ``.samples.txt``). The shootout keeps the timer's default.
GRAPH_KERNEL_MS = 2.0

Figure = Literal["median", "device_time"]


class Clock(Protocol):
    """Seconds on a monotonic clock. A replay's clock is simulated."""

    def now(self) -> float: ...


class WallClock:
    """The real monotonic clock."""

    def now(self) -> float:
        return time.perf_counter()


class SimulatedClock:
    """A clock a simulated backend moves (:meth:`advance`).

    Args:
        charge_real_time: also count the real time that passes outside
            :meth:`simulating` blocks (the search's own work: models,
            bookkeeping), as a replay must; False gives a fully
            deterministic clock for tests.
    """

    def __init__(self, charge_real_time: bool = False) -> None:
        self._simulated = 0.0
        self._charge = charge_real_time
        self._real_start = time.perf_counter()
        self._excluded = 0.0
        self._depth = 0
        self._entered = 0.0

    def now(self) -> float:
        if not self._charge:
            return self._simulated
        real = time.perf_counter()
        excluded = self._excluded + (real - self._entered if self._depth else 0.0)
        return self._simulated + (real - self._real_start - excluded)

    def advance(self, seconds: float) -> None:
        if not seconds >= 0:
            raise ValueError(f"a clock cannot go back ({seconds} s)")
        self._simulated += seconds

    def simulating(self) -> _Simulating:
        """A block whose real time is not charged (it is simulated)."""
        return _Simulating(self)


class _Simulating:
    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock

    def __enter__(self) -> None:
        if self.clock._depth == 0:
            self.clock._entered = time.perf_counter()
        self.clock._depth += 1

    def __exit__(self, *exc: object) -> None:
        self.clock._depth -= 1
        if self.clock._depth == 0:
            self.clock._excluded += time.perf_counter() - self.clock._entered


@dataclasses.dataclass
class Observation:
    """One distinct config, from submission to its last measurement.

    Attributes:
        index: submission order (ties between results are broken by it).
        config: the canonical config (the key of everything else).
        point: where it sits in the search's discrete space.
        member: the search's handle for it (a Helion PopulationMember).
        phase: the search phase that submitted it.
        repetitions: timed repetitions asked for at its first timing.
        status: ``queued``, ``compiling``, ``compiled``, then ``ok``,
            ``deduplicated`` or a failure / cancellation status.
        record: the timing record (samples of every timing, all fidelities).
        compile_s: seconds its compile ran (until killed, for a timeout).
        prepare_s: seconds the search's thread spent generating its code
            (or loading code generated elsewhere) and starting its compile.
        submitted_at, started_at, compiled_at, finished_at: clock times.
        device_ms: CUDA-graph device time (None until measured, nan if it
            cannot be measured).
        shootout_ms: its figure in the shootout (inf until it took part).
        source_key: the backend's key of its generated code (configs with
            the same key are the same kernel).
        handle: the backend's state for it (compiled function, process).
    """

    index: int
    config: Any
    point: npt.NDArray[np.int32]
    member: Any
    phase: str
    repetitions: int
    status: str = "queued"
    record: TimingRecord | None = None
    compile_s: float | None = None
    prepare_s: float = 0.0
    submitted_at: float = math.nan
    started_at: float | None = None
    compiled_at: float | None = None
    finished_at: float | None = None
    device_ms: float | None = None
    shootout_ms: float = math.inf
    source_key: str | None = None
    handle: Any = None

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES and math.isfinite(self.median)

    @property
    def failed(self) -> bool:
        return self.status in FAILURE_STATUSES

    @property
    def pending(self) -> bool:
        return self.status in PENDING_STATUSES

    @property
    def samples(self) -> list[float]:
        return [] if self.record is None else self.record.samples

    @property
    def median(self) -> float:
        """Median of every timing sample (ms); inf without any."""
        if self.record is not None and self.record.samples and self.status in OK_STATUSES:
            return float(statistics.median(self.record.samples))
        return math.inf

    @property
    def timed_repetitions(self) -> int:
        """Repetitions behind the median (the fidelity reached)."""
        return max(1, self.record.repetitions if self.record is not None else 1)


class Counters:
    """Counters that add up: configs timed per phase and fidelity, failures
    by status, cancellations, and seconds per activity and per phase."""

    def __init__(self) -> None:
        self.timed: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
        self.retimed: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
        self.failures: collections.Counter[str] = collections.Counter()
        self.cancelled = 0
        self.deduplicated = 0
        self.invalid_configs = 0
        self.duplicate_proposals = 0
        self.model_fits = 0
        self.stragglers_killed = 0
        #: main-thread seconds by activity (codegen, compile_start,
        #: accuracy_check, timing, model, waiting)
        self.seconds: collections.defaultdict[str, float] = collections.defaultdict(float)
        #: seconds the search was blocked waiting on compiles, per phase
        self.waiting: collections.defaultdict[str, float] = collections.defaultdict(float)
        #: compile seconds summed over configs (work done by the workers)
        self.compile_seconds_total = 0.0

    def as_dict(self) -> dict[str, Any]:
        """A plain dict for logs and JSON."""
        return {
            "configs_timed": {phase: dict(sorted(c.items())) for phase, c in self.timed.items()},
            "configs_retimed": {phase: dict(sorted(c.items())) for phase, c in self.retimed.items()},
            "configs_timed_total": sum(sum(c.values()) for c in self.timed.values()),
            "failures": dict(self.failures),
            "cancelled": self.cancelled,
            "deduplicated": self.deduplicated,
            "invalid_configs": self.invalid_configs,
            "duplicate_proposals": self.duplicate_proposals,
            "model_fits": self.model_fits,
            "stragglers_killed": self.stragglers_killed,
            "compile_seconds_total": round(self.compile_seconds_total, 3),
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "waiting_seconds": {k: round(v, 3) for k, v in self.waiting.items()},
        }

    def summary(self) -> str:
        """One log line."""
        d = self.as_dict()

        def per_fidelity(table: dict[str, dict[int, int]]) -> str:
            return (
                ", ".join(f"{phase} " + "+".join(f"{n}@{r}" for r, n in per.items()) for phase, per in table.items())
                or "none"
            )

        seconds = ", ".join(f"{k} {v:.1f}s" for k, v in d["seconds"].items())
        waiting = ", ".join(f"{k} {v:.1f}s" for k, v in d["waiting_seconds"].items()) or "none"
        failures = ", ".join(f"{k} {v}" for k, v in d["failures"].items()) or "none"
        return (
            f"configs timed (count@repetitions): {per_fidelity(d['configs_timed'])}; "
            f"re-timed: {per_fidelity(d['configs_retimed'])}; failures: {failures}; "
            f"cancelled {d['cancelled']}; invalid {d['invalid_configs']}; time: {seconds}; waiting: {waiting}"
        )


@dataclasses.dataclass(frozen=True)
class StragglerPolicy:
    """When a compile is abandoned: after ``factor`` times the ``quantile``
    of the compile times seen so far (the longest so far while fewer than
    ``min_samples`` are known), never before ``floor_s``, always by
    ``ceiling_s`` (Helion's compile timeout). Until the first compile
    finishes, only the ceiling applies.

    Why: compile times are heavily skewed (a config 10x slower than the p90
    is rarely worth its worker), and one hung compile must never hold a
    worker for Helion's full timeout.
    """

    factor: float = 4.0
    quantile: float = 0.9
    floor_s: float = 10.0
    ceiling_s: float = 60.0
    min_samples: int = 8
    #: Only the ceiling applies until ``min_samples`` compiles finished
    #: (Helion's own rule for its initial population).
    ceiling_until_min_samples: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.factor) and self.factor >= 1):
            raise ValueError(f"straggler factor must be >= 1, got {self.factor}")
        if not 0 < self.quantile <= 1:
            raise ValueError(f"straggler quantile must be in (0, 1], got {self.quantile}")
        if not (math.isfinite(self.floor_s) and 0 < self.floor_s <= self.ceiling_s):
            raise ValueError(f"need 0 < floor_s <= ceiling_s, got {self.floor_s} and {self.ceiling_s}")
        if isinstance(self.min_samples, bool) or not isinstance(self.min_samples, int) or self.min_samples < 1:
            raise ValueError(f"min_samples must be an int >= 1, got {self.min_samples!r}")

    def limit(self, compile_seconds: Sequence[float]) -> float:
        """Seconds a compile may run, given the compile times seen so far."""
        if not compile_seconds:
            return self.ceiling_s
        ordered = sorted(compile_seconds)
        if len(ordered) < self.min_samples and self.ceiling_until_min_samples:
            return self.ceiling_s
        if len(ordered) < self.min_samples:
            reference = ordered[-1]
        else:
            reference = ordered[min(len(ordered) - 1, int(self.quantile * len(ordered)))]
        return min(self.ceiling_s, max(self.floor_s, self.factor * reference))


class Backend(Protocol):
    """What the engine needs from whatever compiles and times configs.

    Compile calls return at once: ``start`` launches work that ``wait``
    blocks on and ``poll_compile`` reports. Timing calls run on the caller's
    thread (the single timing lane).
    """

    clock: Clock

    def begin_codegen(self, obs: Observation) -> bool:
        """Start generating the config's code elsewhere (True), or leave it
        to :meth:`prepare` on the main thread (False)."""
        ...

    def codegen_done(self, obs: Observation) -> bool:
        """Whether code generation begun elsewhere has ended (in success or
        not: :meth:`prepare` then uses its result or generates itself)."""
        ...

    def prepare(self, obs: Observation) -> str | None:
        """Generate the config's code (main thread), or take what
        :meth:`begin_codegen` generated. Returns a key of the generated
        source (same key, same kernel) or None. Raises on a config that
        cannot be generated."""
        ...

    def start(self, obs: Observation) -> bool:
        """Start compiling ``obs`` in the background (``obs.handle`` may be
        set). False when there is nothing to compile apart: the first timing
        compiles it (no compile seconds are measured then)."""
        ...

    def poll_compile(self, obs: Observation) -> bool | None:
        """None while compiling, else whether the compile succeeded."""
        ...

    def wait(self, running: Sequence[Observation], timeout: float) -> None:
        """Block until one of ``running`` finishes compiling or ``timeout``
        seconds pass."""
        ...

    def kill(self, obs: Observation) -> None:
        """Stop compiling ``obs`` now, without waiting."""
        ...

    def first_timing(self, obs: Observation, repetitions: int, cutoff_ms: float | None = None) -> TimingRecord:
        """Run once, check accuracy, time ``repetitions`` calls -- or stop
        after a few when they read above ``cutoff_ms`` (a config far slower
        than the best so far; the record says how many were timed)."""
        ...

    def sample(self, obs: Observation, repetitions: int) -> list[float]:
        """Fresh samples (ms) of a timed config; empty if it fails now."""
        ...

    def device_time(self, obs: Observation, calls: int | None = None) -> float | None:
        """CUDA-graph device time (ms), or None where it cannot be measured;
        ``calls``: kernel calls per graph (None: the timer's default)."""
        ...

    def uses_device_time(self) -> bool:
        """Whether device time can be measured at all here."""
        ...

    def close(self) -> None:
        """Stop every compile still running and reap its processes."""
        ...


Listener = Callable[[dict[str, Any]], None]


class EvaluationEngine:
    """Pipelined compile-and-time of submitted configs (see the module
    docstring).

    Args:
        backend: compiles and times.
        workers: compiles running at once.
        stragglers: when a compile is abandoned.
        counters: where counts and seconds go.
        listeners: called with one dict per finished step.
        log: a logger-like callable (Helion's search log), or None.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        workers: int,
        stragglers: StragglerPolicy,
        counters: Counters | None = None,
        listeners: Sequence[Listener] = (),
        log: Any = None,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be an int >= 1, got {workers!r}")
        self.backend = backend
        self.clock = backend.clock
        self.workers = workers
        self.stragglers = stragglers
        self.counters = counters or Counters()
        self.listeners = list(listeners)
        self.log = log
        self.observations: dict[Any, Observation] = {}
        self.tried: PointSet | None = None
        self.figure_kind: Figure = "median"
        #: A first timing stops after a few calls when they read this many
        #: times the best so far (0: always the full fidelity).
        self.slow_factor = 10.0
        #: A config whose first timing reads more than this many times the
        #: best so far gets a cheaper device time (CHEAP_DEVICE_TIME_CALLS
        #: calls per graph): it loses to the configs near the best whatever
        #: the last digit, and such configs took ~60% of the graph seconds
        #: of an H200 matmul_4096 run (46 of its 142 device times;
        #: ``bench/results/h200/matmul_4096_bf16/runs/HybridSearch-33b8e26_seed2.jsonl.gz``).
        self.precise_factor = 1.5
        #: Clock time after which nothing new is timed once a config has run
        #: (the search's budget); None: no limit.
        self.deadline: float | None = None
        self.phase = "start"
        self.started_at = self.clock.now()
        self._queue: collections.deque[Observation] = collections.deque()
        self._running: list[Observation] = []
        self._compiled: collections.deque[Observation] = collections.deque()
        self._finished: list[Observation] = []
        self._compile_times: list[float] = []
        self._by_source: dict[str, Observation] = {}
        self._any_ok = False
        #: Whether compiles run in the background (None until one started):
        #: without that, pipelining gains nothing and proposals are batched.
        self.background_compiles: bool | None = None

    # -- events -------------------------------------------------------------------
    def emit(self, event: dict[str, Any]) -> None:
        event.setdefault("t", self.clock.now() - self.started_at)
        for listener in self.listeners:
            listener(event)

    def _say(self, message: str) -> None:
        if self.log is not None:
            self.log(message)

    # -- submission ---------------------------------------------------------------
    def submit(
        self, members: Sequence[tuple[Any, Any, npt.NDArray[np.int32]]], repetitions: int, phase: str
    ) -> list[Observation]:
        """Queue configs for compile and a first timing at ``repetitions``.

        Args:
            members: (config, member, point) per config; configs already
                known are counted as duplicates and skipped.
            repetitions: timed repetitions of the first timing.
            phase: the phase to account the configs to.

        Returns:
            The new observations, in the order queued.
        """
        now = self.clock.now()
        new = []
        for config, member, point in members:
            if config in self.observations:
                self.counters.duplicate_proposals += 1
                continue
            obs = Observation(len(self.observations), config, point, member, phase, int(repetitions), submitted_at=now)
            self.observations[config] = obs
            self._queue.append(obs)
            new.append(obs)
        return new

    @property
    def in_flight(self) -> int:
        """Configs queued, compiling or compiled but not yet timed."""
        return len(self._queue) + len(self._running) + len(self._compiled)

    def pending(self) -> list[Observation]:
        return [*self._queue, *self._running, *self._compiled]

    # -- the pipeline ---------------------------------------------------------------
    def step(self, timeout: float | None = None) -> list[Observation]:
        """Advance the pipeline and return the observations finished since
        the last call (submission order).

        Starts compiles up to ``workers``, times at most one compiled config,
        and blocks only when nothing else can move -- at most ``timeout``
        seconds (None: until something finishes or nothing is in flight).
        """
        start = self.clock.now()
        while True:
            if self.past_deadline():
                self.cancel_pending("the budget is spent")
                done, self._finished = sorted(self._finished, key=lambda o: o.index), []
                return done
            self._reap()
            self._start_queued()
            if self._compiled:
                self._time(self._compiled.popleft())
            if self._finished or not (self._running or self._compiled or self._queue):
                done, self._finished = sorted(self._finished, key=lambda o: o.index), []
                return done
            if self._compiled or self._queue and len(self._running) < self.workers:
                continue
            wait = self._next_straggler_deadline() - self.clock.now()
            if timeout is not None:
                wait = min(wait, start + timeout - self.clock.now())
                if wait <= 0:
                    return []
            self._block(max(wait, 0.0))

    def drain(self, max_wait_s: float) -> list[Observation]:
        """Step until nothing is in flight or ``max_wait_s`` seconds pass;
        what is still compiling then stays in flight."""
        deadline = self.clock.now() + max_wait_s
        done: list[Observation] = []
        while self.in_flight and self.clock.now() < deadline:
            done += self.step(timeout=max(0.0, deadline - self.clock.now()))
        return done

    def cancel_pending(self, reason: str) -> list[Observation]:
        """Stop everything in flight: compiles are killed, nothing queued
        starts. They are recorded as ``cancelled`` (not failures)."""
        stopped = self.pending()
        for obs in self._running:
            self.backend.kill(obs)
        self._queue.clear()
        self._running.clear()
        self._compiled.clear()
        for obs in stopped:
            self._finish(obs, CANCELLED, reason=reason)
        if stopped:
            self._say(f"Cancelled {len(stopped)} config(s) in flight: {reason}")
        self._finished = [o for o in self._finished if o.status != CANCELLED]
        return stopped

    def close(self) -> None:
        """Cancel what is in flight and release the backend's processes."""
        try:
            self.cancel_pending("the search ended")
        finally:
            self.backend.close()

    def past_deadline(self) -> bool:
        """Whether the budget is spent (it binds once a config has run)."""
        return self.deadline is not None and self.clock.now() >= self.deadline and self._any_ok

    def affordable(self, repetitions: int, per_call_ms: float) -> int:
        """Repetitions (at most ``repetitions``, at least 1) of a kernel of
        ``per_call_ms`` that fit in the time left before the deadline."""
        if self.deadline is None or not self._any_ok or not math.isfinite(per_call_ms):
            return repetitions
        left = self.deadline - self.clock.now()
        return max(1, min(repetitions, int(left / max(per_call_ms / 1000.0, 1e-6))))

    def _best_median(self) -> float | None:
        """The lowest median of the configs that ran (None before any did)."""
        return min((o.median for o in self.observations.values() if o.ok), default=None)

    def _slow_cutoff_ms(self) -> float | None:
        """Above this a first timing may stop early: ``slow_factor`` times
        the best median so far (None before anything ran)."""
        best = self._best_median()
        return self.slow_factor * best if best is not None and self.slow_factor else None

    def _far_from_best(self, obs: Observation) -> bool:
        """Whether ``obs``'s median is above ``precise_factor`` times the
        best median so far."""
        best = self._best_median()
        return best is not None and obs.median > self.precise_factor * best

    def _device_time_calls(self, obs: Observation) -> int:
        """(L2 flush, call) pairs per graph of ``obs``'s device time in a
        comparison: CHEAP_DEVICE_TIME_CALLS far from the best, else enough
        for GRAPH_KERNEL_MS of kernel time by its first timing."""
        if self._far_from_best(obs):
            return CHEAP_DEVICE_TIME_CALLS
        return max(CHEAP_DEVICE_TIME_CALLS, math.ceil(GRAPH_KERNEL_MS / obs.median))

    def _typical_call_ms(self) -> float:
        medians = [o.median for o in self.observations.values() if o.ok]
        return statistics.median(medians) if medians else math.nan

    def _block(self, seconds: float) -> None:
        start = self.clock.now()
        self.backend.wait(self._running, seconds)
        waited = self.clock.now() - start
        self.counters.seconds["waiting"] += waited
        self.counters.waiting[self.phase] += waited

    def _next_straggler_deadline(self) -> float:
        limit = self.stragglers.limit(self._compile_times)
        starts = [obs.started_at for obs in self._running if obs.started_at is not None]
        return min(starts) + limit if starts else self.clock.now() + limit

    def _start_queued(self) -> None:
        """Fill the free workers: a config's code is generated elsewhere
        where the backend can (it holds its worker meanwhile), else here."""
        while self._queue and len(self._running) < self.workers:
            obs = self._queue.popleft()
            if self.backend.begin_codegen(obs):
                obs.status = "generating"
                self._running.append(obs)
            else:
                self._start_compile(obs)

    def _start_compile(self, obs: Observation) -> None:
        if not self._prepare(obs):
            return
        obs.status = "compiling"
        obs.started_at = self.clock.now()
        background = self.backend.start(obs)
        # Helion prepares the precompiler and forks here, on this thread
        self._charge(obs, "compile_start", obs.started_at)
        self.background_compiles = (
            background if self.background_compiles is None else self.background_compiles or background
        )
        if background:
            self._running.append(obs)
        else:
            obs.status, obs.compiled_at = "compiled", obs.started_at
            self._compiled.append(obs)

    def _prepare(self, obs: Observation) -> bool:
        """Generate the code, or load what was generated elsewhere (counted
        apart, as ``code_load``); False when the config finished here
        (codegen failure, or the same kernel as one already timed)."""
        start = self.clock.now()
        activity = "code_load" if obs.status == "generating" else "codegen"
        try:
            obs.source_key = self.backend.prepare(obs)
        except Exception as error:  # a bad config never aborts the search
            error.__traceback__ = None
            self._charge(obs, activity, start)
            self._finish(obs, "error", reason=f"codegen: {type(error).__name__}: {error}")
            return False
        self._charge(obs, activity, start)
        twin = self._by_source.get(obs.source_key) if obs.source_key is not None else None
        if twin is not None and twin.ok:
            obs.record = twin.record
            obs.handle = twin.handle
            self.counters.deduplicated += 1
            self._finish(obs, "deduplicated")
            return False
        return True

    def _charge(self, obs: Observation, activity: str, since: float) -> None:
        """The thread's seconds since ``since`` on ``obs``: to ``activity``
        and to the config's ``prepare_s``."""
        spent = self.clock.now() - since
        self.counters.seconds[activity] += spent
        obs.prepare_s += spent

    def _reap(self) -> None:
        now = self.clock.now()
        limit = self.stragglers.limit(self._compile_times)
        still: list[Observation] = []
        generated: list[Observation] = []
        for obs in self._running:
            if obs.status == "generating":
                (generated if self.backend.codegen_done(obs) else still).append(obs)
                continue
            done = self.backend.poll_compile(obs)
            assert obs.started_at is not None
            elapsed = now - obs.started_at
            # the same sum as _next_straggler_deadline: ``now - started_at`` can round below
            # ``limit`` at the very deadline (18.8457... - 8.8457... = 9.999...8 < 10), and a
            # simulated clock then never moves past it
            if done is None and now >= obs.started_at + limit:
                self.backend.kill(obs)
                self.counters.stragglers_killed += 1
                obs.compile_s = elapsed
                self._compile_times.append(elapsed)
                self._finish(obs, "timeout", reason=f"compile ran {elapsed:.1f}s (limit {limit:.1f}s)")
            elif done is None:
                still.append(obs)
            else:
                obs.compile_s = elapsed
                obs.compiled_at = now
                self._compile_times.append(elapsed)
                if done:
                    obs.status = "compiled"
                    self._compiled.append(obs)
                else:
                    self._finish(obs, "error", reason="compile failed")
        self._running = still
        for obs in generated:
            self._start_compile(obs)

    def _time(self, obs: Observation) -> None:
        """First timing on the timing lane; a timing that is not a positive
        finite number counts as a failure (``bad_timing``)."""
        obs.repetitions = self.affordable(obs.repetitions, self._typical_call_ms())
        record = self.backend.first_timing(obs, obs.repetitions, self._slow_cutoff_ms())
        if record.status == "ok" and record.repetitions:
            obs.repetitions = record.repetitions  # fewer when it stopped early
        obs.record = record
        self.counters.seconds["accuracy_check"] += record.check_seconds
        self.counters.seconds["timing"] += record.timing_seconds
        status = record.status
        if status == "ok" and not _valid_samples(record.samples):
            status = "bad_timing"
        self._finish(obs, status)
        if obs.ok and obs.source_key is not None:
            self._by_source.setdefault(obs.source_key, obs)

    def _finish(self, obs: Observation, status: str, reason: str | None = None) -> None:
        obs.status = status
        obs.finished_at = self.clock.now()
        if obs.compile_s is not None:
            self.counters.compile_seconds_total += obs.compile_s
        if obs.status in OK_STATUSES:
            self.counters.timed[obs.phase][obs.repetitions] += 1
        elif status == CANCELLED:
            self.counters.cancelled += 1
        else:
            self.counters.failures[status if status in FAILURE_STATUSES else "error"] += 1
        self._finished.append(obs)
        self._any_ok = self._any_ok or obs.status in OK_STATUSES
        self.emit(
            {
                "event": "first_timing",
                "config": obs.config,
                "phase": obs.phase,
                "status": status,
                "perf_ms": obs.median if obs.ok else None,
                "compile_s": obs.compile_s,
                "prepare_s": obs.prepare_s,
                "fidelity": f"{obs.repetitions} reps",
                "samples": list(obs.samples) if obs.ok else None,
                "check_s": obs.record.check_seconds if obs.record is not None else None,
                "queued_s": _delta(obs.started_at, obs.submitted_at),
                "waited_for_timing_s": _delta(obs.finished_at, obs.compiled_at),
                "reason": reason,
            }
        )

    # -- results --------------------------------------------------------------------
    def successful(self, min_repetitions: int = 0) -> list[Observation]:
        """Configs that ran, with at least ``min_repetitions`` samples,
        fastest (by median) first."""
        return sorted(
            (o for o in self.observations.values() if o.ok and o.timed_repetitions >= min_repetitions),
            key=lambda o: (o.median, o.index),
        )

    def failed(self) -> list[Observation]:
        return [o for o in self.observations.values() if o.failed]

    def status_counts(self) -> dict[str, int]:
        return dict(collections.Counter(o.status for o in self.observations.values()))

    # -- re-timing ----------------------------------------------------------------
    def retime_to(self, observations: Sequence[Observation], repetitions: int, phase: str) -> None:
        """Top each ok observation up to ``repetitions`` samples in total
        (no recompile). A failure or a bad sample marks it failed."""
        for obs in observations:
            if self.past_deadline():
                return
            missing = int(repetitions) - obs.timed_repetitions
            if not obs.ok or obs.record is None or missing <= 0:
                continue
            missing = self.affordable(missing, obs.median)
            start = self.clock.now()
            samples = self.backend.sample(obs, missing)
            self.counters.seconds["timing"] += self.clock.now() - start
            if not samples or not _valid_samples(samples):
                self._fail_retimed(obs, "bad_timing" if samples else "error")
                continue
            obs.record.samples.extend(samples)
            obs.record.repetitions += missing
            self.counters.retimed[phase][int(repetitions)] += 1
            self.emit(
                {
                    "event": "retime",
                    "config": obs.config,
                    "phase": phase,
                    "status": "ok",
                    "perf_ms": obs.median,
                    "fidelity": f"{obs.record.repetitions} reps",
                    "samples": list(obs.record.samples),
                }
            )

    def _fail_retimed(self, obs: Observation, status: str) -> None:
        obs.status = status
        self.counters.failures[status] += 1
        self.emit({"event": "retime", "config": obs.config, "status": status, "perf_ms": None})

    def compare_by(self, figure: Figure) -> Figure:
        """Choose the figure full-fidelity comparisons use: ``device_time``
        (CUDA-graph device time; only where the backend can measure it) or
        ``median`` (of the timing samples). Returns the figure in force."""
        self.figure_kind = "device_time" if figure == "device_time" and self.backend.uses_device_time() else "median"
        return self.figure_kind

    def figure(self, obs: Observation) -> float:
        """The number (ms) a full-fidelity comparison uses (see
        :meth:`compare_by`). If one config cannot be timed in a CUDA graph,
        every comparison falls back to medians, so figures of different
        kinds are never compared."""
        if self.figure_kind != "device_time" or not obs.ok:
            return obs.median
        if obs.device_ms is None:
            start = self.clock.now()
            calls = self._device_time_calls(obs)
            value = self.backend.device_time(obs, calls)
            obs.device_ms = math.nan if value is None else value
            self.counters.seconds["timing"] += self.clock.now() - start
            self.emit({"event": "device_time", "config": obs.config, "device_ms": value, "calls": calls})
        if not (math.isfinite(obs.device_ms) and obs.device_ms > 0):
            self._say("A config cannot be timed in a CUDA graph; comparing event timings from now on")
            self.figure_kind = "median"
            return obs.median
        return obs.device_ms

    def shootout(
        self, candidates: Sequence[Observation], rounds: int, repetitions: int, seed: int, deadline: float | None = None
    ) -> list[Observation]:
        """Re-time ``candidates`` side by side in ``rounds`` interleaved
        rounds (device time where :meth:`figure` uses it, else the median
        of ``repetitions`` fresh samples per round) and rank them by these
        timings alone, fastest first; candidates that failed are dropped.
        Rounds stop early at ``deadline`` (clock time), after the first.

        Why: on an H100, timings taken between compile batches read ~20% low
        and squeeze good configs together (bench/results/h100/timing_study.md).
        """
        by_device = self.figure_kind == "device_time"
        figures: dict[int, list[float]] = {obs.index: [] for obs in candidates}
        order = list(candidates)
        rng = random.Random(seed)
        done_rounds = 0
        start = self.clock.now()
        for _ in range(rounds):
            if (
                done_rounds
                and deadline is not None
                and self.clock.now() + (self.clock.now() - start) / done_rounds > deadline
            ):
                break  # another round would end past the deadline
            rng.shuffle(order)
            for obs in order:
                figures[obs.index].append(self._shootout_figure(obs, by_device, repetitions))
            done_rounds += 1
        ranked = []
        for obs in candidates:
            values = [v for v in figures[obs.index] if math.isfinite(v)]
            obs.shootout_ms = statistics.median(values) if len(values) == len(figures[obs.index]) else math.inf
            if math.isfinite(obs.shootout_ms):
                ranked.append(obs)
        ranked.sort(key=lambda o: (o.shootout_ms, o.index))
        self.counters.seconds["timing"] += self.clock.now() - start
        self.counters.retimed["shootout"][done_rounds] += len(candidates)
        self.emit(
            {
                "event": "shootout",
                "rounds": done_rounds,
                "by": "device_time" if by_device else "median",
                "ranking": [{"config": o.config, "shootout_ms": o.shootout_ms} for o in ranked],
            }
        )
        return ranked

    def _shootout_figure(self, obs: Observation, by_device: bool, repetitions: int) -> float:
        if by_device:
            value = self.backend.device_time(obs)
        else:
            samples = self.backend.sample(obs, repetitions)
            value = statistics.median(samples) if samples and _valid_samples(samples) else None
        return value if value is not None and math.isfinite(value) and value > 0 else math.inf


def _valid_samples(samples: Sequence[float]) -> bool:
    """Every sample a positive finite number (a timer that reads 0 or below
    is broken for this config, not fast)."""
    return bool(samples) and all(math.isfinite(s) and s > 0 for s in samples)


def _delta(later: float | None, earlier: float | None) -> float | None:
    if later is None or earlier is None or not math.isfinite(earlier):
        return None
    return later - earlier
