"""Do evict_last loads survive the L2 flush and speed up later timings?

Hypothesis from a HybridSearch clock trace (timing_study.md section 5): a
config whose loads carry ``eviction_policy=evict_last`` leaves the kernel's
inputs in L2 with a priority that the benchmark's L2 flush (writing a 256 MB
buffer at normal priority) does not evict. Every config timed afterwards
then reads its inputs from L2 and times low, until a load with
``evict_first`` demotes those lines. This times two ordinary configs (no
eviction hints) in one fresh process after each step below, with the
search's event timer and with CUDA-graph device time:

fresh -> after evict_last configs -> after 200 more flushes -> after
evict_first configs -> after evict_last configs -> after
cuCtxResetPersistingL2Cache -> after evict_last configs (twice) -> after
an evict_first load of the inputs -> after evict_last configs.

Usage (on a GPU machine)::

    python bench/l2_state_study.py --run bench/results/h100/matmul_1024_fp16/runs/HybridSearch_seed0.json \
        --other bench/results/h100/matmul_1024_fp16/runs/PatternSearch_seed0.json --out l2.json
"""

from __future__ import annotations

import argparse
import ctypes
import json
import statistics
import sys
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gpu_probe import probed_event_samples  # noqa: E402

from helion_hybrid.timing import GraphDeviceTimer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", default="matmul_1024_fp16")
    parser.add_argument("--run", required=True, help="run JSON whose best config is timed (no eviction hints)")
    parser.add_argument("--other", required=True, help="a second run JSON, timed the same way")
    parser.add_argument("--repeats", type=int, default=3, help="event bursts of 50 per config per step")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    from workloads import WORKLOADS, apply_env

    workload = WORKLOADS[args.workload]
    apply_env(workload)
    import helion
    import torch
    from triton import runtime

    kernel, kernel_args, _reference = workload.make()
    bound = kernel.bind(kernel_args)
    base = json.loads(Path(args.run).read_text())["best_config"]
    other = json.loads(Path(args.other).read_text())["best_config"]

    def compiled(config: dict[str, Any]) -> Callable[[], object]:
        fn = bound.compile_config(helion.Config(**config))
        return lambda: fn(*kernel_args)

    def with_policy(policy: str) -> dict[str, Any]:
        config = dict(base)
        config["load_eviction_policies"] = [policy] * len(base["load_eviction_policies"])
        return config

    timed = {"run best": compiled(base), "other best": compiled(other)}
    evict_last, evict_first = compiled(with_policy("last")), compiled(with_policy("first"))
    driver = runtime.driver.active
    cache = driver.get_empty_cache_for_benchmark()
    libcuda = ctypes.CDLL("libcuda.so.1")

    def run_flushed(call: Callable[[], object], times: int = 20) -> None:
        for _ in range(times):
            driver.clear_cache(cache)
            call()
        torch.cuda.synchronize()

    def flushes(times: int = 200) -> None:
        for _ in range(times):
            driver.clear_cache(cache)
        torch.cuda.synchronize()

    def reset_persisting() -> None:
        torch.cuda.synchronize()
        status = libcuda.cuCtxResetPersistingL2Cache()
        if status != 0:
            raise RuntimeError(f"cuCtxResetPersistingL2Cache returned {status}")

    import triton
    import triton.language as tl

    @triton.jit
    def _load_evict_first(source, sums, size, BLOCK: tl.constexpr):  # type: ignore[no-untyped-def]
        offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        values = tl.load(source + offsets, mask=offsets < size, other=0, eviction_policy="evict_first")
        tl.store(sums + tl.program_id(0), tl.sum(values.to(tl.int32)))

    def demote_inputs() -> None:
        for tensor in kernel_args:
            if isinstance(tensor, torch.Tensor) and tensor.is_cuda:
                raw = torch.empty(0, dtype=torch.uint8, device=tensor.device).set_(tensor.untyped_storage())
                blocks = triton.cdiv(raw.numel(), 4096)
                sums = torch.empty(blocks, dtype=torch.int32, device=tensor.device)
                _load_evict_first[(blocks,)](raw, sums, raw.numel(), BLOCK=4096)
        torch.cuda.synchronize()

    steps: list[tuple[str, Callable[[], None]]] = [
        ("fresh", lambda: None),
        ("after evict_last configs", lambda: run_flushed(evict_last)),
        ("after 200 more flushes", flushes),
        ("after evict_first configs", lambda: run_flushed(evict_first)),
        ("after evict_last configs (2)", lambda: run_flushed(evict_last)),
        ("after cuCtxResetPersistingL2Cache", reset_persisting),
        ("after evict_last configs (3)", lambda: run_flushed(evict_last)),
        ("after evict_last configs (4)", lambda: run_flushed(evict_last)),
        ("after an evict_first load of the inputs", demote_inputs),
        ("after evict_last configs (5)", lambda: run_flushed(evict_last)),
    ]
    for call in (*timed.values(), evict_last, evict_first):
        call()
    torch.cuda.synchronize()
    timer = GraphDeviceTimer()
    rows = []
    for name, step in steps:
        try:
            step()
            error = None
        except Exception as failure:  # report, go on with the next step
            error = f"{type(failure).__name__}: {failure}"
        row: dict[str, Any] = {"step": name, "error": error}
        for label, call in timed.items():
            bursts = [probed_event_samples(call, 50)[1]["timed_us"] for _ in range(args.repeats)]
            row[f"{label} events_us"] = statistics.median(bursts)
            row[f"{label} device_us"] = timer.measure(label, call) * 1000.0
        rows.append(row)
        cells = " ".join(f"{k}={v:.2f}" for k, v in row.items() if isinstance(v, float))
        print(f"{name:<42} {cells}" + (f"  [{error}]" if error else ""), flush=True)
    args.out.write_text(json.dumps({"device": torch.cuda.get_device_name(), "base_config": base,
                                    "other_config": other, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
