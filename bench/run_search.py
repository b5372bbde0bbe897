"""One search on one workload, in this process, recorded for the harness
(``compare.py`` runs this in a fresh subprocess per run; see
:mod:`runlog` for what the trace holds)."""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import importlib.metadata
import inspect
import json
import math
import os
import pstats
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from runlog import config_dict, jsonable, read_trace, trace_summary
from stack_sampler import StackSampler

#: compare.py sets this to the time.time() at which it started the run's process.
SPAWNED_VARIABLE = "HH_RUN_SPAWNED_AT"
_PROCESS_READY = time.time()  # the interpreter has started and imported the harness


class Recorder:
    """Writes trace events as they happen (one JSON line each, flushed).

    helion_hybrid's searches report every evaluation step to their
    ``listeners`` (:meth:`on_engine_event`). Helion's own searches offer no
    callback, so for them the recorder wraps the two methods they go
    through: ``LocalBenchmarkProvider.benchmark`` (compile + first timing of
    a batch) and ``PopulationBasedSearch.rebenchmark`` (Helion's re-timing,
    which MultiFidelityBayesianSearch's finish uses too).
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.origin = time.perf_counter()
        self.best_ms = math.inf

    def now(self) -> float:
        return time.perf_counter() - self.origin

    def emit(self, event: dict[str, Any]) -> None:
        perf = event.get("perf_ms")
        if (
            event.get("event") == "first_timing"
            and event.get("status") in ("ok", "deduplicated")
            and perf is not None
            and math.isfinite(perf)
        ):
            self.best_ms = min(self.best_ms, perf)
        event["best_so_far_ms"] = self.best_ms
        self.stream.write(json.dumps(jsonable(event)) + "\n")
        self.stream.flush()

    def install(self) -> None:
        from helion.autotuner.base_search import PopulationBasedSearch
        from helion.autotuner.benchmark_provider import LocalBenchmarkProvider

        _wrap(LocalBenchmarkProvider, "benchmark", self._on_benchmark)
        _wrap(PopulationBasedSearch, "rebenchmark", self._on_rebenchmark)

    def on_engine_event(self, event: dict[str, Any]) -> None:
        """An evaluation engine event, on this trace's clock."""
        event["t"] = self.now()
        if "config" in event:
            event["config"] = config_dict(event["config"])
        for entry in event.get("ranking", ()):
            entry["config"] = config_dict(entry["config"])
        self.emit(event)

    def _on_benchmark(self, original: Callable[..., Any], provider: Any, configs: Any, **kw: Any) -> Any:
        t_start = self.now()
        results = original(provider, configs, **kw)
        t_end = self.now()
        self.emit({"event": "batch", "t": t_end, "t_start": t_start, "t_end": t_end, "configs": len(results)})
        for r in results:
            done = getattr(r, "completed_at", None)
            self.emit(
                {
                    "event": "first_timing",
                    "t": done - self.origin if done else t_end,
                    "config": config_dict(r.config),
                    "status": r.status,
                    "perf_ms": r.perf,
                    "compile_s": r.compile_time,
                    "fidelity": "50 ms window",  # Helion's own timer reports only this aggregate
                    "samples": None,
                }
            )
        return results

    def _on_rebenchmark(self, original: Callable[..., Any], search: Any, members: Any, *a: Any, **kw: Any) -> Any:
        t_start = self.now()
        out = original(search, members, *a, **kw)
        for m in members:
            self.emit(
                {
                    "event": "rebenchmark",
                    "t": self.now(),
                    "t_start": t_start,
                    "config": config_dict(m.config),
                    "status": m.status,
                    "perf_ms": m.perf,
                    "fidelity": "rebenchmark",
                }
            )
        return out


def _wrap(owner: type, name: str, hook: Callable[..., Any]) -> None:
    original = getattr(owner, name)

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        return hook(original, self, *args, **kwargs)

    setattr(owner, name, wrapper)


