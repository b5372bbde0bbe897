"""How should a ~10 us kernel be timed? Several timing methods side by side.

For the best configs of stored runs (and each HybridSearch run's top
candidates by its own in-search timing) plus the eager reference, this
measures, interleaved over rounds in one process:

* ``do_bench``: Triton's do_bench median over a short window (what the
  comparison's re-timing and Helion's own searches use);
* ``events``: one event pair per call after an L2 flush (no cover);
* ``events_sleep``: the same with a spin kernel queued after the flush, so
  the launch of the timed kernel is hidden (helion_hybrid's in-search timer);
* ``events_double_flush``: two L2 flushes instead of flush + spin (covers the
  launch the same way without an idle-looking GPU);
* ``graph``: CUDA graph of (flush, kernel) x K minus a graph of flushes only,
  divided by K: device time with no launch overhead at all;
* ``events_sleep_after_idle``: ``events_sleep`` with 5 calls after the GPU
  idled ``--idle-s`` seconds, the way a search times a config between
  compiles;
* ``host_us``: CPU microseconds per call (launch overhead).

Usage (on a GPU machine)::

    python bench/timing_study.py --workload matmul_1024_fp16 \
        --runs bench/results/h100/matmul_1024_fp16/runs/*.json --out study.json
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from helion_hybrid.timing import GraphDeviceTimer  # noqa: E402


def _candidates(run_files: list[str], top: int) -> dict[str, dict[str, Any]]:
    """Label -> config: each run's best, plus the ``top`` best first timings
    of HybridSearch runs (by the search's own timer)."""
    out: dict[str, dict[str, Any]] = {}
    for path in run_files:
        run = json.loads(Path(path).read_text())
        out[f"{run['algorithm']} seed {run['seed']} best"] = run["best_config"]
        if run["algorithm"] != "HybridSearch" or top <= 0:
            continue
        trace = Path(path).with_suffix(".jsonl")
        best: dict[str, tuple[float, dict[str, Any]]] = {}
        for line in trace.read_text().splitlines():
            event = json.loads(line)
            if event["event"] not in ("first_timing", "retime") or event.get("status") != "ok":
                continue
            key = json.dumps(event["config"], sort_keys=True)
            best[key] = (event["perf_ms"], event["config"])
        ranked = sorted(best.values(), key=lambda item: item[0])[:top]
        for rank, (ms, config) in enumerate(ranked):
            out[f"{run['algorithm']} seed {run['seed']} top{rank} ({ms * 1000:.2f}us in search)"] = config
    return out


def study_parser(description: str, *, top: int, rounds: int) -> argparse.ArgumentParser:
    """Arguments every timing study takes: the workload, stored run JSONs,
    how many in-search top configs to add, rounds and the output file."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--workload", default="matmul_1024_fp16")
    parser.add_argument("--runs", nargs="+", required=True)
    parser.add_argument("--top", type=int, default=top, help="HybridSearch in-search top configs to add per run")
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--out", type=Path, required=True)
    return parser


def compiled_candidates(workload_name: str, run_files: list[str], top: int,
                        limit: int | None = None) -> tuple[dict[str, Callable[[], object]], Any]:
    """Label -> zero-argument call for the eager reference and every
    candidate config (compiled with the workload's settings), at most
    ``limit`` in all; plus the bound kernel."""
    from workloads import WORKLOADS, apply_env

    workload = WORKLOADS[workload_name]
    apply_env(workload)
    import helion

    kernel, kernel_args, reference = workload.make()
    bound = kernel.bind(kernel_args)
    functions: dict[str, Callable[[], object]] = {"eager reference": lambda: reference(*kernel_args)}
    candidates = list(_candidates(run_files, top).items())
    for label, config in candidates[: None if limit is None else limit - 1]:
        fn = bound.compile_config(helion.Config(**config))
        functions[label] = lambda fn=fn: fn(*kernel_args)
    return functions, bound


def main() -> None:
    parser = study_parser(__doc__.split("\n\n")[0], top=4, rounds=15)
    parser.add_argument("--idle-s", type=float, default=0.5, help="idle seconds before each burst measurement")
    args = parser.parse_args()

    functions, _bound = compiled_candidates(args.workload, args.runs, args.top)
    import torch
    from triton import runtime
    from triton.testing import do_bench

    driver = runtime.driver.active
    cache = driver.get_empty_cache_for_benchmark()

    def flush() -> None:
        driver.clear_cache(cache)

    def events(call: Callable[[], object], cover: str, reps: int = 50) -> float:
        starts = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
        for start, end in zip(starts, ends):
            flush()
            if cover == "sleep":
                torch.cuda._sleep(200_000)
            elif cover == "flush":
                flush()
            start.record()
            call()
            end.record()
        torch.cuda.synchronize()
        return statistics.median(s.elapsed_time(e) for s, e in zip(starts, ends))

    timer = GraphDeviceTimer()

    def graph(label: str, call: Callable[[], object]) -> float:
        return timer.measure(label, call)

    def after_idle(call: Callable[[], object]) -> float:
        # A search times a config in a short burst after seconds of compiling.
        torch.cuda.synchronize()
        time.sleep(args.idle_s)
        return events(call, "sleep", reps=5)

    def host_us(call: Callable[[], object], calls: int = 200) -> float:
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(calls):
            call()
        elapsed = time.perf_counter() - start
        torch.cuda.synchronize()
        return elapsed / calls * 1e6

    methods: dict[str, Callable[[str, Callable[[], object]], float]] = {
        "do_bench": lambda label, call: float(do_bench(call, warmup=2, rep=25, return_mode="median")),
        "events": lambda label, call: events(call, "none"),
        "events_sleep": lambda label, call: events(call, "sleep"),
        "events_double_flush": lambda label, call: events(call, "flush"),
        "graph": graph,
        "events_sleep_after_idle": lambda label, call: after_idle(call),
        "host_us": lambda label, call: host_us(call),
    }
    samples: dict[str, dict[str, list[float]]] = {m: {label: [] for label in functions} for m in methods}
    graph_errors: dict[str, str] = {}
    for label, call in functions.items():  # warm-up, graph capture
        do_bench(call, warmup=5, rep=20)
        try:
            graph(label, call)
        except Exception as error:  # a launcher that cannot be captured
            graph_errors[label] = f"{type(error).__name__}: {error}"
    rng = random.Random(0)
    labels = list(functions)
    for round_index in range(args.rounds):
        rng.shuffle(labels)
        for label in labels:
            for method, measure in methods.items():
                if method == "graph" and label in graph_errors:
                    continue
                samples[method][label].append(measure(label, functions[label]))
        print(f"round {round_index + 1}/{args.rounds}", flush=True)
    medians = {m: {label: statistics.median(v) for label, v in by_label.items() if v} for m, by_label in samples.items()}
    args.out.write_text(json.dumps({
        "device": torch.cuda.get_device_name(), "rounds": args.rounds, "medians": medians,
        "samples": samples, "graph_errors": graph_errors,
    }, indent=1))
    width = max(len(label) for label in functions)
    print(f"{'config':<{width}} " + " ".join(f"{m:>19}" for m in methods))
    for label in sorted(functions, key=lambda label: medians["graph"].get(label, 1e9)):
        row = " ".join(
            f"{medians[m][label] * (1 if m == 'host_us' else 1000):>19.2f}" if label in medians[m] else f"{'-':>19}"
            for m in methods
        )
        print(f"{label:<{width}} {row}")
    print("(us; host_us: CPU us per call)")


if __name__ == "__main__":
    main()
