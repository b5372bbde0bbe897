"""Triton compiles in the compile pool, from a description of the compile:
the job is read from a precompiler of Helion's shape, a real Triton compile
(for an H100 target; no GPU is needed to compile) fills Triton's cache from
a pool's child, a config that does not compile is the config's failure,
and whatever this cannot read or run is left to Helion's own fork."""

from __future__ import annotations

import math
import time
import types
from pathlib import Path

import pytest

from helion_hybrid.forked_pool import ForkedPool
from helion_hybrid.triton_compile import CompileJob, compile_job, job_from_precompiler

triton = pytest.importorskip("triton")
from triton.backends.compiler import GPUTarget  # noqa: E402

MODULE = """
import triton
import triton.language as tl


@triton.jit
def add_one(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < n
    tl.store(y_ptr + offsets, tl.load(x_ptr + offsets, mask=mask) + 1, mask=mask)


@triton.jit
def not_a_power_of_two(y_ptr):
    tl.store(y_ptr + tl.arange(0, 3), 1.0)
"""

SIGNATURE = {"x_ptr": "*fp32", "y_ptr": "*fp32", "n": "i32", "BLOCK": "constexpr"}


def _module(tmp_path: Path) -> types.ModuleType:
    path = tmp_path / "generated_kernel.py"
    path.write_text(MODULE)
    import importlib.util

    spec = importlib.util.spec_from_file_location("generated_kernel", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _precompiler(fn, signature, constexprs, attrs, target, options):
    """A closure over what Helion's ``finish_it`` closes over."""

    def finish_it(in_child_process: bool = True) -> bool:
        return bool((fn, signature, constexprs, attrs, target, options, in_child_process))

    return finish_it


def _collect(pool: ForkedPool, token: object, timeout: float = 120.0) -> tuple[bool, str | None]:
    deadline = time.perf_counter() + timeout
    while token not in pool.results and time.perf_counter() < deadline:
        pool.poll()
        time.sleep(0.05)
    return pool.results[token]


def test_a_job_is_read_from_a_precompiler_of_helions_shape(tmp_path):
    module = _module(tmp_path)
    target = GPUTarget("cuda", 90, 32)
    job = job_from_precompiler(
        _precompiler(module.add_one, SIGNATURE, {(3,): 128}, {}, target, types.SimpleNamespace(num_warps=4))
    )
    assert job == CompileJob(
        module_path=str(tmp_path / "generated_kernel.py"),
        function_name="add_one",
        signature=SIGNATURE,
        constexprs={(3,): 128},
        attrs={},
        target=target,
        options={"num_warps": 4},
    )


def test_no_job_where_the_precompiler_is_not_of_that_shape_or_does_not_pickle(tmp_path):
    module = _module(tmp_path)
    options = types.SimpleNamespace(num_warps=4)
    target = GPUTarget("cuda", 90, 32)
    assert job_from_precompiler(lambda: True) is None  # e.g. Helion's already_compiled
    assert job_from_precompiler(print) is None
    unpicklable = {(3,): lambda: 128}
    assert job_from_precompiler(_precompiler(module.add_one, SIGNATURE, unpicklable, {}, target, options)) is None
    assert job_from_precompiler(_precompiler(len, SIGNATURE, {}, {}, target, options)) is None  # not a JITFunction


def test_a_pool_child_compiles_into_tritons_cache_and_a_bad_config_is_its_own_failure(tmp_path, monkeypatch):
    cache = tmp_path / "triton-cache"
    monkeypatch.setenv("TRITON_CACHE_DIR", str(cache))  # the children inherit it
    module = _module(tmp_path)
    target = GPUTarget("cuda", 90, 32)
    options = types.SimpleNamespace(num_warps=4)
    good = job_from_precompiler(_precompiler(module.add_one, SIGNATURE, {(3,): 128}, {}, target, options))
    bad = job_from_precompiler(_precompiler(module.not_a_power_of_two, {"y_ptr": "*fp32"}, {}, {}, target, options))
    missing = CompileJob(str(tmp_path / "gone.py"), "add_one", SIGNATURE, {(3,): 128}, {}, target, {"num_warps": 4})
    pool = ForkedPool(compile_job, processes=2, timeout_s=math.inf)
    try:
        assert pool.submit("good", good) and pool.submit("bad", bad)
        assert _collect(pool, "good") == (True, None)
        cubins = list(cache.rglob("add_one.cubin"))
        assert len(cubins) == 1, "the compile left no cubin in Triton's cache"
        # this process's compile of its own copy of the function (as its first launch compiles) finds that entry
        from triton.compiler import ASTSource, compile

        here = compile(ASTSource(module.add_one, SIGNATURE, {(3,): 128}, {}), target=target, options={"num_warps": 4})
        assert here.metadata.name == "add_one"
        assert list(cache.rglob("add_one.cubin")) == cubins  # the same key: no second entry
        ok, failure = _collect(pool, "bad")
        assert ok and failure.startswith("CompilationError") and "power of 2" in failure
        assert pool.submit("missing", missing)
        ok, failure = _collect(pool, "missing")
        assert not ok and "gone.py" in failure  # the pool's failure: the caller forks as Helion does
    finally:
        pool.close()


class _Future:
    """Helion's precompile future, not started: its process carries the
    precompiler as its first argument."""

    def __init__(self, precompiler):
        self.ok = None
        self.process = types.SimpleNamespace(_args=(precompiler, None, None, "", ""))
        self.started = False

    def start(self):
        self.started = True


class _Provider:
    def __init__(self, futures):
        self.kernel = None
        self.args = ()
        self.settings = types.SimpleNamespace(autotune_precompile="fork")
        self.config_spec = types.SimpleNamespace(backend=None)
        self.futures = futures
        self.failed: list[object] = []

    def _effective_source_dedup_enabled(self):
        return False

    def _decide_num_jobs(self):
        return 2

    def _create_precompile_future(self, config, fn):
        return self.futures[config]

    def _record_compile_failure(self, config):
        self.failed.append(config)


def _poll(backend, obs, timeout=120.0):
    deadline = time.perf_counter() + timeout
    while (done := backend.poll_compile(obs)) is None and time.perf_counter() < deadline:
        time.sleep(0.05)
    return done


def test_the_backend_compiles_in_its_pool_on_cuda_and_forks_as_helion_does_otherwise(tmp_path, monkeypatch):
    from helion_hybrid import helion_backend

    monkeypatch.setattr(helion_backend, "_uses_cuda", lambda args: True)  # as if the kernel ran on CUDA
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "triton-cache"))
    module = _module(tmp_path)
    (tmp_path / "hangs.py").write_text("import time\ntime.sleep(60)\n")
    target, options = GPUTarget("cuda", 90, 32), types.SimpleNamespace(num_warps=4)
    futures = {
        "good": _Future(_precompiler(module.add_one, SIGNATURE, {(3,): 128}, {}, target, options)),
        "bad": _Future(_precompiler(module.not_a_power_of_two, {"y_ptr": "*fp32"}, {}, {}, target, options)),
        "other shape": _Future(lambda: True),
    }
    hang = _precompiler(module.add_one, SIGNATURE, {(3,): 128}, {}, target, options)
    provider = _Provider(futures)
    backend = helion_backend.HelionBackend(provider, log=types.SimpleNamespace(debug=print), compile_pool=True)
    observations = {name: types.SimpleNamespace(index=i, config=name, handle=None) for i, name in enumerate(futures)}
    try:
        assert all(backend.start(obs) for obs in observations.values())
        assert not futures["good"].started and not futures["bad"].started
        assert futures["other shape"].started  # no job: Helion's fork
        assert _poll(backend, observations["good"]) is True
        assert _poll(backend, observations["bad"]) is False and provider.failed == ["bad"]
        # a compile that hangs is killed with its process, which is replaced
        monkeypatch.setattr(
            helion_backend,
            "job_from_precompiler",
            lambda p: CompileJob(str(tmp_path / "hangs.py"), "f", {}, {}, {}, target, {}),
        )
        futures["hang"] = _Future(hang)
        stuck = types.SimpleNamespace(index=9, config="hang", handle=None)
        assert backend.start(stuck) and backend.poll_compile(stuck) is None
        children = [process for process, _ in backend._compiles._children]
        time.sleep(0.5)
        backend.kill(stuck)
        assert backend.compiles_elsewhere["replaced"] == 1
        assert sum(not process.is_alive() for process in children) == 1
        assert backend.compiles_elsewhere == {"processes": 2, "ran": 2, "pool_failures": {}, "forked": 1, "replaced": 1}
    finally:
        backend.close()
    assert all(not process.is_alive() for process in children)  # none outlives the search


def test_the_compile_pool_is_on_by_default_and_its_option_is_checked():
    from helion_hybrid.hybrid_search import HybridSearchOptions
    from helion_hybrid.mfbo_search import MultiFidelityOptions

    assert HybridSearchOptions().compile_pool and MultiFidelityOptions().compile_pool
    for options in (HybridSearchOptions, MultiFidelityOptions):
        with pytest.raises(TypeError, match="compile_pool"):
            options(compile_pool="yes")
