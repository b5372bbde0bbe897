"""How many untimed calls make a short timing agree with a long one?

On the H100, a HybridSearch clock trace showed the same eager matmul, timed
with 10 calls right after each of the search's timings, reading 8.7 us after
5- or 10-call timings and 9.5 us after 50-call timings
(bench/results/h100/timing_study.md section 6). So a 5-call (low-fidelity)
timing and a 50-call (high-fidelity) timing of one config are taken in
different GPU states. This times the same configs after an idle pause, with
helion_hybrid's event timer, as 5 timed calls after 0 / 5 / 25 / 50 untimed
warm-up calls and as 50 timed calls, interleaved over rounds. It then
prints the smallest warm-up count whose 5-call medians are within
``--tolerance`` of the 50-call medians (the line ``CHOICE n``; ``CHOICE 0``
when no warm-up is needed, ``CHOICE none`` when none of them is enough).

Usage (on a GPU machine)::

    python bench/warmup_study.py --runs bench/results/h100/matmul_1024_fp16/runs/*.json --out warmup.json
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from timing_study import compiled_candidates, study_parser  # noqa: E402

from helion_hybrid.timing import _LAUNCH_COVER_CYCLES, _event_samples  # noqa: E402


def main() -> None:
    parser = study_parser(__doc__.split("\n\n")[0], top=2, rounds=6)
    parser.add_argument("--max-configs", type=int, default=6)
    parser.add_argument("--idle-s", type=float, default=0.2, help="pause before every timing")
    parser.add_argument("--choices", type=int, nargs="+", default=[5, 25, 50], help="warm-up counts to try")
    parser.add_argument("--tolerance", type=float, default=0.02,
                        help="largest median relative gap to the 50-call timing that counts as agreeing")
    args = parser.parse_args()
    functions, _bound = compiled_candidates(args.workload, args.runs, args.top, args.max_configs)
    import torch
    from triton import runtime

    driver = runtime.driver.active
    cache = driver.get_empty_cache_for_benchmark()

    def timed_after_warmup(call: Callable[[], object], timed: int, warm: int) -> float:
        for _ in range(warm):  # the timer's own (flush, cover, call), untimed
            driver.clear_cache(cache)
            torch.cuda._sleep(_LAUNCH_COVER_CYCLES)
            call()
        return statistics.median(_event_samples(call, timed)) * 1000.0

    reference_condition = (50, 0)
    conditions = [(5, 0), *((5, w) for w in args.choices), reference_condition]
    for call in functions.values():
        call()
    torch.cuda.synchronize()
    samples: dict[str, dict[str, list[float]]] = {label: {} for label in functions}
    rng = random.Random(0)
    for round_index in range(args.rounds):
        order = [(label, c) for label in functions for c in conditions]
        rng.shuffle(order)
        for label, (timed, warm) in order:
            torch.cuda.synchronize()
            time.sleep(args.idle_s)
            value = timed_after_warmup(functions[label], timed, warm)
            samples[label].setdefault(f"{timed} timed after {warm} warm-up", []).append(value)
        print(f"round {round_index + 1}/{args.rounds}", flush=True)

    medians = {label: {name: statistics.median(v) for name, v in by.items()} for label, by in samples.items()}
    reference_name = f"{reference_condition[0]} timed after {reference_condition[1]} warm-up"
    gaps = {
        name: statistics.median(abs(medians[label][name] / medians[label][reference_name] - 1) for label in functions)
        for name in medians[next(iter(functions))]
    }
    choice: int | str = "none"
    for timed, warm in conditions[:-1]:
        if gaps[f"{timed} timed after {warm} warm-up"] < args.tolerance:
            choice = warm
            break
    args.out.write_text(json.dumps({"device": torch.cuda.get_device_name(), "idle_s": args.idle_s,
                                    "rounds": args.rounds, "medians_us": medians, "samples_us": samples,
                                    "median_abs_gap_to_50_timed": gaps, "choice": choice}, indent=1))
    names = list(gaps)
    width = max(len(label) for label in functions)
    print(f"{'config (us)':<{width}} " + " ".join(f"{n:>26}" for n in names))
    for label in functions:
        print(f"{label:<{width}} " + " ".join(f"{medians[label][n]:>26.2f}" for n in names))
    print(f"{'median |gap| to 50 timed':<{width}} " + " ".join(f"{100 * gaps[n]:>25.1f}%" for n in names))
    print(f"CHOICE {choice}")


if __name__ == "__main__":
    main()
