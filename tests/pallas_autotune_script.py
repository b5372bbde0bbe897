"""Autotune a real Helion kernel on the Pallas backend in interpret mode
(CPU) through HELION_AUTOTUNER, then print one JSON line with the result.

Usage: python pallas_autotune_script.py KERNEL   (add | matmul | softmax)
The caller sets HELION_AUTOTUNER and the other HELION_* variables, and may
set SEARCH_OPTIONS (a JSON object of the search's keyword options).
"""

from __future__ import annotations

import faulthandler
import json
import os
import sys
import time

import torch

import helion_hybrid
from helion_hybrid.kernels import add, matmul, softmax  # noqa: E402  (after HELION_BACKEND is set by the caller)

# A crash (e.g. an abort at interpreter exit, seen once in ~25 runs with
# codegen processes) then prints every thread's Python stack to stderr,
# which the caller's assertion shows.
faulthandler.enable(all_threads=True)


def _with_options(options: dict) -> None:
    """Register the searches again with these keyword options (HELION_AUTOTUNER
    constructs them without any)."""
    from helion.autotuner import search_algorithms

    for name in ("HybridSearch", "MultiFidelityBayesianSearch"):
        base = search_algorithms[name]

        def __init__(self, *args, _base=base, **kwargs):  # noqa: N807
            _base.__init__(self, *args, **{**options, **kwargs})

        search_algorithms[name] = type(name, (base,), {"__init__": __init__})


def main() -> None:
    if os.environ.get("SEARCH_OPTIONS"):
        _with_options(json.loads(os.environ["SEARCH_OPTIONS"]))
    name = sys.argv[1]
    torch.manual_seed(0)
    if name == "add":
        kernel, args, reference = add, (torch.randn(32, 32), torch.randn(32, 32)), lambda a, b: a + b
    elif name == "matmul":
        kernel, args, reference = matmul, (torch.randn(64, 64), torch.randn(64, 64)), lambda a, b: a @ b
    else:
        kernel, args, reference = softmax, (torch.randn(32, 64),), lambda a: torch.softmax(a, -1)
    start = time.perf_counter()
    out = kernel(*args)  # autotunes through HELION_AUTOTUNER
    wall = time.perf_counter() - start
    fresh = [torch.randn_like(a) for a in args]
    search = helion_hybrid.last_search()
    bound = kernel.bind(args)
    print(
        "RESULT "
        + json.dumps(
            {
                "search": type(search).__name__ if search is not None else None,
                "wall_s": wall,
                "max_error": float((out - reference(*args)).abs().max()),
                "max_error_fresh_inputs": float((kernel(*fresh) - reference(*fresh)).abs().max()),
                "config": repr(bound._config) if hasattr(bound, "_config") else None,
                "counters": search.counters_dict() if search is not None else None,
                "observations": len(search.observations) if search is not None else None,
                "log": [
                    {"status": o.status, "samples": len(o.samples), "phase": o.phase}
                    for o in (search.observations.values() if search is not None else [])
                ],
            }
        )
    )


if __name__ == "__main__":
    main()
