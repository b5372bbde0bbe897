"""Real Helion kernels used by the tests, bound to CPU tensors. The kernels
themselves live in helion_hybrid.kernels (one definition for tests and
benchmarks)."""

from __future__ import annotations

import torch

from helion_hybrid import kernels


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
        **{name: suite_kernel(name) for name in ("cross_entropy_32k_bf16", "swiglu_8192_bf16", "row_sum_65536_fp32")},
    }


def suite_kernel(name: str) -> object:
    """A GPU suite workload's kernel bound to CPU tensors of its real shapes
    (the same config space as on the GPU, up to device-specific options)."""
    from helion_hybrid.workloads import WORKLOADS

    kernel, args, _reference = WORKLOADS[name].make("cpu")
    return kernel.bind(args)
