"""Experiment (c): helion.autotuner.autotune(...) external API with a synthetic objective on CPU.

The "kernel" is a Python callable whose run time is a known function of the config
(busy-wait), with a known optimum and a failing region (compile_fn raises), so the search
behaviour is observable without a GPU.
Usage: /work/venv/bin/python exp_c_external_autotune.py [ALGORITHM] [k=v ...]
"""
from __future__ import annotations
import sys, time, math
import torch
from helion.autotuner import autotune, PowerOfTwoFragment, IntegerFragment, EnumFragment, BooleanFragment

TUNABLES = {
    "block_m": PowerOfTwoFragment(16, 256, 32),
    "block_n": PowerOfTwoFragment(16, 256, 32),
    "warps": PowerOfTwoFragment(1, 16, 4),
    "stages": IntegerFragment(1, 6, 2),
    "order": EnumFragment(("a", "b", "c")),
    "flag": BooleanFragment(),
}
OPT = {"block_m": 64, "block_n": 128, "warps": 4, "stages": 3, "order": "b", "flag": True}
calls = {"compile": 0, "fail": 0, "run": 0}


def cost_ms(cfg) -> float:
    c = 0.05
    c += 0.02 * abs(math.log2(cfg["block_m"]) - math.log2(OPT["block_m"]))
    c += 0.02 * abs(math.log2(cfg["block_n"]) - math.log2(OPT["block_n"]))
    c += 0.01 * abs(math.log2(cfg["warps"]) - 2)
    c += 0.01 * abs(cfg["stages"] - OPT["stages"])
    c += 0.02 * (cfg["order"] != OPT["order"]) + 0.01 * (cfg["flag"] != OPT["flag"])
    return c


def compile_fn(config):
    cfg = dict(config.config)
    calls["compile"] += 1
    if cfg["block_m"] * cfg["block_n"] > 128 * 128:   # "too much shared memory"
        calls["fail"] += 1
        raise RuntimeError("synthetic compile failure: tile too large")
    target = cost_ms(cfg) / 1000.0

    def run(x):
        calls["run"] += 1
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < target:
            pass
        return x * 2   # same output for every config -> accuracy check passes
    return run


def patch_cpu_timers():
    """Without a GPU, Triton's do_bench/interleaved_bench fail ("0 active drivers").
    The external API hard-codes TritonBackend(); make it use Helion's wall-clock timers."""
    from helion._compiler.backend import TritonBackend
    from helion.autotuner.benchmarking import do_bench_generic, interleaved_bench_generic
    TritonBackend.get_do_bench = lambda self: do_bench_generic
    TritonBackend.get_interleaved_bench = lambda self: interleaved_bench_generic


def main():
    if "--no-patch" in sys.argv:
        sys.argv.remove("--no-patch")
    else:
        patch_cpu_timers()
    algo = sys.argv[1] if len(sys.argv) > 1 else "PatternSearch"
    kw = {}
    for kv in sys.argv[2:]:
        k, v = kv.split("=")
        kw[k] = int(v) if v.lstrip("-").isdigit() else v
    x = torch.randn(16)
    t0 = time.perf_counter()
    best = autotune(TUNABLES, compile_fn, (x,), algorithm=algo, device=torch.device("cpu"),
                    autotune_random_seed=0, **kw)
    dt = time.perf_counter() - t0
    print(f"ALGO {algo} kwargs={kw}")
    print(f"BEST {best}  cost={cost_ms(dict(best.config)):.3f}ms (optimum {cost_ms(OPT):.3f}ms)")
    print(f"WALL {dt:.1f}s  compile_fn calls={calls['compile']} failures={calls['fail']} kernel calls={calls['run']}")


if __name__ == "__main__":
    main()
