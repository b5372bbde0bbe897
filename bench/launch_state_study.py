"""Does a process's CUDA history change event timings? Timings before and after.

A HybridSearch trace on the H100 (clock trace, bench/results/h100/
timing_study.md section 5) showed event timings of the same configs reading
about 2 us lower during the exploration phase than later, at the same SM clock.
The later phase is the first to use CUDA graphs. This times the same compiled
configs in one fresh process in stages, each stage the same interleaved rounds:

1. ``fresh``: nothing but plain launches so far;
2. ``after_side_stream``: after work ran on a second stream (what graph
   capture needs first);
3. ``after_graph``: after one CUDA graph was captured and replayed;
4. device time of every config by CUDA graph, for reference.

Usage (on a GPU machine)::

    python bench/launch_state_study.py --runs bench/results/h100/matmul_1024_fp16/runs/*.json --out launch.json
"""

from __future__ import annotations

import json
import random
import statistics
import sys
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from timing_study import compiled_candidates, study_parser  # noqa: E402

from helion_hybrid.timing import GraphDeviceTimer, _event_samples  # noqa: E402


def _spearman(xs: list[float], ys: list[float]) -> float:
    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=values.__getitem__)
        out = [0.0] * len(values)
        for rank, index in enumerate(order):
            out[index] = float(rank)
        return out

    rx, ry = ranks(xs), ranks(ys)
    mx, my = statistics.mean(rx), statistics.mean(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    var = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return cov / var if var else float("nan")


def main() -> None:
    args = study_parser(__doc__.split("\n\n")[0], top=3, rounds=8).parse_args()
    functions, _bound = compiled_candidates(args.workload, args.runs, args.top)
    import torch
    from triton.testing import do_bench

    for call in functions.values():
        call()
    torch.cuda.synchronize()

    methods: dict[str, Callable[[Callable[[], object]], float]] = {
        "burst5": lambda call: (call(), torch.cuda.synchronize(), statistics.median(_event_samples(call, 5)))[-1],
        "events50": lambda call: statistics.median(_event_samples(call, 50)),
        "do_bench": lambda call: float(do_bench(call, warmup=2, rep=25, return_mode="median")),
    }
    rng = random.Random(0)

    def stage() -> dict[str, dict[str, float]]:
        samples: dict[str, dict[str, list[float]]] = {m: {label: [] for label in functions} for m in methods}
        labels = list(functions)
        for _ in range(args.rounds):
            rng.shuffle(labels)
            for label in labels:
                for method, measure in methods.items():
                    samples[method][label].append(measure(functions[label]) * 1000.0)
        return {m: {label: statistics.median(v) for label, v in by.items()} for m, by in samples.items()}

    stages: dict[str, Any] = {}
    stages["fresh"] = stage()
    print("stage fresh done", flush=True)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        functions["eager reference"]()
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    stages["after_side_stream"] = stage()
    print("stage after_side_stream done", flush=True)
    timer = GraphDeviceTimer()
    timer.measure("eager reference", functions["eager reference"])
    stages["after_graph"] = stage()
    print("stage after_graph done", flush=True)
    device = {label: timer.measure(label, call) * 1000.0 for label, call in functions.items()}

    labels = list(functions)
    correlation = {
        name: {m: _spearman([by[m][label] for label in labels], [device[label] for label in labels]) for m in methods}
        for name, by in stages.items()
    }
    args.out.write_text(json.dumps({"device": torch.cuda.get_device_name(), "rounds": args.rounds, "stages": stages,
                                    "device_us": device, "spearman_vs_device_time": correlation}, indent=1))
    width = max(len(label) for label in labels)
    header = " ".join(f"{s[:11]}:{m:<8}" for s in stages for m in methods)
    print(f"{'config (us)':<{width}} {header} {'device':>8}")
    for label in sorted(labels, key=device.__getitem__):
        cells = " ".join(f"{stages[s][m][label]:>20.2f}" for s in stages for m in methods)
        print(f"{label:<{width}} {cells} {device[label]:>8.2f}")
    print("Spearman rank correlation with device time:", json.dumps(correlation))


if __name__ == "__main__":
    main()
