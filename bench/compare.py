#!/usr/bin/env python3
"""Side-by-side comparison of autotuners on real Helion kernels.

For each workload, algorithm and seed, the search runs in a fresh
subprocess with the autotune cache off (searches are constructed directly on
the bound kernel, as the seed study did). Each run records its wall time,
configs timed by status and fidelity, time spent compiling / timing /
modelling where the search reports it, its best config, and a JSONL trace of
every evaluation. Then every run's best config and the eager PyTorch
reference are re-timed side by side, interleaved over many rounds, in
``--retime-processes`` separate processes (medians combined, spread kept),
with Triton's do_bench and, on CUDA, device time from a CUDA graph, so
quality ratios come from one comparison rather than from different runs'
noise.
Stored anchor runs (long searches run once and committed) are reused for
wall time, but their best configs are always re-timed with the new ones.

Outputs under ``OUT/<gpu>/<workload>/``: ``results.json`` (every number),
``table.md`` (the seed study's table shape), ``convergence.png``
(best-so-far kernel time against elapsed seconds), and ``runs/`` with one
JSON and one JSONL trace per run.

Examples:
    # a real comparison on the CPU (Pallas interpret mode), about 5 minutes
    python bench/compare.py --workload add_pallas --algorithms PatternSearch HybridSearch --seeds 0
    # the headline on a GPU
    python bench/compare.py --workload matmul_1024_fp16 --algorithms HybridSearch --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

ALGORITHMS = ("PatternSearch", "RandomSearch", "LFBOTreeSearch", "MultiFidelityBayesianSearch", "HybridSearch")


# ----------------------------------------------------------------------------- child: one search
def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _config_dict(config: Any) -> dict[str, Any]:
    return _jsonable(dict(config.config if hasattr(config, "config") else config))


def run_one(args: argparse.Namespace) -> None:
    """Run one search and write its result JSON and trace JSONL."""
    from workloads import WORKLOADS, apply_env

    workload = WORKLOADS[args.workload]
    apply_env(workload)
    os.environ["HELION_SKIP_CACHE"] = "1"
    os.environ.setdefault("HELION_AUTOTUNE_PROGRESS_BAR", "0")
    from helion.autotuner import search_algorithms
    from helion.autotuner.base_search import PopulationBasedSearch
    from helion.autotuner.benchmark_provider import LocalBenchmarkProvider
    from helion.autotuner.effort_profile import get_effort_profile

    import helion_hybrid  # registers HybridSearch / MFBO
    from helion_hybrid.timing import MultiFidelityBenchmarkProvider

    if args.core_threads > 0:
        helion_hybrid.set_num_threads(args.core_threads)

    kernel, kernel_args, reference = workload.make()
    bound = kernel.bind(kernel_args)
    bound.settings.autotune_random_seed = args.seed
    bound.settings.autotune_effort = args.effort
    random.seed(args.seed)  # RandomSearch draws in its constructor
    cls = search_algorithms[args.algorithm]
    import inspect

    parameters = inspect.signature(cls.__init__).parameters
    kwargs = {
        k: v
        for k, v in cls.get_kwargs_from_profile(get_effort_profile(args.effort), bound.settings).items()
        if k in parameters
    }
    for option in args.search_option:
        name, _, text = option.partition("=")
        if name not in parameters or not text:
            raise SystemExit(f"--search-option {option!r}: {args.algorithm} takes no option {name!r} "
                             f"(or no value was given); it takes: "
                             f"{', '.join(sorted(set(parameters) - {'self', 'kernel', 'args'}))}")
        try:
            kwargs[name] = json.loads(text)
        except json.JSONDecodeError:
            kwargs[name] = text
    trace_file = open(args.trace, "w")
    start = [time.perf_counter()]
    best_so_far = [math.inf]

    def emit(event: dict[str, Any]) -> None:
        perf = event.get("perf_ms")
        if event.get("status") in ("ok", "deduplicated") and perf is not None and math.isfinite(perf):
            best_so_far[0] = min(best_so_far[0], perf)
        event["best_so_far_ms"] = best_so_far[0]
        trace_file.write(json.dumps(_jsonable(event)) + "\n")

    original_benchmark = LocalBenchmarkProvider.benchmark

    def traced_benchmark(self: Any, configs: Any, **kw: Any) -> Any:
        results = original_benchmark(self, configs, **kw)
        records = getattr(self, "records", {})
        for r in results:
            record = records.get(r.config)
            done = getattr(r, "completed_at", None)
            emit({
                "t": (done if done else time.perf_counter()) - start[0],
                "event": "first_timing",
                "config": _config_dict(r.config),
                "status": r.status,
                "perf_ms": r.perf,
                "compile_s": r.compile_time,
                "fidelity": f"{self.repetitions} reps" if isinstance(self, MultiFidelityBenchmarkProvider) else "50 ms window",
                "samples": list(record.samples) if record is not None else None,
            })
        return results

    original_retime = MultiFidelityBenchmarkProvider.retime

    def traced_retime(self: Any, config: Any, repetitions: int) -> Any:
        record = original_retime(self, config, repetitions)
        emit({
            "t": time.perf_counter() - start[0], "event": "retime", "config": _config_dict(config),
            "status": record.status, "perf_ms": record.median, "fidelity": f"{record.repetitions} reps",
            "samples": list(record.samples),
        })
        return record

    original_rebenchmark = PopulationBasedSearch.rebenchmark

    def traced_rebenchmark(self: Any, members: Any, *a: Any, **kw: Any) -> Any:
        out = original_rebenchmark(self, members, *a, **kw)
        for m in members:
            emit({
                "t": time.perf_counter() - start[0], "event": "rebenchmark", "config": _config_dict(m.config),
                "status": m.status, "perf_ms": m.perf, "fidelity": "rebenchmark",
            })
        return out

    LocalBenchmarkProvider.benchmark = traced_benchmark
    MultiFidelityBenchmarkProvider.retime = traced_retime
    PopulationBasedSearch.rebenchmark = traced_rebenchmark

    clock_trace: list[dict[str, Any]] = []
    phase = ["search"]
    if args.clock_trace:
        _trace_clocks(clock_trace, start, phase, functools.partial(reference, *kernel_args))

    search = cls(bound, kernel_args, **kwargs)
    start[0] = time.perf_counter()
    config = search.autotune(skip_cache=True)
    wall = time.perf_counter() - start[0]
    trace_file.close()

    events = [json.loads(line) for line in open(args.trace)]
    first = [e for e in events if e["event"] == "first_timing"]
    by_status: dict[str, int] = {}
    by_fidelity: dict[str, int] = {}
    for e in first:
        by_status[e["status"]] = by_status.get(e["status"], 0) + 1
        by_fidelity[e["fidelity"]] = by_fidelity.get(e["fidelity"], 0) + 1
    compile_sum = sum(e["compile_s"] or 0.0 for e in first)
    metrics = getattr(search, "_autotune_metrics", None)
    result = {
        "workload": args.workload,
        "algorithm": args.algorithm,
        "seed": args.seed,
        "effort": args.effort,
        "kwargs": _jsonable(kwargs),
        "wall_s": wall,
        "best_config": _config_dict(config),
        "search_best_ms": best_so_far[0],
        "configs_timed_by_status": by_status,
        "configs_timed_by_fidelity": by_fidelity,
        "configs_timed": len(first),
        "precompile_seconds_summed_over_configs": compile_sum,
        "helion_metrics": _jsonable(vars(metrics)) if metrics is not None else None,
        "counters": search.counters_dict() if hasattr(search, "counters_dict") else None,
        "phase_seconds": getattr(search, "phase_seconds", None),
        "versions": {"helion": importlib.metadata.version("helion"), "torch": __import__("torch").__version__},
    }
    observations = getattr(search, "observations", {})
    result["shootout"] = [
        {"config": _config_dict(c), "search_ms": o.median, "shootout_ms": o.shootout_ms}
        for c, o in observations.items() if math.isfinite(getattr(o, "shootout_ms", math.inf))
    ]
    if args.post_check > 0:
        phase[0] = "post_check"
        result["post_check"] = post_check(search, bound, kernel_args, args.post_check)
    if args.clock_trace:
        result["clock_trace"] = clock_trace
    Path(args.result).write_text(json.dumps(_jsonable(result), indent=2))


def _trace_clocks(trace: list[dict[str, Any]], start: list[float], phase: list[str],
                  reference: Callable[[], object]) -> None:
    """Diagnostic: after every timing burst of helion_hybrid's timers, record
    what it measured with the GPU's SM clock, power and temperature (NVML).
    Event bursts also record the GPU time of their flush and launch cover,
    a 10-call event timing of the eager reference right after (the same
    kernel every time, so it shows the process's timing condition), and the
    seconds since the search's model (GP fit, acquisition) last ran."""
    import helion_hybrid.hybrid_search as hybrid_search
    import helion_hybrid.timing as timing
    from gpu_probe import ClockReader, probed_event_samples
    from helion_hybrid.gp import GaussianProcess

    clocks = ClockReader()
    original_measure = timing.GraphDeviceTimer.measure
    model_ended = [math.nan]

    def mark_model_end(function: Any) -> Any:
        @functools.wraps(function)
        def wrapper(*a: Any, **kw: Any) -> Any:
            try:
                return function(*a, **kw)
            finally:
                model_ended[0] = time.perf_counter()
        return wrapper

    GaussianProcess.fit = mark_model_end(GaussianProcess.fit)
    hybrid_search.maximize_acquisition = mark_model_end(hybrid_search.maximize_acquisition)

    def traced_events(call: Any, repetitions: int) -> list[float]:
        samples, stages = probed_event_samples(call, repetitions)
        now = time.perf_counter()
        reference_us = probed_event_samples(reference, 10)[1]["timed_us"]
        trace.append({"t": now - start[0], "phase": phase[0], "timer": "events",
                      "n": repetitions, "median_ms": statistics.median(samples), **stages,
                      "reference_us": reference_us, "since_model_s": now - model_ended[0], **clocks.read()})
        return samples

    def traced_measure(self: Any, key: str, call: Any) -> float:
        ms = original_measure(self, key, call)
        trace.append({"t": time.perf_counter() - start[0], "phase": phase[0], "timer": "graph",
                      "n": self.calls_per_graph, "median_ms": ms, **clocks.read()})
        return ms

    timing._event_samples = traced_events
    timing.GraphDeviceTimer.measure = traced_measure


def post_check(search: Any, bound: Any, kernel_args: Any, count: int) -> list[dict[str, Any]]:
    """Diagnostic: re-time the search's ``count`` best first timings in the
    search's own process right after it ends -- with the function the search
    timed and with a fresh compile of the same config, by the search's timer
    and by device time in a CUDA graph -- to tell apart a timing condition
    during the search from a difference in the compiled kernel."""
    import helion
    import torch

    from helion_hybrid.timing import GraphDeviceTimer
    from helion_hybrid.timing import _event_samples

    records = getattr(getattr(search, "benchmark_provider", None), "records", None)
    if not records or not torch.cuda.is_available():
        return []
    timed = sorted(((r.median, c, r) for c, r in records.items()
                    if r.status == "ok" and r.bench_fn is not None and r.samples), key=lambda item: item[0])
    timer = GraphDeviceTimer()
    out = []
    for first_ms, config, record in timed[:count]:
        fresh = bound.compile_config(helion.Config(**dict(config)))
        searched = functools.partial(record.bench_fn, *kernel_args)
        rebuilt = functools.partial(fresh, *kernel_args)
        out.append({
            "config": _config_dict(config),
            "in_search_ms": record.median,
            "searched_fn_events_ms": statistics.median(_event_samples(searched, 50)),
            "fresh_fn_events_ms": statistics.median(_event_samples(rebuilt, 50)),
            "searched_fn_device_ms": timer.measure(f"searched {len(out)}", searched),
            "fresh_fn_device_ms": timer.measure(f"fresh {len(out)}", rebuilt),
        })
    return out


# ----------------------------------------------------------------------------- re-timing, one process
def retime(args: argparse.Namespace) -> None:
    """Re-time the best configs of the given runs and the eager reference,
    interleaved, in this one process."""
    from workloads import WORKLOADS, apply_env

    workload = WORKLOADS[args.workload]
    apply_env(workload)
    import helion
    import torch
    from helion.autotuner.benchmarking import do_bench, do_bench_generic

    import helion_hybrid  # noqa: F401

    runs = [json.loads(Path(p).read_text()) for p in args.runs]
    kernel, kernel_args, reference = workload.make()
    bound = kernel.bind(kernel_args)
    expected = reference(*kernel_args)
    on_gpu = any(isinstance(a, torch.Tensor) and a.is_cuda for a in kernel_args)
    bench = do_bench if on_gpu else do_bench_generic
    functions: dict[str, Any] = {"eager reference": lambda: reference(*kernel_args)}
    accuracy: dict[str, float] = {}
    for run in runs:
        label = f"{run['algorithm']} seed {run['seed']}"
        config = helion.Config(**run["best_config"])
        fn = bound.compile_config(config)
        out = fn(*kernel_args)
        accuracy[label] = float((out.float() - expected.float()).abs().max())
        functions[label] = (lambda fn=fn: fn(*kernel_args))
    samples: dict[str, list[float]] = {label: [] for label in functions}
    graph_samples: dict[str, list[float]] = {label: [] for label in functions}
    graph_timer = None
    graph_errors: dict[str, str] = {}
    if on_gpu:
        from helion_hybrid.timing import GraphDeviceTimer

        graph_timer = GraphDeviceTimer()
    rng = random.Random(args.shuffle_seed)
    labels = list(functions)
    for label in labels:  # warm-up, graph capture
        bench(functions[label], warmup=5, rep=20, return_mode="median")
        if graph_timer is not None:
            try:
                graph_timer.measure(label, functions[label])
            except Exception as error:  # a launcher CUDA graphs cannot capture
                graph_errors[label] = f"{type(error).__name__}: {error}"
    for _ in range(args.rounds):
        rng.shuffle(labels)
        for label in labels:
            samples[label].append(float(bench(functions[label], warmup=2, rep=args.round_ms, return_mode="median")))
            if graph_timer is not None and label not in graph_errors:
                graph_samples[label].append(graph_timer.measure(label, functions[label]))
    timings = {label: statistics.median(v) for label, v in samples.items()}
    graph_timings = {label: statistics.median(v) for label, v in graph_samples.items() if v}
    device = torch.cuda.get_device_name() if on_gpu else "cpu"
    Path(args.output).write_text(json.dumps({
        "device": device, "rounds": args.rounds, "round_ms": args.round_ms, "median_ms": timings,
        "graph_median_ms": graph_timings, "samples_ms": samples, "graph_samples_ms": graph_samples,
        "graph_errors": graph_errors, "max_abs_error_vs_reference": accuracy,
    }, indent=2))


def merge_retimes(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One re-timing summary from several independent processes: per config
    the median of the process medians, and the spread between processes."""
    merged: dict[str, Any] = {
        "device": parts[0]["device"], "processes": len(parts), "rounds": parts[0]["rounds"],
        "round_ms": parts[0]["round_ms"], "max_abs_error_vs_reference": parts[0]["max_abs_error_vs_reference"],
        "per_process": parts,
    }
    for key in ("median_ms", "graph_median_ms"):
        labels = sorted({label for part in parts for label in part.get(key, {})})
        merged[key] = {label: statistics.median(p[key][label] for p in parts if label in p.get(key, {}))
                       for label in labels}
        merged[key.replace("median", "spread")] = {
            label: [min(p[key][label] for p in parts if label in p.get(key, {})),
                    max(p[key][label] for p in parts if label in p.get(key, {}))]
            for label in labels
        }
    return merged


# ----------------------------------------------------------------------------- report
def report(out_dir: Path, workload: str) -> dict[str, Any]:
    """Aggregate runs + re-timing into results.json, table.md, convergence.png."""
    runs = [json.loads(p.read_text()) for p in sorted((out_dir / "runs").glob("*.json"))]
    retimed = json.loads((out_dir / "retime.json").read_text())
    median_ms = retimed["median_ms"]
    graph_ms = retimed.get("graph_median_ms", {})
    rows: dict[str, dict[str, Any]] = {}
    for run in runs:
        label = f"{run['algorithm']} seed {run['seed']}"
        run["retimed_best_ms"] = median_ms.get(label)
        run["retimed_device_ms"] = graph_ms.get(label)
        rows.setdefault(run["algorithm"], {"runs": []})["runs"].append(run)
    best_any = min(v for k, v in median_ms.items() if k != "eager reference")
    graph_runs = [v for k, v in graph_ms.items() if k != "eager reference"]
    best_any_device = min(graph_runs) if graph_runs else None
    for algorithm, row in rows.items():
        walls = [r["wall_s"] for r in row["runs"]]
        times = [r["retimed_best_ms"] for r in row["runs"] if r["retimed_best_ms"] is not None]
        row["median_wall_s"] = statistics.median(walls)
        row["median_best_ms"] = statistics.median(times) if times else None
        row["best_ms"] = min(times) if times else None
        device_times = [r["retimed_device_ms"] for r in row["runs"] if r["retimed_device_ms"] is not None]
        row["median_device_ms"] = statistics.median(device_times) if device_times else None
        row["median_configs_timed"] = statistics.median(r["configs_timed"] for r in row["runs"])
        row["seeds"] = [r["seed"] for r in row["runs"]]
    summary: dict[str, Any] = {
        "workload": workload,
        "device": retimed["device"],
        "eager_reference_ms": median_ms.get("eager reference"),
        "best_found_ms": best_any,
        "best_found_device_ms": best_any_device,
        "retime_processes": retimed.get("processes", 1),
        "retime_max_spread": max(
            (hi / lo - 1 for label, (lo, hi) in retimed.get("spread_ms", {}).items()), default=None
        ),
        "algorithms": {},
    }
    ps, rs = rows.get("PatternSearch"), rows.get("RandomSearch")
    lf = rows.get("LFBOTreeSearch")
    for algorithm, row in rows.items():
        entry = {k: v for k, v in row.items() if k != "runs"}
        entry["quality_gap_vs_best_found"] = row["median_best_ms"] / best_any - 1 if row["median_best_ms"] else None
        entry["device_gap_vs_best_found"] = (
            row["median_device_ms"] / best_any_device - 1 if row["median_device_ms"] and best_any_device else None
        )
        if ps:
            entry["wall_ratio_vs_PatternSearch"] = row["median_wall_s"] / ps["median_wall_s"]
        if rs:
            entry["wall_ratio_vs_RandomSearch"] = row["median_wall_s"] / rs["median_wall_s"]
        if lf:
            entry["wall_ratio_vs_LFBOTreeSearch"] = row["median_wall_s"] / lf["median_wall_s"]
        summary["algorithms"][algorithm] = entry
    summary["runs"] = runs
    summary["retime"] = retimed
    (out_dir / "results.json").write_text(json.dumps(_jsonable(summary), indent=2))
    (out_dir / "table.md").write_text(markdown_table(summary))
    plot_convergence(out_dir, summary)
    return summary


def markdown_table(summary: dict[str, Any]) -> str:
    order = [a for a in ALGORITHMS if a in summary["algorithms"]]
    ref = summary["eager_reference_ms"]
    processes = summary.get("retime_processes", 1)
    spread = summary.get("retime_max_spread")
    has_device_time = any(e.get("median_device_ms") is not None for e in summary["algorithms"].values())
    device_note = (" Device time: CUDA graph of (L2 flush, kernel) minus a graph of the flushes, no launch overhead."
                   if has_device_time else " No device time here (it needs CUDA graphs).")
    lines = [
        f"Workload `{summary['workload']}` on {summary['device']}. Best kernel times re-timed side by side "
        f"(Triton do_bench, median of interleaved rounds, in {processes} separate process(es), median of the "
        f"process medians); eager PyTorch reference {ref:.4f} ms.{device_note} "
        "Wall time and kernel times are medians over seeds."
        + (f" One config's do_bench median differed by up to {100 * spread:.1f}% between re-timing processes."
           if spread is not None and processes > 1 else ""),
        "",
        "| Algorithm | seeds | wall time (s) | configs tried | best kernel (ms) | device time (ms) | "
        "speed-up vs PatternSearch | speed-up vs RandomSearch | speed-up vs LFBOTreeSearch | "
        "quality gap vs best found | device-time gap |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for a in order:
        e = summary["algorithms"][a]

        def speedup(key: str) -> str:
            return f"{1 / e[key]:.2f}x" if key in e and e[key] else "-"

        def gap(key: str) -> str:
            return f"{100 * e[key]:+.1f}%" if e.get(key) is not None else "-"

        device = f"{e['median_device_ms']:.4f}" if e.get("median_device_ms") else "-"
        lines.append(
            f"| {a} | {len(e['seeds'])} | {e['median_wall_s']:.1f} | {e['median_configs_timed']:.0f} | "
            f"{e['median_best_ms']:.4f} | {device} | {speedup('wall_ratio_vs_PatternSearch')} | "
            f"{speedup('wall_ratio_vs_RandomSearch')} | {speedup('wall_ratio_vs_LFBOTreeSearch')} | "
            f"{gap('quality_gap_vs_best_found')} | {gap('device_gap_vs_best_found')} |"
        )
    return "\n".join(lines) + "\n"


def plot_convergence(out_dir: Path, summary: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    colours = dict(zip(ALGORITHMS, ("tab:blue", "tab:gray", "tab:green", "tab:orange", "tab:red")))
    for run in summary["runs"]:
        trace = out_dir / "runs" / f"{run['algorithm']}_seed{run['seed']}.jsonl"
        points = [json.loads(line) for line in trace.read_text().splitlines()]
        xs = [p["t"] for p in points if p.get("best_so_far_ms") is not None and p["t"] > 0]
        ys = [p["best_so_far_ms"] for p in points if p.get("best_so_far_ms") is not None and p["t"] > 0]
        if xs:
            ax.step(xs + [run["wall_s"]], ys + [ys[-1]], where="post", color=colours.get(run["algorithm"]),
                    alpha=0.8, label=f"{run['algorithm']} s{run['seed']}")
    if summary["eager_reference_ms"]:
        ax.axhline(summary["eager_reference_ms"], color="black", linestyle=":", label="eager reference (re-timed)")
    # the first configs are often 10x off; zoom on where the searches compete
    floor = min(
        (p for run in summary["runs"] for p in [run.get("search_best_ms")] if p is not None),
        default=None,
    )
    if floor:
        ax.set_ylim(0.95 * floor, 2.0 * floor)
    ax.set_xscale("log")
    ax.set_xlabel("elapsed wall time (s, log)")
    ax.set_ylabel("best kernel time so far (ms, as timed during the search)")
    ax.set_title(f"{summary['workload']} on {summary['device']}")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out_dir / "convergence.png", dpi=120)


# ----------------------------------------------------------------------------- orchestration
def gpu_name() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            name = torch.cuda.get_device_name().lower()
            for tag in ("h100", "h200", "a100", "b200"):
                if tag in name:
                    return tag
            return name.replace(" ", "_")
    except ImportError:
        pass
    return "cpu"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    one = sub.add_parser("run-one", help="(internal) run one search in this process")
    one.add_argument("--workload", required=True)
    one.add_argument("--algorithm", required=True)
    one.add_argument("--seed", type=int, required=True)
    one.add_argument("--effort", default="full")
    one.add_argument("--result", required=True)
    one.add_argument("--trace", required=True)
    one.add_argument("--post-check", type=int, default=0,
                     help="diagnostic: re-time this many best configs in the search process afterwards")
    one.add_argument("--clock-trace", action="store_true")
    one.add_argument("--core-threads", type=int, default=0)
    one.add_argument("--search-option", action="append", default=[])
    rt = sub.add_parser("retime", help="(internal) re-time best configs side by side")
    rt.add_argument("--workload", required=True)
    rt.add_argument("--runs", nargs="+", required=True)
    rt.add_argument("--output", required=True)
    rt.add_argument("--rounds", type=int, default=40)
    rt.add_argument("--round-ms", type=int, default=25)
    rt.add_argument("--shuffle-seed", type=int, default=0)

    from workloads import WORKLOADS

    parser.add_argument("--workload", default=None, choices=sorted(WORKLOADS),
                        help="kernel and shape to tune (default: matmul_1024_fp16 on a GPU, add_pallas without)")
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS), choices=ALGORITHMS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--effort", default=None, choices=("quick", "full"),
                        help="autotune effort (default: full on a GPU, quick on the CPU)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="results root")
    parser.add_argument("--gpu", default=None, help="results folder name for the device (default: detected)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse stored runs (anchors) instead of re-running them; always re-times them")
    parser.add_argument("--skip-retime", action="store_true", help="only run searches (e.g. long anchors)")
    parser.add_argument("--post-check", type=int, default=0,
                        help="diagnostic: after each search, re-time its N best configs in the search's process "
                             "(HybridSearch / MFBO only), stored as post_check in the run's JSON")
    parser.add_argument("--clock-trace", action="store_true",
                        help="diagnostic: after every timing burst of HybridSearch / MFBO, record the GPU's clocks, "
                             "power and temperature (NVML), the GPU time of the burst's L2 flush and launch "
                             "cover, and a 10-call timing of the eager reference; stored as clock_trace in "
                             "the run's JSON")
    parser.add_argument("--search-option", action="append", default=[], metavar="NAME=VALUE",
                        help="constructor keyword for the searches (JSON value), e.g. shootout_candidates=1; "
                             "repeatable; recorded in each run's kwargs")
    parser.add_argument("--core-threads", type=int, default=0,
                        help="threads for helion_hybrid's C++ core in the searches (default: its own default)")
    parser.add_argument("--report-only", action="store_true",
                        help="rebuild results.json, table.md and the plot from stored runs and re-timing")
    parser.add_argument("--rounds", type=int, default=40, help="interleaved re-timing rounds per process")
    parser.add_argument("--retime-processes", type=int, default=None,
                        help="independent re-timing processes, their medians combined and the spread reported "
                             "(default: 3 on a GPU, 1 on the CPU)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed per search")
    args = parser.parse_args()
    if args.command == "run-one":
        return run_one(args)
    if args.command == "retime":
        return retime(args)

    device = args.gpu or gpu_name()
    workload = args.workload or ("matmul_1024_fp16" if device != "cpu" else "add_pallas")
    if WORKLOADS[workload].needs_gpu and device == "cpu":
        parser.error(f"workload {workload} needs a GPU; without one use add_pallas or matmul_pallas")
    effort = args.effort or ("full" if device != "cpu" else "quick")
    retime_processes = args.retime_processes if args.retime_processes is not None else (3 if device != "cpu" else 1)
    if retime_processes < 1:
        parser.error("--retime-processes must be >= 1")
    out_dir = args.out / device / workload
    if args.report_only:
        report(out_dir, workload)
        print((out_dir / "table.md").read_text())
        return
    (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    for algorithm in args.algorithms:
        for seed in args.seeds:
            stem = out_dir / "runs" / f"{algorithm}_seed{seed}"
            if args.reuse and stem.with_suffix(".json").exists():
                print(f"[reuse] {stem.name}", flush=True)
                continue
            print(f"[run] {algorithm} seed {seed} on {workload} ({effort} effort) ...", flush=True)
            started = time.perf_counter()
            child = subprocess.run(
                [sys.executable, __file__, "run-one", "--workload", workload, "--algorithm", algorithm,
                 "--seed", str(seed), "--effort", effort, "--result", str(stem.with_suffix(".json")),
                 "--trace", str(stem.with_suffix(".jsonl")), "--post-check", str(args.post_check),
                 "--core-threads", str(args.core_threads), *(["--clock-trace"] if args.clock_trace else []),
                 *(f"--search-option={option}" for option in args.search_option)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=args.timeout,
            )
            (stem.with_suffix(".log")).write_text(child.stdout[-200_000:])
            if child.returncode != 0:
                print(child.stdout[-3000:])
                raise SystemExit(f"{algorithm} seed {seed} failed (exit {child.returncode}); log in {stem}.log")
            result = json.loads(stem.with_suffix(".json").read_text())
            print(f"      done in {time.perf_counter() - started:.0f}s: search wall {result['wall_s']:.1f}s, "
                  f"{result['configs_timed']} configs timed, search best {result['search_best_ms']:.4f} ms", flush=True)
    if args.skip_retime:
        return
    run_files = sorted(str(p) for p in (out_dir / "runs").glob("*.json"))
    parts = []
    for index in range(retime_processes):
        print(f"[retime {index + 1}/{retime_processes}] {len(run_files)} best configs + eager reference, "
              f"{args.rounds} interleaved rounds ...", flush=True)
        part = out_dir / f"retime.process{index}.json"
        subprocess.run([sys.executable, __file__, "retime", "--workload", workload, "--runs", *run_files,
                        "--output", str(part), "--rounds", str(args.rounds), "--shuffle-seed", str(index)],
                       check=True)
        parts.append(json.loads(part.read_text()))
        part.unlink()
    (out_dir / "retime.json").write_text(json.dumps(merge_retimes(parts), indent=1))
    summary = report(out_dir, workload)
    print()
    print((out_dir / "table.md").read_text())
    print(f"results in {out_dir}/ (results.json, table.md, convergence.png, runs/)")
    del summary


if __name__ == "__main__":
    main()
