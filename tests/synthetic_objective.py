"""A synthetic autotuning problem for Helion's external ``autotune`` API.

The "kernel" is a plain callable; its time is a known function of the config
with interactions between knobs, a unique optimum and a failing region
(configs whose tile is too large raise in ``compile_fn``, as a kernel that
needs too much shared memory fails to compile). Timing is made
deterministic through Helion's own backend hooks (``get_do_bench`` and
``get_interleaved_bench``), so a search sees exactly the objective: every
search, ours and Helion's, is timed the same way.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from helion.autotuner import BooleanFragment, EnumFragment, IntegerFragment, PowerOfTwoFragment

TUNABLES = {
    "block_m": PowerOfTwoFragment(16, 512, 32),
    "block_n": PowerOfTwoFragment(16, 512, 32),
    "block_k": PowerOfTwoFragment(16, 256, 32),
    "warps": PowerOfTwoFragment(1, 32, 4),
    "stages": IntegerFragment(1, 8, 2),
    "order": EnumFragment(("mn", "nm", "split")),
    "pid": EnumFragment(("flat", "persistent_blocked", "persistent_interleaved")),
    "flag": BooleanFragment(),
}
OPTIMUM = {
    "block_m": 64,
    "block_n": 128,
    "block_k": 64,
    "warps": 4,
    "stages": 5,
    "order": "nm",
    "pid": "persistent_interleaved",
    "flag": True,
}


def cost_ms(cfg: dict[str, Any]) -> float:
    """Kernel time in ms; the minimum is at OPTIMUM."""
    lm, ln, lk = math.log2(cfg["block_m"]), math.log2(cfg["block_n"]), math.log2(cfg["block_k"])
    lw = math.log2(cfg["warps"])
    c = 0.010
    c += 0.004 * (lm - 6) ** 2 + 0.004 * (ln - 7) ** 2 + 0.003 * (lk - 6) ** 2
    # the right warp count depends on the tile area
    c += 0.003 * (lw - (lm + ln - 11)) ** 2
    # deeper pipelines pay off only with small k-blocks
    c += 0.0015 * (cfg["stages"] - (11 - lk)) ** 2
    c += 0.004 * (cfg["order"] != "nm") + 0.006 * (cfg["pid"] != "persistent_interleaved")
    c += 0.002 * (cfg["flag"] is not True)
    return c


def fails(cfg: dict[str, Any]) -> bool:
    """Tiles over 128x256 elements do not compile."""
    return cfg["block_m"] * cfg["block_n"] > 128 * 256


class Problem:
    """compile_fn for the external API plus a log of what was compiled."""

    def __init__(self) -> None:
        self.compiled: list[dict[str, Any]] = []
        self.last_cost = math.nan

    def compile_fn(self, config: Any) -> Callable[[Any], Any]:
        cfg = dict(config.config)
        self.compiled.append(cfg)
        if fails(cfg):
            raise RuntimeError("synthetic compile failure: tile too large")
        cost = cost_ms(cfg)

        def run(x: Any) -> Any:
            self.last_cost = cost
            return x * 2  # same output for every config: accuracy passes

        return run

    def do_bench(self, fn: Callable[[], object], *args: Any, **kwargs: Any) -> float:
        fn()
        return self.last_cost

    def interleaved_bench(self, fns: list[Callable[[], object]], *args: Any, **kwargs: Any) -> list[float]:
        out = []
        for fn in fns:
            fn()
            out.append(self.last_cost)
        return out

    def first_hit(self) -> int | None:
        """1-based count of compiled configs when the optimum first compiled."""
        for i, cfg in enumerate(self.compiled):
            if cfg == OPTIMUM:
                return i + 1
        return None


def install_timers(monkeypatch: Any, problem: Problem) -> None:
    """Route Helion's timers (Triton backend, which the external API uses)
    to the problem's deterministic clock."""
    from helion._compiler.backend import TritonBackend

    monkeypatch.setattr(TritonBackend, "get_do_bench", lambda self: problem.do_bench)
    monkeypatch.setattr(TritonBackend, "get_interleaved_bench", lambda self: problem.interleaved_bench)


class SlowKernel(Problem):
    """Every call of the kernel takes ``seconds`` of real time."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def do_bench(self, fn: Callable[[], object], *args: Any, **kwargs: Any) -> float:
        fn()
        time.sleep(self.seconds)
        return self.last_cost


#: MultiFidelityBayesianSearch stages small enough for a test.
SMALL_MFBO = {"n_low": 30, "n_medium": 10, "n_high": 4, "n_ultra": 1}


def autotune_problem(monkeypatch: Any, problem: Problem, algorithm: str, **kwargs: Any) -> Any:
    """Tune ``problem`` through Helion's external API with ``algorithm``
    (seed 0, quick effort, one float tensor on the CPU); ``kwargs`` are
    Helion settings or search options."""
    import torch
    from helion.autotuner import autotune

    install_timers(monkeypatch, problem)
    return autotune(
        TUNABLES,
        problem.compile_fn,
        (torch.randn(8),),
        algorithm=algorithm,
        device=torch.device("cpu"),
        autotune_random_seed=0,
        autotune_effort="quick",
        **kwargs,
    )
