"""The engine's backend for real Helion kernels.

Keeps Helion's compile machinery where it serves -- its code generation
(``compile_config``), its precompile futures (one process per compile, with
fork or spawn as Helion is set up, the Triton cache they fill), its
generated-source identity for de-duplication, its baseline and accuracy
check -- and replaces only the barrier: each compile is started, polled and
killed on its own (:mod:`helion_hybrid.evaluation` decides when). On CUDA,
code generation and the Triton compiles run in long-lived forked processes
(:mod:`helion_hybrid.forked_pool`), off the search's thread. Timing goes
through :class:`~helion_hybrid.timing.MultiFidelityBenchmarkProvider`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from functools import partial
from multiprocessing import connection
from typing import TYPE_CHECKING, Any

from helion.autotuner import benchmark_provider as _bp
from helion.autotuner.process_utils import signal_process_tree

from .evaluation import Observation, WallClock
from .forked_pool import ForkedPool, resolve_workers
from .timing import GraphDeviceTimer, TimingRecord, _uses_cuda
from .triton_compile import compile_job, job_from_precompiler

if TYPE_CHECKING:
    from .timing import MultiFidelityBenchmarkProvider


class HelionBackend:
    """Compiles with Helion's precompile futures, times with the search's
    :class:`~helion_hybrid.timing.MultiFidelityBenchmarkProvider`.

    Args:
        provider: the search's benchmark provider (set up by Helion).
        log: the search's logger.
        codegen_workers: processes that generate code off the search's
            thread (:mod:`helion_hybrid.forked_pool`); 0: none; None:
            :func:`~helion_hybrid.forked_pool.resolve_workers`'s default,
            some where the kernel runs on CUDA and Helion forks its
            compiles.
        compile_pool: where the kernel runs on CUDA and Helion forks its
            compiles, compile in long-lived processes
            (:mod:`helion_hybrid.triton_compile`), one per compile worker.
    """

    def __init__(
        self,
        provider: MultiFidelityBenchmarkProvider,
        log: Any,
        codegen_workers: int | None = 0,
        compile_pool: bool = False,
    ) -> None:
        self.provider = provider
        self.kernel = provider.kernel
        self.log = log
        self.clock = WallClock()
        if codegen_workers is None:
            codegen_workers = resolve_workers(None, self._forks_on_cuda())
        self._pool = None
        if codegen_workers:
            facts = cuda_facts(provider.args) if self.uses_device_time() else None
            self._pool = ForkedPool(partial(_generate_code, self.kernel, facts), codegen_workers)
        self._pool_warned = False
        self._device_timer: GraphDeviceTimer | None = None
        self._killed: list[Any] = []
        self._live: dict[int, Any] = {}  # observation index -> precompile future
        self._compiles: ForkedPool | None = None
        if compile_pool and self._forks_on_cuda():
            # a straggler's kill costs a fork of its replacement, so there is no limit on those
            workers = max(1, int(provider._decide_num_jobs()))
            self._compiles = ForkedPool(compile_job, workers, timeout_s=math.inf, max_replacements=sys.maxsize)
        self._compiling_elsewhere: set[int] = set()  # indices whose future the compile pool stands in for
        self.compile_fallbacks = 0  # compiles the pool could not take or run, forked as Helion does
        backend = provider.config_spec.backend
        self._source_backend = backend if provider._effective_source_dedup_enabled() else None

    def _forks_on_cuda(self) -> bool:
        """Whether the kernel runs on CUDA and Helion forks its compiles
        (where the processes of :mod:`helion_hybrid.forked_pool` serve)."""
        return self.provider.settings.autotune_precompile == "fork" and self.uses_device_time()

    # -- compiling --------------------------------------------------------------
    def begin_codegen(self, obs: Observation) -> bool:
        return self._pool is not None and self._pool.submit(obs.index, obs.config)

    def codegen_done(self, obs: Observation) -> bool:
        assert self._pool is not None
        self._pool.poll()
        return obs.index in self._pool.results

    def _generated_code(self, obs: Observation) -> str | None:
        """The source a codegen process made for ``obs``, or None (then it
        is generated here, or was compiled here already)."""
        if self._pool is None:
            return None
        ok, text = self._pool.results.pop(obs.index, (False, ""))
        if not ok and text:
            self.log.debug(f"Code generated on the search's thread instead: {text}")
        if not self._pool.usable and not self._pool_warned:
            self._pool_warned = True
            common = self._pool.failure_reasons.most_common(1)
            self.log.warning(
                "Codegen processes keep failing; generating code on the search's thread from now on"
                + (f" (most often: {common[0][0]})" if common else "")
            )
        return text if ok else None

    def prepare(self, obs: Observation) -> str | None:
        code = self._generated_code(obs)
        with _bp.capture_output(), _bp._searching_candidates(), _serving_code(self.kernel, code):
            fn = self.kernel.compile_config(obs.config, allow_print=False)
        obs.handle = fn
        if self._source_backend is None:
            return None
        return self._source_backend.generated_source_hash(fn)

    def start(self, obs: Observation) -> bool:
        try:
            with _bp.capture_output():
                future = self.provider._create_precompile_future(obs.config, obs.handle)
        except Exception as error:  # Helion raises for some codegen-time launch errors
            error.__traceback__ = None
            if _bp.match_unrecoverable_runtime_error(error):
                raise
            self.log.debug(f"Precompile could not start: {type(error).__name__}: {error}")
            future = None
        if future is not None and future.ok:  # nothing to precompile (e.g. no precompile on this backend)
            return False
        if future is not None and future.ok is None and not self._compile_elsewhere(obs, future):
            future.start()
        self._live[obs.index] = future
        return True

    def _compile_elsewhere(self, obs: Observation, future: Any) -> bool:
        """Hand the compile of ``future`` (not started) to the compile pool;
        False where there is no pool or it cannot take it."""
        if self._compiles is None:
            return False
        process_args = getattr(future.process, "_args", ())
        job = job_from_precompiler(process_args[0]) if process_args else None
        if job is None or not self._compiles.submit(obs.index, job):
            self.compile_fallbacks += 1
            return False
        self._compiling_elsewhere.add(obs.index)
        return True

    def _poll_elsewhere(self, obs: Observation) -> bool | None:
        """The compile pool's verdict on ``obs``; None while it compiles
        (or, where the pool failed, while Helion's fork compiles it)."""
        assert self._compiles is not None
        self._compiles.poll()
        if obs.index not in self._compiles.results:
            return None
        ok, failure = self._compiles.results.pop(obs.index)
        self._compiling_elsewhere.discard(obs.index)
        future = self._live[obs.index]
        if not ok:  # the pool's own failure, not the config's: compile it Helion's way
            self.log.debug(f"Compile pool could not compile a config, forking for it: {failure}")
            self.compile_fallbacks += 1
            future.start()
            return None
        self._live.pop(obs.index, None)
        if failure is not None:
            self.log.debug(f"Config failed to compile: {failure}")
            self.provider._record_compile_failure(obs.config)
        return failure is None

    def poll_compile(self, obs: Observation) -> bool | None:
        if obs.index in self._compiling_elsewhere:
            return self._poll_elsewhere(obs)
        future = self._live.get(obs.index)
        if future is None:
            self._live.pop(obs.index, None)
            return False
        if future.ok is None:
            if future.is_alive():
                return None
            future._mark_complete()  # the process has exited: this does not block
        self._live.pop(obs.index, None)
        compiled = precompiled(future)
        if not compiled:
            self.provider._record_compile_failure(obs.config)
        return compiled

    def wait(self, running: Sequence[Observation], timeout: float) -> None:
        sentinels: list[Any] = self._pool.wait_handles() if self._pool is not None else []
        if self._compiles is not None:
            sentinels += self._compiles.wait_handles()
        for obs in running:
            future = self._live.get(obs.index)
            if obs.index in self._compiling_elsewhere:
                continue  # its future's process never started: the pool's handle stands for it
            if future is not None and future.process is not None and future.ok is None:
                sentinels.append(future.process.sentinel)
        if sentinels:
            connection.wait(sentinels, timeout)
        elif timeout > 0:
            time.sleep(min(timeout, 0.01))
        self._reap_killed()

    def kill(self, obs: Observation) -> None:
        """SIGKILL the compile's process tree now; it is reaped later
        (Helion's own path sends SIGTERM and joins for 10 s first)."""
        if self._pool is not None:
            self._pool.discard(obs.index)
        if obs.index in self._compiling_elsewhere:
            assert self._compiles is not None
            self._compiles.kill(obs.index)
            self._compiling_elsewhere.discard(obs.index)
        future = self._live.pop(obs.index, None)
        if future is None or future.ok is not None:
            return
        process = future.process
        if process is not None and future.started:
            with contextlib.suppress(Exception):
                signal_process_tree(process, signal.SIGKILL)
            self._killed.append(process)
        future.ok = False
        future.failure_reason = "timeout"
        future.end_time = time.time()
        with contextlib.suppress(Exception):
            future._consume_result(raise_on_raise=False)

    def _reap_killed(self) -> None:
        alive = []
        for process in self._killed:
            with contextlib.suppress(Exception):
                process.join(0)
            if process.is_alive():
                alive.append(process)
        self._killed = alive

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        if self._compiles is not None:
            self._compiles.close()
        self._compiling_elsewhere.clear()
        for index in list(self._live):
            future = self._live.pop(index)
            if future is not None and future.ok is None:
                with contextlib.suppress(Exception):
                    future.cancel()  # SIGKILL and join
        deadline = time.perf_counter() + 10
        while self._killed and time.perf_counter() < deadline:
            self._reap_killed()
            if self._killed:
                time.sleep(0.05)

    @property
    def codegen_workers(self) -> int:
        """Codegen processes this backend runs (0: none)."""
        return self._pool.processes if self._pool is not None else 0

    @property
    def codegen_offloaded(self) -> int:
        """Configs whose code a codegen process generated."""
        return self._pool.answered if self._pool is not None else 0

    @property
    def compiles_elsewhere(self) -> dict[str, Any]:
        """What the compile pool did: its processes, compiles it ran
        (compiled or failed), its own failures by reason, compiles forked
        as Helion does (no pool job, or the pool failed) and processes
        forked again (after a kill); empty without a pool."""
        if self._compiles is None:
            return {}
        return {
            "processes": self._compiles.processes,
            "ran": self._compiles.successes,
            "pool_failures": dict(self._compiles.failure_reasons),
            "forked": self.compile_fallbacks,
            "replaced": self._compiles.replaced,
        }

    @property
    def codegen_failures(self) -> dict[str, dict[str, int]]:
        """Codegen processes' failures by reason ("failed": the config was
        generated on the search's thread; "retried": a second try in the
        process succeeded); empty without processes."""
        if self._pool is None:
            return {}
        return {"failed": dict(self._pool.failure_reasons), "retried": dict(self._pool.retried_reasons)}

    # -- timing -----------------------------------------------------------------
    def first_timing(self, obs: Observation, repetitions: int, cutoff_ms: float | None = None) -> TimingRecord:
        self.provider.repetitions = int(repetitions)
        self.provider.cutoff_ms = cutoff_ms
        self.provider._benchmark_function(obs.config, obs.handle)
        return self.provider.records[obs.config]

    def _timed_config(self, obs: Observation) -> Any:
        """The config the provider timed for ``obs``: its own, or for a
        de-duplicated one the config with the same kernel (same record)."""
        if obs.config in self.provider.records:
            return obs.config
        return next(config for config, record in self.provider.records.items() if record is obs.record)

    def sample(self, obs: Observation, repetitions: int) -> list[float]:
        return self.provider.sample(self._timed_config(obs), repetitions)

    def uses_device_time(self) -> bool:
        return _uses_cuda(self.provider.args)  # a clone of mutated arguments lives on the same device

    def device_time(self, obs: Observation, calls: int | None = None) -> float | None:
        if not self.uses_device_time():
            return None
        if self._device_timer is None:
            self._device_timer = GraphDeviceTimer()
        value = self.provider.device_time(self._timed_config(obs), self._device_timer, calls)
        return value if value is not None and math.isfinite(value) else None


def precompiled(future: Any) -> bool:
    """Whether a finished precompile future compiled its kernel.

    Helion's verdict (``future.ok``: the child exited with status 0) is not
    enough. When Triton fails to compile in the child, Helion's precompiler
    calls ``sys.exit(1)``; the child's ``except Exception`` does not catch
    that, and its ``finally`` exits with status 0 without writing a result.
    The failure reads as a success, and the search's thread then compiles
    the config again at its first run, for seconds, only to fail (on the
    H200, attention configs with check_s of 0.5-8.7 s and status error in
    ``bench/results/h200/attention_2048_bf16/runs/*.jsonl.gz``). A child that
    succeeded always leaves its result, so a missing result is a failure.
    """
    return bool(future.ok) and future.remote_error is None


@dataclasses.dataclass(frozen=True)
class CudaFacts:
    """What Helion's code generation asks torch about the CUDA device,
    read in the search's process before the codegen processes fork."""

    device_index: int
    properties: Any  # torch.cuda's device properties: plain data, valid in a fork
    capability: tuple[int, int]


def cuda_facts(args: Sequence[object]) -> CudaFacts | None:
    """:class:`CudaFacts` of the device of the first CUDA tensor in ``args``."""
    import torch

    device = next((a.device for a in args if isinstance(a, torch.Tensor) and a.is_cuda), None)
    if device is None:
        return None
    index = device.index if device.index is not None else torch.cuda.current_device()
    return CudaFacts(index, torch.cuda.get_device_properties(index), torch.cuda.get_device_capability(index))


@contextlib.contextmanager
def _answered_from(facts: CudaFacts | None) -> Iterator[None]:
    """While active, torch.cuda's device queries answer from ``facts``.

    In a process forked after CUDA was initialised (the codegen processes),
    every such query raises "Cannot re-initialize CUDA in forked
    subprocess"; the generation of some configs asks one (on the H200, 13
    and 19 of the persistent-kernel configs of the two matmul_1024 runs
    ``bench/results/h200/matmul_1024_fp16/runs/HybridSearch-83adb5a_seed*.json``,
    ``codegen_failures``), and those were then generated on the search's
    thread."""
    if facts is None:
        yield
        return
    import torch

    def checked(device: Any = None) -> None:
        index = device if isinstance(device, int) or device is None else torch.device(device).index
        if index not in (None, facts.device_index):
            raise RuntimeError(f"no CUDA facts for device {device!r} in this codegen process")

    def properties(device: Any = None) -> Any:
        checked(device)
        return facts.properties

    def capability(device: Any = None) -> tuple[int, int]:
        checked(device)
        return facts.capability

    patched = {
        "current_device": lambda: facts.device_index,
        "get_device_properties": properties,
        "get_device_capability": capability,
    }
    saved = {name: getattr(torch.cuda, name) for name in patched}
    for name, function in patched.items():
        setattr(torch.cuda, name, function)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(torch.cuda, name, function)


def _generate_code(kernel: Any, facts: CudaFacts | None, config: Any) -> str | None:
    """In a codegen process: ``config``'s source, made exactly as
    ``compile_config`` makes it (which also writes it to Helion's code cache,
    so the search's own load finds the file), with torch's CUDA device
    queries answered from ``facts``; None where the config was
    compiled before the process was forked (Helion's default config, run
    for the baseline), which the search's thread has compiled too."""
    generated: list[str] = []
    original = kernel.to_triton_code

    def capture(*args: Any, **kwargs: Any) -> str:
        generated.append(original(*args, **kwargs))
        return generated[-1]

    kernel.to_triton_code = capture  # this process's copy only
    try:
        with _bp.capture_output(), _bp._searching_candidates(), _answered_from(facts):
            kernel.compile_config(config, allow_print=False)
    finally:
        del kernel.to_triton_code
    return generated[-1] if generated else None


@contextlib.contextmanager
def _serving_code(kernel: Any, code: str | None) -> Iterator[None]:
    """While active, the kernel's code generation returns ``code`` (made by
    a codegen process for the config being compiled) instead of generating."""
    if code is None:
        yield
        return
    kernel.to_triton_code = lambda *args, **kwargs: code
    try:
        yield
    finally:
        del kernel.to_triton_code  # the class's method again
