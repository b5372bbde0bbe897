"""Autotune the Pallas ``matmul`` kernel (interpret mode, CPU) through
HELION_AUTOTUNER at two shapes, one after the other, then print one JSON
line: what the tuning store held and how the second search's warm start went.

Usage: python warm_start_script.py
The caller sets HELION_AUTOTUNER, HELION_HYBRID_TUNING_STORE and the other
HELION_* variables.
"""

from __future__ import annotations

import json

import torch

import helion_hybrid
from helion_hybrid.kernels import matmul  # after HELION_BACKEND is set by the caller
from helion_hybrid.tuning_store import TuningStore, context_of_search


def main() -> None:
    torch.manual_seed(0)
    first = helion_hybrid.last_search
    matmul.autotune((torch.randn(64, 64), torch.randn(64, 64)))
    earlier = first()
    args = (torch.randn(128, 128), torch.randn(128, 128))
    config = matmul.autotune(args)
    later = helion_hybrid.last_search()
    out = matmul.bind(args).compile_config(config)(*args)
    context = context_of_search(later)
    result = {
        "earlier": {"observations": len(earlier.observations), "warm_start": earlier.counters_dict()["warm_start"]},
        "later": {"observations": len(later.observations), "warm_start": later.counters_dict()["warm_start"]},
        "stored": [t.source for t in TuningStore.from_environment().tunings_for(context)],
        "max_error": float((out - args[0] @ args[1]).abs().max()),
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
