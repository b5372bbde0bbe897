"""Real Helion kernels used by the tests, bound to CPU tensors. The kernels
themselves live in bench/kernels.py (one definition for tests and benchmarks)."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import kernels  # noqa: E402


def bound_cpu_kernels() -> dict[str, object]:
    """Each kernel bound to CPU tensors (config spec and codegen work on CPU)."""
    torch.manual_seed(0)
    x16 = torch.randn(1024, 1024, dtype=torch.float16)
    q = torch.randn(2, 4, 256, 64, dtype=torch.float16)
    return {
        "matmul": kernels.matmul_seed.bind((x16, x16.clone())),
        "softmax": kernels.softmax.bind((torch.randn(1024, 1024),)),
        "sum": kernels.sum_rows.bind((torch.randn(1024, 1024),)),
        "attention": kernels.attention.bind((q, q.clone(), q.clone())),
    }