def space_header(search: Any) -> dict[str, Any]:
    """The config space as Helion built it here, for a replay elsewhere."""
    import torch

    from helion_hybrid.helion_space import describe_fragment

    gen = search.config_gen
    settings = search.settings
    return {
        "event": "header",
        "t": 0.0,
        "flat_spec": [jsonable(describe_fragment(fragment)) for fragment in gen.flat_spec],
        "overridden_flat_indices": sorted(gen.overridden_flat_indices),
        "default_config": config_dict(gen.unflatten(gen.default_flat())),
        # device heuristics: a replay on another machine cannot derive them
        "compiler_seed_configs": [config_dict(c) for c in getattr(gen.config_spec, "compiler_seed_configs", ())],
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "compile_workers": settings.autotune_precompile_jobs or os.cpu_count(),
        "compile_timeout_s": settings.autotune_compile_timeout,
        "versions": versions(),
    }


def versions() -> dict[str, str]:
    import torch

    out = {"torch": torch.__version__}
    for package in ("helion", "triton", "helion-hybrid"):
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def parse_options(options: list[str]) -> dict[str, Any]:
    """``NAME=VALUE`` strings (JSON values, else the text) as a dict."""
    out: dict[str, Any] = {}
    for option in options:
        name, _, text = option.partition("=")
        if not name or not text:
            raise SystemExit(f"--search-option {option!r}: expected NAME=VALUE")
        try:
            out[name] = json.loads(text)
        except json.JSONDecodeError:
            out[name] = text
    return out


def _takes_overrides(parameters: Any) -> bool:
    """Whether a search takes arbitrary option keywords (ours do, and check them)."""
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def search_kwargs(cls: type, bound: Any, effort: str, options: list[str]) -> dict[str, Any]:
    """The search's keywords from Helion's effort profile, then ``NAME=VALUE``
    options (JSON values) given on the command line."""
    from helion.autotuner.effort_profile import get_effort_profile

    parameters = inspect.signature(cls.__init__).parameters
    kwargs = {
        k: v
        for k, v in cls.get_kwargs_from_profile(get_effort_profile(effort), bound.settings).items()
        if k in parameters
    }
    for name, value in parse_options(options).items():
        if name not in parameters and not _takes_overrides(parameters):
            valid = ", ".join(sorted(set(parameters) - {"self", "kernel", "args"}))
            raise SystemExit(f"--search-option {name}: {cls.__name__} takes no option {name!r}; it takes: {valid}")
        kwargs[name] = value
    return kwargs


def run(args: argparse.Namespace) -> None:
    """Run one search; write its trace as it goes and its result at the end."""
    marks = {"spawned": float(os.environ.get(SPAWNED_VARIABLE, _PROCESS_READY)), "started": _PROCESS_READY}
    from helion_hybrid.workloads import WORKLOADS

    workload = WORKLOADS[args.workload]
    if not args.keep_best:  # an independent cold run: no cache, no warm start from the tuning store
        os.environ["HELION_SKIP_CACHE"] = "1"
        os.environ["HELION_HYBRID_TUNING_STORE"] = "off"
    os.environ.setdefault("HELION_AUTOTUNE_PROGRESS_BAR", "0")
    from helion.autotuner import search_algorithms

    import helion_hybrid  # registers HybridSearch / MFBO

    marks["imported"] = time.time()
    kernel, kernel_args, _reference = workload.make()
    marks["made_inputs"] = time.time()
    bound = kernel.bind(kernel_args)
    bound.settings.autotune_random_seed = args.seed
    bound.settings.autotune_effort = args.effort
    random.seed(args.seed)  # RandomSearch draws in its constructor
    cls = search_algorithms[args.algorithm]
    kwargs = search_kwargs(cls, bound, args.effort, args.search_option)
    with open(args.trace, "w") as stream:
        recorder = Recorder(stream)
        recorder.install()
        search = cls(bound, kernel_args, **kwargs)
        if hasattr(search, "listeners"):
            search.listeners.append(recorder.on_engine_event)
        recorder.emit(space_header(search))
        marks["constructed"] = time.time()
        recorder.origin = time.perf_counter()
        with profiled(args.profile), StackSampler() as sampler:
            config = search.autotune(skip_cache=True)
        wall = recorder.now()
        marks["searched"] = time.time()
    Path(args.result).with_suffix(".samples.txt").write_text(sampler.report())
    if args.keep_best:  # as Helion's own cache would: a later shape's from_best_available finds it
        from helion.autotuner.local_cache import LocalAutotuneCache

        LocalAutotuneCache(search).put(config)
    options = getattr(search, "options", None)
    result = {
        "workload": args.workload,
        "algorithm": args.algorithm,
        "label": args.label,
        "seed": args.seed,
        "effort": args.effort,
        "kwargs": kwargs,
        "options": dataclasses.asdict(options) if dataclasses.is_dataclass(options) else None,
        "finished": True,
        "wall_s": wall,
        "best_config": config_dict(config),
        **trace_summary(read_trace(Path(args.trace))),
        "helion_metrics": helion_metrics(search),
        "counters": search.counters_dict() if hasattr(search, "counters_dict") else None,
        "search_own_s": own_seconds(search, wall, read_trace(Path(args.trace))),
        "phase_seconds": getattr(search, "phase_seconds", None),
        "versions": versions(),
        "profiled": bool(args.profile),  # cProfile slows the search's thread: build_dataset.py keeps no costs of it
        "shootout": [
            {"config": config_dict(c), "search_ms": o.median, "shootout_ms": o.shootout_ms}
            for c, o in getattr(search, "observations", {}).items()
            if math.isfinite(getattr(o, "shootout_ms", math.inf))
        ],
    }
    del helion_hybrid
    marks["summarised"] = time.time()
    result["harness_s"] = harness_seconds(marks)
    Path(args.result).write_text(json.dumps(jsonable(result), indent=2))


