#!/usr/bin/env python3
"""Autotune one workload the way a user does -- ``kernel(*args)`` with the
search picked by ``HELION_AUTOTUNER`` -- and report wall time, correctness
against the eager reference and the search's counters.

Example:
    HELION_AUTOTUNER=HybridSearch HELION_SKIP_CACHE=1 python bench/autotune_once.py matmul_1024_fp16
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    from helion_hybrid.workloads import WORKLOADS

    workload = WORKLOADS[sys.argv[1] if len(sys.argv) > 1 else "matmul_1024_fp16"]
    kernel, args, reference = workload.make()
    import torch

    import helion_hybrid

    start = time.perf_counter()
    out = kernel(*args)
    wall = time.perf_counter() - start
    expected = reference(*args)
    error = float((out.float() - expected.float()).abs().max())
    search = helion_hybrid.last_search()
    print(
        "RESULT "
        + json.dumps(
            {
                "workload": workload.name,
                "search": type(search).__name__ if search is not None else None,
                "wall_s": wall,
                "max_abs_error": error,
                "allclose": bool(torch.allclose(out.float(), expected.float(), atol=1e-2, rtol=1e-2)),
                "counters": search.counters_dict() if search is not None else None,
                "phase_seconds": getattr(search, "phase_seconds", None),
            }
        )
    )


if __name__ == "__main__":
    main()
