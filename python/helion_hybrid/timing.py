"""Multi-fidelity timing of Helion configs.

Helion times every config it benchmarks in a fixed ~50 ms window
(``do_bench(warmup=1, rep=50)``), whatever the kernel's speed. Here a
config's fidelity is the number of timed repetitions: the first timing of a
config takes exactly ``repetitions`` calls, each timed on its own after an L2
flush (device events on a GPU, as Triton's ``do_bench`` does; wall clock
elsewhere), so the numbers are comparable with Helion's, and a config compiled once can be re-timed at
a higher fidelity later without recompiling. Every sample is kept. Helion's
accuracy check runs once per config, on its first timing.

:class:`MultiFidelityBenchmarkProvider` plugs into a Helion search through
``search._benchmark_provider_cls`` and keeps Helion's compile pipeline
(parallel precompile, timeouts, source de-duplication) unchanged.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from helion.autotuner import benchmark_provider as _bp
from helion.autotuner import benchmarking as _benchmarking
from helion.autotuner.benchmarking import do_bench, do_bench_generic

from .options import check_int

DEFAULT_REPETITIONS = 5
#: Calls of a first timing before the early stop for clearly slow configs.
PROBE_REPETITIONS = 3
#: GraphDeviceTimer: (L2 flush, call) pairs per graph, and device-time
#: measurements per replay of the shared flushes-only graph.
CALLS_PER_GRAPH = 20
BASELINE_EVERY = 16


@dataclasses.dataclass
class TimingRecord:
    """Everything measured for one config.

    Attributes:
        samples: every timed repetition, in ms, across all fidelities (one
            aggregate per request when the backend's timer only reports
            aggregates).
        repetitions: timed repetitions requested so far (the fidelity).
        status: ``ok``, ``error`` (failed to run), ``accuracy_error``.
        check_seconds: wall time of the first call and the accuracy check.
        timing_seconds: wall time spent in timed repetitions.
    """

    samples: list[float] = dataclasses.field(default_factory=list)
    repetitions: int = 0
    status: str = "ok"
    check_seconds: float = 0.0
    timing_seconds: float = 0.0
    bench_fn: Callable[..., object] | None = None

    @property
    def median(self) -> float:
        """Median of all samples (inf when there are none or it failed)."""
        if self.status != "ok" or not self.samples:
            return math.inf
        return float(statistics.median(self.samples))


def _uses_cuda(args: Sequence[object]) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - helion needs torch
        return False
    return any(isinstance(a, torch.Tensor) and a.is_cuda for a in args)


# GPU cycles of a spin kernel queued after each L2 flush (~100 us on an
# H100). Event timing of a ~10 us kernel is only right if the GPU is still
# busy when the start event and the kernel are queued; the flush alone covers
# ~85 us of launch latency, and a CPU busy with compiles can take longer.
_LAUNCH_COVER_CYCLES = 200_000


def _event_samples(call: Callable[[], object], repetitions: int) -> list[float]:
    """Device-event timing of each call (Triton's do_bench without the
    adaptive repeat count): flush L2, keep the GPU busy while the launch is
    queued, record, call, record."""
    import torch
    from triton import runtime

    driver = runtime.driver.active
    device = driver.get_device_interface()
    cache = driver.get_empty_cache_for_benchmark()
    cover = getattr(torch.cuda, "_sleep", None)
    starts = [device.Event(enable_timing=True) for _ in range(repetitions)]
    ends = [device.Event(enable_timing=True) for _ in range(repetitions)]
    for start, end in zip(starts, ends):
        driver.clear_cache(cache)
        if cover is not None:
            cover(_LAUNCH_COVER_CYCLES)
        start.record()
        call()
        end.record()
    device.synchronize()
    return [float(start.elapsed_time(end)) for start, end in zip(starts, ends)]


def _wall_clock_samples(call: Callable[[], object], repetitions: int) -> list[float]:
    """Wall-clock timing of each call, for devices without event timers."""
    make_clearer = getattr(_benchmarking, "_make_l2_cache_clearer", None)
    clear_l2 = make_clearer() if make_clearer is not None else (lambda: None)
    samples = []
    for _ in range(repetitions):
        clear_l2()
        _bp.synchronize_device()
        start = time.perf_counter()
        call()
        _bp.synchronize_device()
        samples.append((time.perf_counter() - start) * 1000.0)
    return samples


def graph_calls(calls: int | None, calls_per_graph: int = CALLS_PER_GRAPH) -> int:
    """The (L2 flush, call) pairs a device-time graph holds when ``calls``
    are asked for: ``calls_per_graph`` for None, and at most that many."""
    return calls_per_graph if calls is None else min(calls, calls_per_graph)


class GraphDeviceTimer:
    """Device-only time of ``call`` in ms, launch overhead excluded: (L2
    flush, call) x K captured in one CUDA graph, minus a graph of the K
    flushes alone, divided by K. Unlike event timing of single calls it does
    not depend on the CPU keeping ahead of the GPU.

    The flushes-only graph is the same for every config, so one is shared
    and replayed once per ``baseline_every`` measurements: it took about half
    of each measurement of a ~20 us kernel (a 256 MB memset per call; 2.6 s
    of an 18 s H200 softmax run went to graph replays,
    ``bench/results/h200/softmax_4096_fp16/runs/HybridSearch-33b8e26_seed2.samples.txt``),
    and configs measured against one baseline differ by their kernel graphs
    alone. Re-measuring it now and then follows the GPU's clocks.

    Args:
        calls_per_graph: Kernel calls captured in one graph (each after an
            L2 flush).
        replays: Replays per measurement; the median is returned.
        baseline_every: Measurements per replay of the flushes-only graph.

    Raises:
        TypeError: if an argument is not an int.
        ValueError: if an argument is below 1.
    """

    def __init__(
        self, calls_per_graph: int = CALLS_PER_GRAPH, replays: int = 5, baseline_every: int = BASELINE_EVERY
    ) -> None:
        for name, value in (
            ("calls_per_graph", calls_per_graph),
            ("replays", replays),
            ("baseline_every", baseline_every),
        ):
            check_int("GraphDeviceTimer", name, value, 1)
        self.calls_per_graph = calls_per_graph
        self.replays = replays
        self.baseline_every = baseline_every
        self._cache: Any = None
        self._graphs: dict[tuple[str, int], Any] = {}
        self._flushes_only: Any = None
        self._flushes_ms = math.nan
        self._measured = 0

    def _allocate(self) -> None:
        """The buffer whose zeroing flushes L2 (allocated before any capture,
        so that it is not in a graph's memory pool)."""
        if self._cache is None:
            from triton import runtime

            self._cache = runtime.driver.active.get_empty_cache_for_benchmark()

    def _flush(self) -> None:
        self._cache.zero_()

    def _warm(self, call: Callable[[], object]) -> None:
        """Run ``call`` once on a side stream, as CUDA graph capture requires."""
        import torch

        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            call()
        torch.cuda.current_stream().wait_stream(stream)
        torch.cuda.synchronize()

    def _graph_of(self, body: Callable[[], None]) -> Any:
        import torch

        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            body()
        return graph

    def _capture(self, call: Callable[[], object], calls: int) -> Any:
        self._warm(call)

        def flushed_calls() -> None:
            for _ in range(calls):
                self._flush()
                call()

        return self._graph_of(flushed_calls)

    def _replay_ms(self, graph: Any) -> float:
        import torch

        times = []
        for _ in range(self.replays):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            graph.replay()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        return statistics.median(times)

    def _baseline_ms(self) -> float:
        """The flushes-only graph's time, replayed on every
        ``baseline_every``-th measurement."""
        if self._flushes_only is None:

            def flushes() -> None:
                for _ in range(self.calls_per_graph):
                    self._flush()

            self._flushes_only = self._graph_of(flushes)
        if self._measured % self.baseline_every == 0:
            self._flushes_ms = self._replay_ms(self._flushes_only)
        self._measured += 1
        return self._flushes_ms

    def measure(self, key: str, call: Callable[[], object], calls: int | None = None) -> float:
        """Device time of one call of ``call`` in ms, from a graph of
        ``calls`` (L2 flush, call) pairs (None, or more than
        ``calls_per_graph``: ``calls_per_graph``; fewer are cheaper and
        noisier), captured on the first measurement of ``key`` with that
        many.

        Raises:
            TypeError: if ``calls`` is not an int.
            ValueError: if ``calls`` is below 1.
            RuntimeError: if ``call`` cannot be captured in a CUDA graph.
        """
        if calls is not None:
            check_int("GraphDeviceTimer.measure", "calls", calls, 1)
        calls = graph_calls(calls, self.calls_per_graph)
        self._allocate()
        if (key, calls) not in self._graphs:
            self._graphs[key, calls] = self._capture(call, calls)
        kernel_ms = self._replay_ms(self._graphs[key, calls])
        return kernel_ms / calls - self._baseline_ms() / self.calls_per_graph


class MultiFidelityBenchmarkProvider(_bp.LocalBenchmarkProvider):
    """Helion's local benchmark provider with a settable number of timed
    repetitions for each config's first timing.

    The evaluation engine's Helion backend sets :attr:`repetitions` and calls
    ``_benchmark_function`` for each config's first timing; results are in
    :attr:`records` (keyed by ``Config``); :meth:`sample` and
    :meth:`device_time` re-time a compiled config.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.repetitions = DEFAULT_REPETITIONS
        #: A first timing stops after its first PROBE_REPETITIONS calls when
        #: their median is above this (ms): a config many times slower than
        #: the best so far is not worth its full fidelity. None: never.
        self.cutoff_ms: float | None = None
        self.records: dict[Any, TimingRecord] = {}

    # -- timing ---------------------------------------------------------------
    def _time(self, bench_fn: Callable[..., object], args: Sequence[object], repetitions: int) -> list[float]:
        """``repetitions`` samples in ms, one per call, each after an L2
        flush as Helion's own timers do."""
        call = functools.partial(bench_fn, *args)
        custom = self._aggregate_timer()
        if custom is not None:
            # A backend-specific timer (e.g. Metal) only reports aggregates.
            return [float(custom(call, warmup=1, rep=50, return_mode="median"))]
        if _uses_cuda(args):
            return _event_samples(call, repetitions)
        return _wall_clock_samples(call, repetitions)

    def _aggregate_timer(self) -> Callable[..., float] | None:
        """The backend's own timer where it replaces Triton's (it reports one
        aggregate per request), else None."""
        backend = getattr(self.config_spec, "backend", None)
        custom = backend.get_do_bench() if backend is not None else None
        return None if custom in (None, do_bench, do_bench_generic) else custom

    def _first_samples(self, bench_fn: Callable[..., object], args: Sequence[object]) -> tuple[list[float], int]:
        """(samples, repetitions timed): ``repetitions`` of them, or only the
        first ``PROBE_REPETITIONS`` when they show the config far slower
        than ``cutoff_ms``. A backend timer that reports one aggregate per
        request (``_time``) is never split."""
        probe = min(PROBE_REPETITIONS, self.repetitions)
        if self.cutoff_ms is None or probe == self.repetitions or self._aggregate_timer() is not None:
            return self._time(bench_fn, args, self.repetitions), self.repetitions
        samples = self._time(bench_fn, args, probe)
        if samples and statistics.median(samples) > self.cutoff_ms:
            return samples, probe
        return samples + self._time(bench_fn, args, self.repetitions - probe), self.repetitions

    def _working_args(self) -> Sequence[object]:
        if len(self.mutated_arg_indices) > 0:
            return _bp._clone_args(self.args, self.kernel.env.process_group_name, idx_to_clone=self.mutated_arg_indices)
        return self.args

    def _benchmark_function(self, config: Any, fn: Any, *, effective_source_hash: str | None = None) -> float:
        """First timing of a compiled config: run once, check accuracy, then
        time ``self.repetitions`` calls. Failures return inf, never raise
        (a bad config must not abort the search), except for unrecoverable
        device errors, which Helion raises too."""
        self._autotune_metrics.num_configs_tested += 1
        record = TimingRecord()
        self.records[config] = record
        args = self._working_args()
        start = time.perf_counter()
        try:
            # Like Helion, keep compiler diagnostics of failing configs
            # (PTX dumps) out of the autotune output.
            with _bp.capture_output():
                _bp.synchronize_device()
                output = fn(*args)
                _bp.synchronize_device()
            if self.settings.autotune_accuracy_check and not self._validate_against_baseline(config, output, args):
                self._record_accuracy_failure(config)
                record.status = "accuracy_error"
                record.check_seconds = time.perf_counter() - start
                return math.inf
            with _bp.capture_output(), _bp._searching_candidates():
                bench_fn = self.kernel.bench_compile_config(config, allow_print=False)
                bench_fn(*args)
                _bp.synchronize_device()
            record.bench_fn = bench_fn
            timed_from = time.perf_counter()
            record.check_seconds = timed_from - start
            samples, repetitions = self._first_samples(bench_fn, args)
            record.samples.extend(samples)
            record.repetitions += repetitions
            record.timing_seconds = time.perf_counter() - timed_from
            return record.median
        except Exception as error:
            error.__traceback__ = None
            record.status = "error"
            record.check_seconds = time.perf_counter() - start
            if _bp.match_unrecoverable_runtime_error(error):
                raise
            log = self.log.debug if self.settings.autotune_ignore_errors else self.log.warning
            log(f"Config failed to run, skipped: {type(error).__name__}: {error}")
            self._record_compile_failure(config)
            return math.inf
        finally:
            clear = getattr(self, "_clear_jit_fast_path_caches", None)
            if clear is not None:
                clear(fn)

    def sample(self, config: Any, repetitions: int) -> list[float]:
        """``repetitions`` fresh samples (ms) of an already timed config, not
        added to its record. Empty if the config failed or fails now.

        Raises:
            KeyError: if the config was never timed by this provider.
        """
        record = self.records[config]
        if record.status != "ok" or record.bench_fn is None:
            return []
        try:
            args = self._working_args()
            record.bench_fn(*args)  # warm: another config ran in between
            _bp.synchronize_device()
            return self._time(record.bench_fn, args, repetitions)
        except Exception as error:
            error.__traceback__ = None
            if _bp.match_unrecoverable_runtime_error(error):
                raise
            self.log.warning(f"Re-timing failed, config dropped: {type(error).__name__}: {error}")
            record.status = "error"
            return []

    def device_time(self, config: Any, timer: GraphDeviceTimer, calls: int | None = None) -> float | None:
        """Device time (ms) of an already timed config by ``timer`` (with
        ``calls`` kernel calls per graph; None: the timer's default); None
        where it cannot be measured (not on CUDA, not capturable in a CUDA
        graph, or failed)."""
        record = self.records[config]
        args = self._working_args()
        if record.status != "ok" or record.bench_fn is None or not _uses_cuda(args):
            return None
        try:
            return timer.measure(str(id(record)), functools.partial(record.bench_fn, *args), calls)
        except Exception as error:
            error.__traceback__ = None
            if _bp.match_unrecoverable_runtime_error(error):
                raise
            self.log.debug(f"No device time (CUDA graph): {type(error).__name__}: {error}")
            return None
