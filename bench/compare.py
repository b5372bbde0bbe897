#!/usr/bin/env python3
"""Side-by-side comparison of autotuners on real Helion kernels.

For each workload, algorithm and seed, the search runs in a fresh
subprocess with the autotune cache off (searches are constructed directly on
the bound kernel, as the seed study did) and a time limit (a run cut off is
kept, marked unfinished, with the best config it had timed). Each run
records its wall time, configs timed by status and fidelity, time spent
compiling / timing / modelling where the search reports it, its best
config, and a trace of every evaluation (``runlog.py`` says what it holds).
Then every run's best config and the eager PyTorch reference are re-timed
side by side, interleaved over many rounds, in ``--retime-processes``
separate processes (medians combined, spread kept), with Triton's do_bench
and, on CUDA, device time from a CUDA graph, so quality ratios come from one
comparison rather than from different runs' noise. Stored anchor runs (long
searches run once and committed) are reused with ``--reuse``; their best
configs are always re-timed with the new ones.

Outputs under ``OUT/<gpu>/<workload>/``: ``results.json`` (every number),
``table.md``, ``convergence.png`` (best-so-far kernel time against elapsed
seconds), and ``runs/`` with one JSON, one JSONL trace and one log per run.
``suite.py`` builds the table across workloads.

Examples:
    # without a GPU: the five searches, 5 seeds each, replayed on the H100's recorded
    # seed matmul (--replay h100; about 3 minutes on 2 cores)
    python bench/compare.py
    # a real autotune of a tiny kernel on the CPU (Pallas interpret mode), about 10 minutes
    python bench/compare.py --workloads add_pallas
    # the headline workload on a GPU, HybridSearch with 3 seeds
    python bench/compare.py --workloads matmul_1024_fp16 --algorithms HybridSearch --seeds 0 1 2
    # LFBOTreeSearch anchors on the whole GPU suite, no re-timing yet
    python bench/compare.py --suite --algorithms LFBOTreeSearch --skip-retime --reuse
    # HybridSearch's synchronous mode replayed on an H200 dataset, stored under its own label
    python bench/compare.py --replay h200 --workloads swiglu_8192_bf16 --algorithms HybridSearch \
        --label HybridSearch-sync --search-option pipelined=false
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run_search  # noqa: E402
from runlog import compress_trace, run_label, trace_of  # noqa: E402

# The main job's five; the seed matmul also gets Helion's two other model-based searches.
ALGORITHMS = ("PatternSearch", "RandomSearch", "LFBOTreeSearch", "MultiFidelityBayesianSearch", "HybridSearch")
EXTRA_ALGORITHMS = ("LFBOPatternSearch", "DESurrogateHybrid")
COLOURS = dict(
    zip(
        ALGORITHMS + EXTRA_ALGORITHMS,
        ("tab:blue", "tab:gray", "tab:green", "tab:orange", "tab:red", "tab:olive", "tab:purple"),
    )
)
#: A search that has not finished after this long is stopped and recorded as unfinished.
DEFAULT_TIME_LIMIT_S = 1500.0


# ----------------------------------------------------------------------------- running searches
def run_child(
    command: list[str], log: Path, time_limit: float, env: dict[str, str] | None = None
) -> tuple[int | None, float]:
    """Run a child in its own process group (Helion's compile workers are
    its children); past ``time_limit`` seconds stop the whole group. Returns
    (exit code or None if stopped, seconds)."""
    started = time.perf_counter()
    with open(log, "w") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        try:
            return child.wait(timeout=time_limit), time.perf_counter() - started
        except subprocess.TimeoutExpired:
            for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 15)):
                try:
                    os.killpg(child.pid, sig)
                    child.wait(timeout=grace)
                    break
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    continue
            return None, time.perf_counter() - started


@contextlib.contextmanager
def cold_compile_caches() -> Iterator[dict[str, str]]:
    """An environment whose Triton cache is a new folder (removed
    afterwards): each run compiles its kernels as on a fresh machine. With
    the shared cache, a run found up to 66% of its configs compiled by the
    runs before it in the same lease (the H200 job of 2026-12-02,
    ``bench/results/h200/job-2026-12-02.log``), so its compile seconds
    depended on the order of the runs. The folder starts with the machine
    cache's compiled C helpers (Triton's driver utilities and kernel
    launchers, entries of ``.so`` files only), and new ones go back: a
    user's machine builds those once, not once per autotune (~2.6 s of an
    18 s H200 softmax run with an empty cache, ``timing.py:__init__`` in
    ``bench/results/h200/softmax_4096_fp16/runs/HybridSearch-sampled_seed2.samples.txt``).
    Helion's own cache and the tuning store stay where they are
    (``shape_sequence.py``'s runs read them)."""
    machine = Path(os.environ.get("TRITON_CACHE_DIR") or Path.home() / ".triton" / "cache")
    with tempfile.TemporaryDirectory(prefix="hh-triton-cache-") as root:
        _copy_c_helpers(machine, Path(root))
        try:
            yield dict(os.environ, TRITON_CACHE_DIR=root)
        finally:
            _copy_c_helpers(Path(root), machine)


def _copy_c_helpers(source: Path, target: Path) -> None:
    """Copy ``source``'s cache entries that hold only compiled C modules
    (``.so``) and that ``target`` lacks."""
    if not source.is_dir():
        return
    for entry in source.iterdir():
        files = list(entry.iterdir()) if entry.is_dir() else []
        if files and all(f.suffix == ".so" for f in files) and not (target / entry.name).exists():
            with contextlib.suppress(OSError):
                shutil.copytree(entry, target / entry.name)


def run_searches(args: argparse.Namespace, workload: str, effort: str, out_dir: Path) -> list[str]:
    """Each (algorithm, seed) of ``args`` on ``workload`` in a fresh process.
    Returns the runs that failed (their logs say why); the others go on."""
    failed = []
    (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    for algorithm in args.algorithms:
        label = args.label or algorithm
        for seed in args.seeds:
            stem = out_dir / "runs" / f"{label}_seed{seed}"
            if args.reuse and stem.with_suffix(".json").exists():
                print(f"[reuse] {workload} {stem.name}", flush=True)
                continue
            print(f"[run] {algorithm} seed {seed} on {workload} ({effort} effort) ...", flush=True)
            child_args = argparse.Namespace(
                workload=workload,
                algorithm=algorithm,
                seed=seed,
                effort=effort,
                label=label,
                result=str(stem.with_suffix(".json")),
                trace=str(stem.with_suffix(".jsonl")),
                profile=str(stem.with_suffix(".profile.txt")) if args.profile else "",
                keep_best="1" if args.keep_best else "",
            )
            command = [
                sys.executable,
                str(HERE / "compare.py"),
                "run-one",
                *(f"--{k}={v}" for k, v in vars(child_args).items()),
                *(f"--search-option={option}" for option in args.search_option),
            ]
            stem.with_suffix(".json").unlink(missing_ok=True)
            trace_of(stem).unlink(missing_ok=True)  # a stored compressed trace would outlive a rerun
            harness_started = time.perf_counter()
            with cold_compile_caches() as env:
                env[run_search.SPAWNED_VARIABLE] = repr(time.time())
                code, seconds = run_child(command, stem.with_suffix(".log"), args.time_limit, env)
            compress_trace(stem)
            caches_s = time.perf_counter() - harness_started - seconds
            failure = report_run(child_args, stem, code, seconds, args.time_limit, caches_s)
            if failure:
                failed.append(f"{workload} {algorithm} seed {seed}")
    return failed


def report_run(
    child_args: argparse.Namespace, stem: Path, code: int | None, seconds: float, limit: float, caches_s: float
) -> bool:
    """Print how a run ended (an unfinished one is stored with its best so
    far) and where its seconds outside the search went (the run's
    ``harness_s``; ``caches``: its Triton cache set up and removed, its
    trace compressed); whether it failed."""

    if code is None:
        result = run_search.unfinished_result(child_args, limit)
        stem.with_suffix(".json").write_text(json.dumps(result, indent=2))
        print(
            f"      stopped at the {limit:.0f}s limit: {result['configs_timed']} configs "
            f"timed, best so far {result['search_best_ms']} ms",
            flush=True,
        )
        return False
    if code != 0:
        print(stem.with_suffix(".log").read_text()[-3000:])
        print(f"      FAILED (exit {code}); log in {stem}.log", flush=True)
        return True
    result = json.loads(stem.with_suffix(".json").read_text())
    print(
        f"      done in {seconds:.0f}s: search wall {result['wall_s']:.1f}s, "
        f"{result['configs_timed']} configs timed, search best {result['search_best_ms']:.4f} ms",
        flush=True,
    )
    harness = result.get("harness_s")
    if harness:
        # the steps run_search.harness_seconds recorded, in order, but the search and their sum
        steps = ", ".join(f"{name} {s:.1f}" for name, s in harness.items() if name not in ("search", "to_result"))
        exit_s = seconds - harness["to_result"]
        print(f"      outside the search (s): {steps}, exit {exit_s:.1f}, caches {caches_s:.1f}", flush=True)
    return False


# ----------------------------------------------------------------------------- re-timing, one process
def retime(args: argparse.Namespace) -> None:
    """Re-time the best configs of the given runs and the eager reference,
    interleaved, in this one process."""
    from helion_hybrid.workloads import WORKLOADS

    kernel, kernel_args, reference = WORKLOADS[args.workload].make()
    import helion
    import torch
    from helion.autotuner.benchmarking import do_bench, do_bench_generic

    from helion_hybrid.timing import GraphDeviceTimer

    runs = [json.loads(Path(p).read_text()) for p in args.runs]
    bound = kernel.bind(kernel_args)
    expected = reference(*kernel_args)
    on_gpu = any(isinstance(a, torch.Tensor) and a.is_cuda for a in kernel_args)
    bench = do_bench if on_gpu else do_bench_generic
    functions: dict[str, Any] = {"eager reference": lambda: reference(*kernel_args)}
    accuracy: dict[str, float] = {}
    for run in runs:
        if not run.get("best_config"):
            continue  # an unfinished run that timed nothing
        label = f"{run_label(run)} seed {run['seed']}"
        fn = bound.compile_config(helion.Config(**run["best_config"]))
        out = fn(*kernel_args)
        accuracy[label] = float((out.float() - expected.float()).abs().max())
        functions[label] = lambda fn=fn: fn(*kernel_args)
    samples: dict[str, list[float]] = {label: [] for label in functions}
    graph_samples: dict[str, list[float]] = {label: [] for label in functions}
    graph_timer = GraphDeviceTimer() if on_gpu else None
    graph_errors: dict[str, str] = {}
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
    device = torch.cuda.get_device_name() if on_gpu else "cpu"
    Path(args.output).write_text(
        json.dumps(
            {
                "device": device,
                "rounds": args.rounds,
                "round_ms": args.round_ms,
                "median_ms": {label: statistics.median(v) for label, v in samples.items()},
                "graph_median_ms": {label: statistics.median(v) for label, v in graph_samples.items() if v},
                "samples_ms": samples,
                "graph_samples_ms": graph_samples,
                "graph_errors": graph_errors,
                "max_abs_error_vs_reference": accuracy,
            },
            indent=2,
        )
    )


def retime_all(out_dir: Path, workload: str, processes: int, rounds: int) -> None:
    """Every stored run's best config re-timed in ``processes`` processes."""
    run_files = sorted(str(p) for p in (out_dir / "runs").glob("*.json"))
    parts = []
    for index in range(processes):
        print(
            f"[retime {index + 1}/{processes}] {workload}: {len(run_files)} best configs + eager reference, "
            f"{rounds} interleaved rounds ...",
            flush=True,
        )
        part = out_dir / f"retime.process{index}.json"
        subprocess.run(
            [
                sys.executable,
                str(HERE / "compare.py"),
                "retime",
                "--workload",
                workload,
                "--runs",
                *run_files,
                "--output",
                str(part),
                "--rounds",
                str(rounds),
                "--shuffle-seed",
                str(index),
            ],
            check=True,
        )
        parts.append(json.loads(part.read_text()))
        part.unlink()
    (out_dir / "retime.json").write_text(json.dumps(merge_retimes(parts), indent=1))


def merge_retimes(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One re-timing summary from several independent processes: per config
    the median of the process medians, and the spread between processes."""
    merged: dict[str, Any] = {
        "device": parts[0]["device"],
        "processes": len(parts),
        "rounds": parts[0]["rounds"],
        "round_ms": parts[0]["round_ms"],
        "max_abs_error_vs_reference": parts[0]["max_abs_error_vs_reference"],
        "per_process": parts,
    }
    for key in ("median_ms", "graph_median_ms"):
        labels = sorted({label for part in parts for label in part.get(key, {})})
        values = {label: [p[key][label] for p in parts if label in p.get(key, {})] for label in labels}
        merged[key] = {label: statistics.median(v) for label, v in values.items()}
        merged[key.replace("median", "spread")] = {label: [min(v), max(v)] for label, v in values.items()}
    return merged


# ----------------------------------------------------------------------------- report
def _gap(value: float | None, best: float | None) -> float | None:
    return value / best - 1 if value is not None and best else None


def summarise(out_dir: Path, workload: str) -> dict[str, Any]:
    """Stored runs + re-timing of one workload, per algorithm."""
    runs = [json.loads(p.read_text()) for p in sorted((out_dir / "runs").glob("*.json"))]
    retimed = json.loads((out_dir / "retime.json").read_text())
    median_ms, graph_ms = retimed["median_ms"], retimed.get("graph_median_ms", {})
    rows: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        label = f"{run_label(run)} seed {run['seed']}"
        run["retimed_best_ms"] = median_ms.get(label)
        run["retimed_device_ms"] = graph_ms.get(label)
        rows.setdefault(run_label(run), []).append(run)
    best_any = min((v for k, v in median_ms.items() if k != "eager reference"), default=None)
    best_any_device = min((v for k, v in graph_ms.items() if k != "eager reference"), default=None)
    algorithms = {}
    for algorithm, algorithm_runs in rows.items():
        algorithms[algorithm] = _algorithm_row(algorithm_runs, best_any, best_any_device)
    for name in ("PatternSearch", "RandomSearch", "LFBOTreeSearch"):
        if name in algorithms:
            for entry in algorithms.values():
                entry[f"wall_ratio_vs_{name}"] = entry["median_wall_s"] / algorithms[name]["median_wall_s"]
    return {
        "workload": workload,
        "device": retimed["device"],
        "eager_reference_ms": median_ms.get("eager reference"),
        "eager_reference_device_ms": graph_ms.get("eager reference"),
        "best_found_ms": best_any,
        "best_found_device_ms": best_any_device,
        "retime_processes": retimed.get("processes", 1),
        "retime_max_spread": max((hi / lo - 1 for lo, hi in retimed.get("spread_ms", {}).values()), default=None),
        "algorithms": algorithms,
        "runs": runs,
        "retime": retimed,
    }


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _algorithm_row(runs: list[dict[str, Any]], best: float | None, best_device: float | None) -> dict[str, Any]:
    times = [r["retimed_best_ms"] for r in runs if r["retimed_best_ms"] is not None]
    device = [r["retimed_device_ms"] for r in runs if r["retimed_device_ms"] is not None]
    row = {
        "seeds": [r["seed"] for r in runs],
        "unfinished": sum(not r.get("finished", True) for r in runs),
        "median_wall_s": statistics.median(r["wall_s"] for r in runs),
        "median_best_ms": _median(times),
        "best_ms": min(times, default=None),
        "median_device_ms": _median(device),
        "median_configs_timed": statistics.median(r["configs_timed"] for r in runs),
    }
    row["quality_gap_vs_best_found"] = _gap(row["median_best_ms"], best)
    row["device_gap_vs_best_found"] = _gap(row["median_device_ms"], best_device)
    return row


def report(out_dir: Path, workload: str) -> dict[str, Any]:
    """results.json, table.md and convergence.png of one workload."""
    from runlog import jsonable

    summary = summarise(out_dir, workload)
    (out_dir / "results.json").write_text(json.dumps(jsonable(summary), indent=2))
    (out_dir / "table.md").write_text(markdown_table(summary))
    plot_convergence(out_dir, summary)
    return summary


def _ordered(algorithms: dict[str, Any]) -> list[str]:
    known = [a for a in ALGORITHMS + EXTRA_ALGORITHMS if a in algorithms]
    return known + sorted(set(algorithms) - set(known))


def markdown_table(summary: dict[str, Any]) -> str:
    ref = summary["eager_reference_ms"]
    eager = f"eager PyTorch reference {ref:.4f} ms" if ref is not None else "no eager reference timed"
    processes = summary.get("retime_processes", 1)
    spread = summary.get("retime_max_spread")
    has_device_time = any(e.get("median_device_ms") is not None for e in summary["algorithms"].values())
    device_note = (
        " Device time: CUDA graph of (L2 flush, kernel) minus a graph of the flushes, no launch overhead."
        if has_device_time
        else " No device time here (it needs CUDA graphs)."
    )
    lines = [
        f"Workload `{summary['workload']}` on {summary['device']}. Best kernel times re-timed side by side "
        f"(Triton do_bench, median of interleaved rounds, in {processes} separate process(es), median of the "
        f"process medians); {eager}.{device_note} "
        "Wall time and kernel times are medians over seeds; a run stopped at its time limit counts with "
        "that limit as its wall time and its best config so far."
        + (
            f" One config's do_bench median differed by up to {100 * spread:.1f}% between re-timing processes."
            if spread is not None and processes > 1
            else ""
        ),
        "",
        "| Algorithm | seeds | unfinished | wall time (s) | configs tried | best kernel (ms) | device time (ms) | "
        "speed-up vs PatternSearch | speed-up vs RandomSearch | speed-up vs LFBOTreeSearch | "
        "quality gap vs best found | device-time gap |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for a in _ordered(summary["algorithms"]):
        e = summary["algorithms"][a]

        def speedup(key: str) -> str:
            return f"{1 / e[key]:.2f}x" if e.get(key) else "-"

        def gap(key: str) -> str:
            return f"{100 * e[key]:+.1f}%" if e.get(key) is not None else "-"

        def ms(key: str) -> str:
            return f"{e[key]:.4f}" if e.get(key) is not None else "-"

        lines.append(
            f"| {a} | {len(e['seeds'])} | {e['unfinished']} | {e['median_wall_s']:.1f} | "
            f"{e['median_configs_timed']:.0f} | {ms('median_best_ms')} | {ms('median_device_ms')} | "
            f"{speedup('wall_ratio_vs_PatternSearch')} | {speedup('wall_ratio_vs_RandomSearch')} | "
            f"{speedup('wall_ratio_vs_LFBOTreeSearch')} | {gap('quality_gap_vs_best_found')} | "
            f"{gap('device_gap_vs_best_found')} |"
        )
    return "\n".join(lines) + "\n"


def plot_convergence(out_dir: Path, summary: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from runlog import read_trace

    fig, ax = plt.subplots(figsize=(8, 5))
    for run in summary["runs"]:
        trace = trace_of(out_dir / "runs" / f"{run_label(run)}_seed{run['seed']}")
        if not trace.exists():  # replayed runs keep no trace in the repository
            continue
        points = [
            p
            for p in read_trace(trace)
            if p.get("event") == "first_timing" and p.get("best_so_far_ms") is not None and p["t"] > 0
        ]
        xs, ys = [p["t"] for p in points], [p["best_so_far_ms"] for p in points]
        if xs:
            ax.step(
                xs + [run["wall_s"]],
                ys + [ys[-1]],
                where="post",
                color=COLOURS.get(run["algorithm"]),
                alpha=0.8,
                label=f"{run_label(run)} s{run['seed']}",
            )
    if summary["eager_reference_ms"]:
        ax.axhline(summary["eager_reference_ms"], color="black", linestyle=":", label="eager reference (re-timed)")
    # the first configs are often 10x off; zoom on where the searches compete
    floor = min((r["search_best_ms"] for r in summary["runs"] if r.get("search_best_ms")), default=None)
    if floor:
        ax.set_ylim(0.95 * floor, 2.0 * floor)
    ax.set_xscale("log")
    ax.set_xlabel("elapsed wall time (s, log)")
    ax.set_ylabel("best kernel time so far (ms, as timed during the search)")
    ax.set_title(f"{summary['workload']} on {summary['device']}")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out_dir / "convergence.png", dpi=120)
    plt.close(fig)


# ----------------------------------------------------------------------------- command line
def gpu_name() -> str:
    """Short name of this machine's GPU (results folder), or ``cpu``."""
    try:
        import torch
    except ImportError:
        return "cpu"
    if not torch.cuda.is_available():
        return "cpu"
    name = torch.cuda.get_device_name().lower()
    return next((tag for tag in ("h100", "h200", "a100", "b200") if tag in name), name.replace(" ", "_"))


def _internal_parsers(sub: Any) -> None:
    one = sub.add_parser("run-one", help="(internal) run one search in this process")
    for name in ("workload", "algorithm", "effort", "label", "result", "trace"):
        one.add_argument(f"--{name}", required=True)
    one.add_argument("--seed", type=int, required=True)
    one.add_argument("--search-option", action="append", default=[])
    one.add_argument("--profile", default="", help="write a cProfile summary of the search here")
    one.add_argument("--keep_best", default="", help="non-empty: read Helion's cache and put the best config in it")
    rt = sub.add_parser("retime", help="(internal) re-time best configs side by side")
    rt.add_argument("--workload", required=True)
    rt.add_argument("--runs", nargs="+", required=True)
    rt.add_argument("--output", required=True)
    rt.add_argument("--rounds", type=int, default=40)
    rt.add_argument("--round-ms", type=int, default=25)
    rt.add_argument("--shuffle-seed", type=int, default=0)


def parse_args() -> argparse.Namespace:
    from helion_hybrid.workloads import SUITE, WORKLOADS

    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _internal_parsers(parser.add_subparsers(dest="command"))
    parser.add_argument(
        "--workloads",
        nargs="+",
        default=None,
        choices=sorted(WORKLOADS),
        metavar="WORKLOAD",
        help=f"kernels and shapes to tune (default: matmul_1024_fp16 on a GPU; without one, the replay of the "
        f"H100's seed matmul, --replay h100); one of {', '.join(sorted(WORKLOADS))} (add_pallas and "
        "matmul_pallas run for real on the CPU, on Helion's Pallas interpreter)",
    )
    parser.add_argument("--suite", action="store_true", help=f"every GPU suite workload: {', '.join(SUITE)}")
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS), choices=ALGORITHMS + EXTRA_ALGORITHMS)
    parser.add_argument(
        "--seeds", nargs="+", type=int, default=None, help="autotune seeds (default: 0; 0-4 with --replay)"
    )
    parser.add_argument(
        "--replay",
        default=None,
        metavar="GPU|DATASET",
        help="replay recorded GPU measurements instead of running kernels: a dataset "
        "(bench/data/<gpu>/<workload>.jsonl.gz) or a GPU name (h100: its seed matmul); "
        "runs on the CPU, see bench/replay_compare.py",
    )
    parser.add_argument("--jobs", type=int, default=2, help="replayed runs at once (--replay only)")
    parser.add_argument(
        "--effort",
        default=None,
        choices=("quick", "full"),
        help="autotune effort (default: full on a GPU, quick on the CPU)",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results", help="results root")
    parser.add_argument("--gpu", default=None, help="results folder name for the device (default: detected)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep stored runs (anchors) instead of re-running them; they are always re-timed",
    )
    parser.add_argument("--skip-retime", action="store_true", help="only run searches (e.g. long anchors)")
    parser.add_argument(
        "--search-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="constructor keyword for the searches (JSON value), e.g. shootout_candidates=1; "
        "repeatable; recorded in each run's kwargs",
    )
    parser.add_argument(
        "--label",
        default=None,
        help="store and report the runs under this name instead of the algorithm's (an ablation, "
        "e.g. --label HybridSearch-sync --search-option pipelined=false); one algorithm only",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile each search's main process (cProfile; compile workers not included) into "
        "runs/<label>_seed<N>.profile.txt; it slows the search, so give the runs a --label",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rebuild results.json, table.md and the plot from stored runs and re-timing",
    )
    parser.add_argument("--rounds", type=int, default=40, help="interleaved re-timing rounds per process")
    parser.add_argument(
        "--retime-processes",
        type=int,
        default=None,
        help="independent re-timing processes, their medians combined and the spread reported "
        "(default: 3 on a GPU, 1 on the CPU)",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=DEFAULT_TIME_LIMIT_S,
        help="seconds a search may run before it is stopped and recorded as unfinished "
        f"(default {DEFAULT_TIME_LIMIT_S:.0f})",
    )
    parser.set_defaults(keep_best=False)  # shape_sequence.py sets it: its runs read and fill Helion's cache
    args = parser.parse_args()
    if args.command is None:
        _check_args(parser, args)
    return args


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    from helion_hybrid.workloads import SUITE, WORKLOADS

    if args.replay is None and not args.workloads and not args.suite and not args.report_only and gpu_name() == "cpu":
        args.replay = "h100"  # without a GPU the main job replays the H100's recorded seed matmul
    if args.replay is not None:
        args.seeds = args.seeds or [0, 1, 2, 3, 4]
        if args.jobs < 1:
            parser.error("--jobs must be >= 1")
        return
    args.seeds = args.seeds or [0]
    args.device = args.gpu or gpu_name()
    on_cpu = args.device == "cpu"
    if args.suite and args.workloads:
        parser.error("give --suite or --workloads, not both")
    args.workloads = list(SUITE) if args.suite else args.workloads or ["add_pallas" if on_cpu else "matmul_1024_fp16"]
    needs_gpu = [w for w in args.workloads if WORKLOADS[w].needs_gpu]
    if needs_gpu and on_cpu:
        parser.error(f"{', '.join(needs_gpu)} need(s) a GPU; without one use add_pallas or matmul_pallas")
    args.effort = args.effort or ("quick" if on_cpu else "full")
    if args.retime_processes is None:
        args.retime_processes = 1 if on_cpu else 3
    if args.retime_processes < 1 or args.rounds < 1:
        parser.error("--retime-processes and --rounds must be >= 1")
    if not args.time_limit > 0:
        parser.error("--time-limit must be > 0")
    if args.profile and not args.label:
        parser.error("--profile slows the searches it profiles: store the runs under a --label")
    if args.label and len(args.algorithms) != 1:
        parser.error("--label names the runs of one algorithm")


def main() -> None:
    args = parse_args()
    if args.command == "run-one":
        run_search.run(args)
        # The result is written: skip the interpreter's teardown (torch, Helion's and Triton's
        # modules, the compile pool's children), seconds that no user of the tuned kernel waits for.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    if args.command == "retime":
        return retime(args)
    if args.replay is not None:
        import replay_compare

        return replay_compare.main(args)
    failed: list[str] = []
    for workload in args.workloads:
        out_dir = args.out / args.device / workload
        if not args.report_only:
            failed += run_searches(args, workload, args.effort, out_dir)
            if args.skip_retime:
                continue
            retime_all(out_dir, workload, args.retime_processes, args.rounds)
        report(out_dir, workload)
        print()
        print((out_dir / "table.md").read_text())
        print(f"results in {out_dir}/ (results.json, table.md, convergence.png, runs/)", flush=True)
    if failed:
        raise SystemExit(f"failed runs: {'; '.join(failed)}")


if __name__ == "__main__":
    main()
