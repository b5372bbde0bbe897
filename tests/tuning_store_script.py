"""Autotune the Pallas ``add`` kernel (interpret mode, CPU) through
HELION_AUTOTUNER, then print one JSON line: what the search did and the
identity the tuning store gives this kernel and another one.

Usage: python tuning_store_script.py
The caller sets HELION_AUTOTUNER, HELION_HYBRID_TUNING_STORE and the other
HELION_* variables.
"""

from __future__ import annotations

import dataclasses
import json

import torch

import helion_hybrid
from helion_hybrid.hybrid_search import HybridSearch
from helion_hybrid.kernels import add, matmul  # after HELION_BACKEND is set by the caller
from helion_hybrid.tuning_store import context_of_search


def main() -> None:
    torch.manual_seed(0)
    args = (torch.randn(32, 32), torch.randn(32, 32))
    config = add.autotune(args)
    search = helion_hybrid.last_search()
    chosen = search.observations[config]
    matmul_args = (torch.randn(64, 64), torch.randn(64, 64))
    other = context_of_search(HybridSearch(matmul.bind(matmul_args), matmul_args))
    result = {
        "config": json.loads(config.to_json()),
        "chosen_status": chosen.status,
        "observations": len(search.observations),
        "statuses": [o.status for o in sorted(search.observations.values(), key=lambda o: o.index)],
        "counters": search.counters_dict(),
        "seed": search.seed,
        "context": dataclasses.asdict(context_of_search(search)),
        "other_fingerprint": other.kernel.fingerprint,
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
