"""The benchmark suite: named workloads the comparison harness tunes.

A workload is a real Helion kernel (:mod:`helion_hybrid.kernels`), inputs of
a realistic shape and an eager PyTorch reference. GPU workloads use Helion's
default (Triton) backend; ``*_pallas`` workloads run on Helion's Pallas
backend in interpret mode, so the harness does something real on a machine
without a GPU. ``Workload.make(device)`` binds the same shapes on any device:
on the CPU that gives the same kernel and config space, without running it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from functools import partial
from typing import Any

import torch

Made = tuple[Any, tuple[Any, ...], Callable[..., Any]]


@dataclasses.dataclass(frozen=True)
class Workload:
    """A kernel to tune.

    Attributes:
        name: the workload's name (results are stored under it).
        description: one line for reports.
        build: ``build(device)`` returns (kernel, args, reference).
        needs_gpu: whether it only runs on a GPU.
        env: ``HELION_*`` variables it needs, set before Helion reads them.
        suite: part of the GPU kernel suite (``compare.py --suite``).
    """

    name: str
    description: str
    build: Callable[[str], Made]
    needs_gpu: bool
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    suite: bool = False

    def make(self, device: str | None = None) -> Made:
        """(kernel, args, reference) with inputs on ``device`` (default:
        ``cuda`` for GPU workloads, else ``cpu``), after setting ``env``."""
        apply_env(self)
        return self.build(device or ("cuda" if self.needs_gpu else "cpu"))


def _kernels() -> Any:
    from . import kernels  # after apply_env: Helion reads HELION_BACKEND at decoration

    return kernels


def _randn(*shape: int, dtype: torch.dtype, device: str) -> torch.Tensor:
    return torch.randn(*shape, dtype=dtype, device=device)


def _seed_matmul(device: str, n: int = 1024) -> Made:
    torch.manual_seed(0)
    x = _randn(n, n, dtype=torch.float16, device=device)
    y = _randn(n, n, dtype=torch.float16, device=device)
    return _kernels().matmul_seed, (x, y), torch.matmul


def _matmul_4096_bf16(device: str) -> Made:
    torch.manual_seed(0)
    x = _randn(4096, 4096, dtype=torch.bfloat16, device=device)
    y = _randn(4096, 4096, dtype=torch.bfloat16, device=device)
    return _kernels().matmul, (x, y), torch.matmul


def _softmax_4096_fp16(device: str) -> Made:
    torch.manual_seed(0)
    x = _randn(4096, 4096, dtype=torch.float16, device=device)
    return _kernels().softmax, (x,), lambda t: torch.softmax(t, dim=-1)


def _attention_2048_bf16(device: str, sequence: int = 2048) -> Made:
    torch.manual_seed(0)
    q, k, v = (_randn(4, 16, sequence, 64, dtype=torch.bfloat16, device=device) for _ in range(3))
    return _kernels().attention, (q, k, v), torch.nn.functional.scaled_dot_product_attention


def _cross_entropy_32k_bf16(device: str) -> Made:
    torch.manual_seed(0)
    logits = _randn(4096, 32000, dtype=torch.bfloat16, device=device)
    target = torch.randint(0, 32000, (4096,), dtype=torch.int64, device=device)

    def reference(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(x.float(), t, reduction="none")

    return _kernels().cross_entropy, (logits, target), reference


def _swiglu_8192_bf16(device: str) -> Made:
    torch.manual_seed(0)
    gate = _randn(8192, 8192, dtype=torch.bfloat16, device=device)
    up = _randn(8192, 8192, dtype=torch.bfloat16, device=device)

    def reference(g: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.silu(g) * u

    return _kernels().swiglu, (gate, up), reference


def _row_sum_65536_fp32(device: str) -> Made:
    torch.manual_seed(0)
    x = _randn(4096, 65536, dtype=torch.float32, device=device)
    return _kernels().sum_rows, (x,), lambda t: t.sum(-1)


def _matmul_pallas(device: str, n: int = 64) -> Made:
    torch.manual_seed(0)
    return _kernels().matmul, (torch.randn(n, n), torch.randn(n, n)), torch.matmul


def _add_pallas(device: str) -> Made:
    torch.manual_seed(0)
    return _kernels().add, (torch.randn(32, 32), torch.randn(32, 32)), torch.add


PALLAS_ENV = {
    "HELION_BACKEND": "pallas",
    "HELION_PALLAS_INTERPRET": "1",
    "HELION_AUTOTUNE_FINAL_PICK_TOP_K": "0",
    "HELION_AUTOTUNE_FINAL_REBENCHMARK_TOP_K": "3",
}

WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            "matmul_1024_fp16",
            "seed study: 1024x1024 @ 1024x1024 fp16, range_* overrides",
            _seed_matmul,
            True,
            suite=True,
        ),
        Workload("matmul_4096_bf16", "4096x4096 @ 4096x4096 bf16", _matmul_4096_bf16, True, suite=True),
        Workload("softmax_4096_fp16", "row softmax of 4096x4096 fp16", _softmax_4096_fp16, True, suite=True),
        Workload(
            "attention_2048_bf16",
            "non-causal flash attention, bf16, batch 4, 16 heads, seq 2048, head 64",
            _attention_2048_bf16,
            True,
            suite=True,
        ),
        Workload(
            "cross_entropy_32k_bf16",
            "fused log-softmax + NLL, bf16 logits 4096 x 32000, int64 targets",
            _cross_entropy_32k_bf16,
            True,
            suite=True,
        ),
        Workload("swiglu_8192_bf16", "silu(a) * b, bf16, 8192 x 8192 each", _swiglu_8192_bf16, True, suite=True),
        Workload("row_sum_65536_fp32", "sum over each row of fp32 4096 x 65536", _row_sum_65536_fp32, True, suite=True),
        Workload("matmul_pallas", "64x64 matmul fp32, Pallas interpret mode (CPU)", _matmul_pallas, False, PALLAS_ENV),
        Workload("add_pallas", "32x32 add fp32, Pallas interpret mode (CPU)", _add_pallas, False, PALLAS_ENV),
        # the other shapes of the shape sequences (SHAPE_SEQUENCES)
        *(
            Workload(f"matmul_{n}_fp16", f"seed study's kernel at {n}x{n} fp16", partial(_seed_matmul, n=n), True)
            for n in (512, 2048, 4096)
        ),
        *(
            Workload(
                f"attention_{n}_bf16",
                f"non-causal flash attention, bf16, batch 4, 16 heads, seq {n}, head 64",
                partial(_attention_2048_bf16, sequence=n),
                True,
            )
            for n in (512, 1024, 4096)
        ),
        Workload(
            "matmul_pallas_128",
            "128x128 matmul fp32, Pallas interpret mode (CPU)",
            partial(_matmul_pallas, n=128),
            False,
            PALLAS_ENV,
        ),
    )
}

#: Shapes of one kernel tuned one after the other (``bench/shape_sequence.py``).
SHAPE_SEQUENCES: dict[str, tuple[str, ...]] = {
    "matmul_fp16": ("matmul_512_fp16", "matmul_1024_fp16", "matmul_2048_fp16", "matmul_4096_fp16"),
    "attention_bf16": ("attention_512_bf16", "attention_1024_bf16", "attention_2048_bf16", "attention_4096_bf16"),
    "matmul_pallas": ("matmul_pallas", "matmul_pallas_128"),
}

SUITE: tuple[str, ...] = tuple(name for name, w in WORKLOADS.items() if w.suite)


def apply_env(workload: Workload) -> None:
    """Set the workload's HELION_* variables (before Helion reads them)."""
    for key, value in workload.env.items():
        os.environ.setdefault(key, value)
