"""Why do timings taken during a search read low? GPU clocks under two loads.

A search times each config in a short burst after the GPU has idled while
configs compile; a re-timing afterwards keeps the GPU busy for seconds. This
times the same compiled configs both ways, interleaved, with the timers the
search uses (helion_hybrid's event timer and CUDA-graph device time), and
reads the SM clock, power and temperature through NVML right before and
after each measurement. It runs every condition twice: with the CPU idle and
with all but two cores spinning, the way parallel compiles load it.

Conditions per config and round:

* ``burst_after_idle``: sleep ``--idle-s``, one warm call, 5 event-timed
  calls (exactly a search's first timing);
* ``events_sustained``: ``--load-ms`` of untimed back-to-back calls, then 50
  event-timed calls (a re-timing);
* ``graph_after_idle`` / ``graph_sustained``: CUDA-graph device time after
  the same idle or load.

Usage (on a GPU machine)::

    python bench/clock_study.py --runs bench/results/h100/matmul_1024_fp16/runs/*.json --out clock.json
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gpu_probe import ClockReader  # noqa: E402
from timing_study import compiled_candidates, study_parser  # noqa: E402

from helion_hybrid.timing import GraphDeviceTimer, _event_samples  # noqa: E402


def _spin(stop: Any) -> None:
    while not stop.is_set():
        pass


def main() -> None:
    parser = study_parser(__doc__.split("\n\n")[0], top=2, rounds=5)
    parser.add_argument("--max-configs", type=int, default=7)
    parser.add_argument("--idle-s", type=float, default=0.3)
    parser.add_argument("--load-ms", type=float, default=300.0)
    args = parser.parse_args()
    functions, _bound = compiled_candidates(args.workload, args.runs, args.top, args.max_configs)
    import torch

    clocks = ClockReader()
    timer = GraphDeviceTimer()

    def idle() -> None:
        torch.cuda.synchronize()
        time.sleep(args.idle_s)

    def load(call: Callable[[], object]) -> None:
        until = time.perf_counter() + args.load_ms / 1000.0
        while time.perf_counter() < until:
            for _ in range(20):
                call()
            torch.cuda.synchronize()

    def burst_after_idle(label: str, call: Callable[[], object]) -> float:
        idle()
        call()
        torch.cuda.synchronize()
        return statistics.median(_event_samples(call, 5))

    def events_sustained(label: str, call: Callable[[], object]) -> float:
        load(call)
        return statistics.median(_event_samples(call, 50))

    def graph_after_idle(label: str, call: Callable[[], object]) -> float:
        idle()
        return timer.measure(label, call)

    def graph_sustained(label: str, call: Callable[[], object]) -> float:
        load(call)
        return timer.measure(label, call)

    conditions = {
        "burst_after_idle": burst_after_idle,
        "events_sustained": events_sustained,
        "graph_after_idle": graph_after_idle,
        "graph_sustained": graph_sustained,
    }
    for label, call in functions.items():  # warm-up and graph capture
        call()
        timer.measure(label, call)
    torch.cuda.synchronize()

    rows: list[dict[str, Any]] = []
    rng = random.Random(0)
    spinners = max(0, (os.cpu_count() or 2) - 2)
    for cpu_state in ("cpu idle", "cpu busy"):
        stop = multiprocessing.Event()
        workers = []
        if cpu_state == "cpu busy":
            workers = [multiprocessing.Process(target=_spin, args=(stop,), daemon=True) for _ in range(spinners)]
            for worker in workers:
                worker.start()
        try:
            for round_index in range(args.rounds):
                order = [(label, name) for label in functions for name in conditions]
                rng.shuffle(order)
                for label, name in order:
                    before = clocks.read() if name.endswith("idle") else None
                    ms = conditions[name](label, functions[label])
                    rows.append({"cpu": cpu_state, "round": round_index, "label": label, "condition": name,
                                 "ms": ms, "clock_before": before, "clock_after": clocks.read()})
                print(f"{cpu_state}: round {round_index + 1}/{args.rounds}", flush=True)
        finally:
            stop.set()
            for worker in workers:
                worker.join()

    def median_of(cpu: str, label: str, name: str, key: str | None = None) -> float | None:
        values = [r["ms"] if key is None else (r["clock_after"] or {}).get(key)
                  for r in rows if r["cpu"] == cpu and r["label"] == label and r["condition"] == name]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    summary = {
        cpu: {label: {name: {"us": 1000 * (median_of(cpu, label, name) or float("nan")),
                             "sm_mhz_after": median_of(cpu, label, name, "sm_mhz")}
                      for name in conditions} for label in functions}
        for cpu in ("cpu idle", "cpu busy")
    }
    idle_clocks = [r["clock_before"]["sm_mhz"] for r in rows if r["clock_before"] and r["clock_before"]["sm_mhz"]]
    args.out.write_text(json.dumps({
        "device": torch.cuda.get_device_name(), "nvml_error": clocks.error, "idle_s": args.idle_s,
        "load_ms": args.load_ms, "rounds": args.rounds, "spinners": spinners,
        "sm_mhz_after_idle_median": statistics.median(idle_clocks) if idle_clocks else None,
        "summary": summary, "rows": rows,
    }, indent=1))
    width = max(len(label) for label in functions)
    for cpu in ("cpu idle", "cpu busy"):
        print(f"\n{cpu}: median us (median SM MHz right after)")
        print(f"{'config':<{width}} " + " ".join(f"{n:>22}" for n in conditions))
        for label in functions:
            cells = []
            for name in conditions:
                cell = summary[cpu][label][name]
                mhz = cell["sm_mhz_after"]
                cells.append(f"{cell['us']:>12.2f} ({mhz if mhz is not None else '-':>5})")
            print(f"{label[:width]:<{width}} " + " ".join(f"{c:>22}" for c in cells))
    idle_mhz = statistics.median(idle_clocks) if idle_clocks else None
    print(f"SM clock right after an idle of {args.idle_s}s: median {idle_mhz} MHz")


if __name__ == "__main__":
    main()
