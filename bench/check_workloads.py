#!/usr/bin/env python3
"""Check each workload before tuning it: its default config compiles, runs
and matches the eager reference; print both times (Triton do_bench) and the
size of its config space.

Example (on a GPU):  python bench/check_workloads.py --suite
"""

from __future__ import annotations

import argparse
import json
import time

from helion_hybrid.workloads import SUITE, WORKLOADS


def check(name: str) -> dict[str, object]:
    """Default config against the reference; an error is reported, not raised."""
    start = time.perf_counter()
    kernel, args, reference = WORKLOADS[name].make()
    from helion.autotuner.benchmarking import do_bench

    from helion_hybrid.helion_space import HelionConfigSpace

    bound = kernel.bind(args)
    gen = bound.config_spec.create_config_generation(overrides=bound.settings.autotune_config_overrides or None)
    row: dict[str, object] = {
        "workload": name,
        "flat_slots": len(gen.flat_spec),
        "log10_configs": round(HelionConfigSpace(gen).space.log10_size, 1),
    }
    try:
        fn = bound.compile_config(bound.config_spec.default_config())
        expected, out = reference(*args), fn(*args)
        ref = expected.double()
        row["relative_error"] = float((out.double() - ref).norm() / ref.norm())
        row["default_ms"] = do_bench(lambda: fn(*args), return_mode="median")
        row["eager_ms"] = do_bench(lambda: reference(*args), return_mode="median")
    except Exception as error:  # reported: the check is what this script is for
        row["error"] = f"{type(error).__name__}: {error}"[:500]
    row["seconds"] = round(time.perf_counter() - start, 1)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workloads", nargs="*", default=None)
    parser.add_argument("--suite", action="store_true", help="every GPU suite workload")
    args = parser.parse_args()
    names = list(SUITE) if args.suite or not args.workloads else args.workloads
    for name in names:
        print(json.dumps(check(name)), flush=True)


if __name__ == "__main__":
    main()
