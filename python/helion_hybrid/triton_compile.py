"""Triton compiles in the compile pool, from a description of the compile.

Helion compiles each config in a process forked for it from the search's
thread (its "precompile future"): the parent runs the kernel's host code up
to the launch, binds the launch arguments the way Triton's ``JITFunction.run``
does, and forks a child that runs ``triton.compile`` and fills Triton's
cache, which the parent's first launch then reads. The fork is the costly
step on the search's thread (module docstring of
:mod:`helion_hybrid.forked_pool`).

Everything the child's compile needs is plain data once the launch is bound:
the generated module's file, the Triton function's name, the signature,
constexprs, attributes, target and options. :func:`job_from_precompiler`
reads them from Helion's precompiler (the closure it would run in the
fork); :func:`compile_job` runs the same compile in a long-lived child of a
:class:`~helion_hybrid.forked_pool.ForkedPool`, which loads the module from
its file. The compile is Triton's, so the cache entry is the one the
parent's launch looks up. Where the precompiler is not of the shape this
reads (another Helion version, a non-Triton backend), or a job does not
pickle, there is no job and Helion's own fork runs as before.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import pickle
from types import ModuleType
from typing import Any

#: What Helion's precompiler (``make_precompiler``'s ``finish_it``, helion
#: 1.5.0-1.5.1) closes over and the compile needs.
_CLOSURE_NAMES = ("fn", "signature", "constexprs", "attrs", "target", "options")


@dataclasses.dataclass(frozen=True)
class CompileJob:
    """One Triton compile, as data.

    Attributes:
        module_path: the generated module's file (Helion's code cache).
        function_name: the ``@triton.jit`` function's name in it.
        signature: argument name -> Triton type, as bound for the launch.
        constexprs: argument path -> constexpr value.
        attrs: argument path -> specialisation attributes.
        target: Triton's ``GPUTarget``.
        options: the backend's options, as a dict.
    """

    module_path: str
    function_name: str
    signature: Any
    constexprs: Any
    attrs: Any
    target: Any
    options: dict[str, Any]


def _closure(function: Any) -> dict[str, Any]:
    code = getattr(function, "__code__", None)
    cells = getattr(function, "__closure__", None) or ()
    if code is None or len(code.co_freevars) != len(cells):
        return {}
    values = {}
    for name, cell in zip(code.co_freevars, cells, strict=True):
        try:
            values[name] = cell.cell_contents
        except ValueError:  # an empty cell
            continue
    return values


def job_from_precompiler(precompiler: Any) -> CompileJob | None:
    """The compile Helion's ``precompiler`` would run in its fork, as a
    :class:`CompileJob`; None where it is not a Triton compile of the known
    shape or the job would not pickle (then fork as Helion does)."""
    values = _closure(precompiler)
    if not all(name in values for name in _CLOSURE_NAMES):
        return None
    jit_function = values["fn"]
    python_function = getattr(jit_function, "fn", None)
    code = getattr(python_function, "__code__", None)
    options = getattr(values["options"], "__dict__", None)
    if code is None or options is None:
        return None
    job = CompileJob(
        module_path=code.co_filename,
        function_name=python_function.__name__,
        signature=values["signature"],
        constexprs=values["constexprs"],
        attrs=values["attrs"],
        target=values["target"],
        options=dict(options),
    )
    try:
        pickle.dumps(job)
    except Exception:  # e.g. a constexpr that is a function
        return None
    return job


_MODULES: dict[str, ModuleType] = {}  # per process: the generated modules loaded so far


def _module(path: str) -> ModuleType:
    if path not in _MODULES:
        spec = importlib.util.spec_from_file_location(f"_helion_hybrid_compile_{len(_MODULES)}", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load the generated module {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _MODULES[path] = module
    return _MODULES[path]


def compile_job(job: CompileJob) -> str | None:
    """In a pool's child: run ``job``'s Triton compile (filling Triton's
    cache). None when it compiled; the error's description when Triton
    could not compile the config (the config failed). Loading the module
    raises: that is the pool's failure, not the config's."""
    # what a JITFunction's binder sets as its ``ASTSource`` and ``compile`` (this one has no binder)
    from triton.compiler import ASTSource, compile

    jit_function = getattr(_module(job.module_path), job.function_name)
    source = ASTSource(jit_function, job.signature, job.constexprs, job.attrs)
    try:
        compile(source, target=job.target, options=job.options)
    except Exception as error:  # the config does not compile: its result, not a pool failure
        return f"{type(error).__name__}: {error}".strip()
    return None
