"""Workloads the comparison harness can tune, by name.

A workload is a real Helion kernel, its inputs and an eager PyTorch
reference. GPU workloads use the default (Triton) backend; ``*_pallas``
workloads run on Helion's Pallas backend in interpret mode, so the harness
does something real on a machine without a GPU.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable

import torch


@dataclasses.dataclass(frozen=True)
class Workload:
    """A kernel to tune. ``make()`` returns (kernel, args, reference)."""

    name: str
    description: str
    make: Callable[[], tuple[Any, tuple[Any, ...], Callable[..., Any]]]
    needs_gpu: bool
    env: dict[str, str] = dataclasses.field(default_factory=dict)


def _seed_matmul():
    torch.manual_seed(0)
    x = torch.randn(1024, 1024, dtype=torch.float16, device="cuda")
    y = torch.randn(1024, 1024, dtype=torch.float16, device="cuda")
    import kernels

    return kernels.matmul_seed, (x, y), torch.matmul


def _matmul_4096_bf16():
    torch.manual_seed(0)
    x = torch.randn(4096, 4096, dtype=torch.bfloat16, device="cuda")
    y = torch.randn(4096, 4096, dtype=torch.bfloat16, device="cuda")
    import kernels

    return kernels.matmul, (x, y), torch.matmul


def _softmax_gpu():
    import kernels

    torch.manual_seed(0)
    return kernels.softmax, (torch.randn(4096, 4096, dtype=torch.float16, device="cuda"),), (
        lambda x: torch.softmax(x, dim=-1)
    )


def _matmul_pallas():
    import kernels

    torch.manual_seed(0)
    return kernels.matmul, (torch.randn(64, 64), torch.randn(64, 64)), torch.matmul


def _add_pallas():
    import kernels

    torch.manual_seed(0)
    return kernels.add, (torch.randn(32, 32), torch.randn(32, 32)), torch.add


PALLAS_ENV = {
    "HELION_BACKEND": "pallas",
    "HELION_PALLAS_INTERPRET": "1",
    "HELION_AUTOTUNE_FINAL_PICK_TOP_K": "0",
    "HELION_AUTOTUNE_FINAL_REBENCHMARK_TOP_K": "3",
}

WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("matmul_1024_fp16", "seed study: 1024x1024 @ 1024x1024 fp16, range_* overrides", _seed_matmul, True),
        Workload("matmul_4096_bf16", "4096x4096 @ 4096x4096 bf16", _matmul_4096_bf16, True),
        Workload("softmax_4096_fp16", "row softmax of 4096x4096 fp16", _softmax_gpu, True),
        Workload("matmul_pallas", "64x64 matmul fp32, Pallas interpret mode (CPU)", _matmul_pallas, False, PALLAS_ENV),
        Workload("add_pallas", "32x32 add fp32, Pallas interpret mode (CPU)", _add_pallas, False, PALLAS_ENV),
    )
}


def apply_env(workload: Workload) -> None:
    """Set the workload's HELION_* variables (before helion reads them)."""
    for key, value in workload.env.items():
        os.environ.setdefault(key, value)
