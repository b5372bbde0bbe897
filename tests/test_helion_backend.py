"""The Helion backend's compile glue on the CPU: Helion's own
PrecompileFuture around real processes that finish, crash or hang, driven
by the engine (the GPU runs exercise the same code with Triton compiles)."""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import time
import types

import numpy as np
import pytest

pytest.importorskip("helion")
from helion.autotuner.precompile_future import PrecompileContext, PrecompileFuture  # noqa: E402

from helion_hybrid.evaluation import EvaluationEngine, StragglerPolicy  # noqa: E402
from helion_hybrid.helion_backend import HelionBackend  # noqa: E402


def _job(seconds: float) -> None:
    if seconds < 0:
        os._exit(1)
    time.sleep(seconds if math.isfinite(seconds) else 10**6)


class _Provider:
    """The parts of MultiFidelityBenchmarkProvider the compile glue uses."""

    def __init__(self, seconds: dict[int, float]) -> None:
        self.seconds = seconds
        self.kernel = types.SimpleNamespace(compile_config=lambda config, allow_print=False: f"fn{config}")
        self.config_spec = types.SimpleNamespace(backend=None)
        self.compile_failures: list[int] = []
        self.futures: list[PrecompileFuture] = []
        settings = types.SimpleNamespace(autotune_ignore_errors=True)
        self.ctx = PrecompileContext(settings=settings, log=types.SimpleNamespace(), kernel=None, args=(), jobs=4)

    def _effective_source_dedup_enabled(self) -> bool:
        return False

    def _create_precompile_future(self, config: int, fn: str) -> PrecompileFuture:
        process = mp.get_context("fork").Process(target=_job, args=(self.seconds[config],))
        future = PrecompileFuture(ctx=self.ctx, config=config, process=process, timeout=60, result_path=None)
        self.futures.append(future)
        return future

    def _record_compile_failure(self, config: int) -> None:
        self.compile_failures.append(config)


def test_helion_precompile_futures_finish_fail_and_are_killed():
    seconds = {0: 0.05, 1: math.inf, 2: -1, 3: 0.05, 4: 0.05, 5: 0.05}
    provider = _Provider(seconds)
    backend = HelionBackend(provider, log=types.SimpleNamespace(debug=lambda *a: None))
    engine = EvaluationEngine(
        backend, workers=3, stragglers=StragglerPolicy(floor_s=0.5, factor=2.0, ceiling_s=60, min_samples=2)
    )
    engine.submit([(c, None, np.zeros(1, dtype=np.int32)) for c in seconds], 5, "test")
    start = time.perf_counter()
    while engine.in_flight:
        # stop before timing: these "kernels" cannot run; check the compile outcome only
        engine._reap()
        engine._start_queued()
        engine._compiled.clear()
        if engine._running:
            engine._block(0.05)
    engine.close()
    assert time.perf_counter() - start < 10  # the hang held one worker for ~0.5 s, nobody waited 60 s
    assert provider.compile_failures == [2]
    assert engine.observations[1].status == "timeout"
    assert engine.observations[2].status == "error"
    for future in provider.futures:
        assert not future.process.is_alive()


def _helion_child(precompiler_exits: bool, result_path: str) -> mp.Process:
    """Helion's own fork-precompile child around a precompiler that fails
    the way Helion's does on a Triton compile error (``sys.exit(1)``), or
    succeeds."""
    import sys

    from helion.autotuner.precompile_future import _run_kernel_in_subprocess_fork

    def precompiler() -> bool:
        if precompiler_exits:
            sys.exit(1)
        return True

    args = (precompiler, {"block_sizes": [64]}, None, result_path, "@helion.kernel(config=...)")
    return mp.get_context("fork").Process(target=_run_kernel_in_subprocess_fork, args=args)


@pytest.mark.parametrize("fails", [True, False])
def test_a_triton_failure_in_helions_precompile_child_is_a_failed_compile(tmp_path, fails):
    from helion_hybrid.helion_backend import precompiled

    kernel = types.SimpleNamespace(
        format_kernel_decorator=lambda config, settings: "@helion.kernel(...)",
        maybe_log_repro=lambda *a, **k: None,
        settings=types.SimpleNamespace(),
    )
    settings = types.SimpleNamespace(autotune_ignore_errors=True)
    ctx = PrecompileContext(
        settings=settings, log=types.SimpleNamespace(debug=lambda *a: None), kernel=kernel, args=(), jobs=1
    )
    result = str(tmp_path / "result.pkl")
    future = PrecompileFuture(ctx=ctx, config={}, process=_helion_child(fails, result), timeout=60, result_path=result)
    future.start()
    future.process.join(30)
    future._mark_complete()
    # Helion's own verdict is "ok" either way (the child exits 0) ...
    assert future.process.exitcode == 0 and future.ok is True
    # ... the backend's is not
    assert precompiled(future) is not fails


def test_codegen_processes_answer_torchs_cuda_queries_from_the_parents_facts():
    """A process forked after CUDA was initialised cannot ask torch about the
    device; the codegen processes answer from facts read before the fork
    (here torch has no CUDA at all, which raises the same way)."""
    import torch

    from helion_hybrid.helion_backend import CudaFacts, _answered_from, cuda_facts

    original = torch.cuda.get_device_properties
    with pytest.raises((RuntimeError, AssertionError)):
        torch.cuda.get_device_properties(0)
    facts = CudaFacts(device_index=0, properties="H200 properties", capability=(9, 0))
    with _answered_from(facts):
        for device in (None, 0, "cuda", "cuda:0", torch.device("cuda", 0)):
            assert torch.cuda.get_device_properties(device) == "H200 properties"
        assert torch.cuda.get_device_capability() == (9, 0) and torch.cuda.current_device() == 0
        with pytest.raises(RuntimeError, match="no CUDA facts for device 1"):
            torch.cuda.get_device_properties(1)
    assert torch.cuda.get_device_properties is original
    assert cuda_facts([torch.zeros(2), 3]) is None  # no CUDA tensor: nothing to answer
    with _answered_from(None):
        assert torch.cuda.get_device_properties is original