def harness_seconds(marks: dict[str, float]) -> dict[str, float]:
    """Where a run's seconds outside its search went, from the ``marks``
    (time.time() at each step): ``start`` (interpreter start-up and the
    harness's imports), ``imports`` (torch, Helion, helion_hybrid),
    ``inputs`` (the workload's kernel and tensors, with the device's
    context), ``construct`` (binding, the search's constructor, the space header),
    ``search`` (the autotune, a little more than its wall) and ``summary``
    (stack samples, the result), and ``to_result`` their sum: compare.py
    takes it from the run's seconds to tell how long the exit took."""
    steps = ("spawned", "started", "imported", "made_inputs", "constructed", "searched", "summarised")
    names = ("start", "imports", "inputs", "construct", "search", "summary")
    out = {name: marks[b] - marks[a] for name, a, b in zip(names, steps, steps[1:], strict=False)}
    out["to_result"] = marks["summarised"] - marks["spawned"]
    return out


@contextlib.contextmanager
def profiled(path: str) -> Iterator[None]:
    """cProfile the block into a text summary at ``path`` (nothing if empty):
    where the main process's time goes, by cumulative and by own time."""
    if not path:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        with open(path, "w") as out:
            for key, count in (("cumulative", 80), ("tottime", 50)):
                out.write(f"==== sorted by {key}\n")
                pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(key).print_stats(count)


def own_seconds(search: Any, wall: float, events: list[dict[str, Any]]) -> float:
    """The search's own seconds (models, bookkeeping), which a replay
    charges as it measures them: the model seconds helion_hybrid's searches
    count, else the wall time outside Helion's batches and rebenchmarks."""
    if hasattr(search, "counters_dict"):
        return float(search.counters_dict()["seconds"].get("model", 0.0))
    summary = trace_summary(events)
    return wall - summary["seconds_in_batches"] - summary["seconds_in_rebenchmarks"]


def helion_metrics(search: Any) -> dict[str, Any] | None:
    metrics = getattr(search, "_autotune_metrics", None)
    return vars(metrics) if metrics is not None else None


def unfinished_result(args: argparse.Namespace, time_limit: float) -> dict[str, Any]:
    """The result of a run stopped at its time limit: what its trace holds,
    with the best config it had timed as its answer."""
    summary = trace_summary(read_trace(Path(args.trace)))
    return {
        "workload": args.workload,
        "algorithm": args.algorithm,
        "label": args.label,
        "seed": args.seed,
        "effort": args.effort,
        "finished": False,
        "time_limit_s": time_limit,
        "wall_s": time_limit,
        "best_config": summary["search_best_config"],
        **summary,
    }
