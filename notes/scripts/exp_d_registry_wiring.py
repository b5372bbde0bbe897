"""Experiment (d): how HELION_AUTOTUNER / search_algorithms / autotuner_fn are wired.

Registers a PatternSearch subclass under a new name in helion.autotuner.search_algorithms,
selects it with HELION_AUTOTUNER, and records the kwargs default_autotuner_fn passes.
Run with the Pallas interpret env vars of exp_b plus HELION_AUTOTUNER=SpyPatternSearch.
"""
from __future__ import annotations
import time
import torch
import helion
import helion.language as hl
from helion.autotuner import search_algorithms, PatternSearch


class SpyPatternSearch(PatternSearch):
    def __init__(self, kernel, args, **kwargs):
        print("SpyPatternSearch.__init__ kwargs:", kwargs)
        super().__init__(kernel, args, **kwargs)

    def _autotune(self):
        print("config_gen.flat_spec:", [type(s).__name__ for s in self.config_gen.flat_spec])
        print("provider cls:", self._benchmark_provider_cls.__name__)
        return super()._autotune()


# default_autotuner_fn only forwards profile kwargs whose names appear in
# inspect.signature(cls.__init__).parameters -> a **kwargs-only __init__ gets NOTHING.
# Copy PatternSearch's signature so it receives them:
import inspect
SpyPatternSearch.__init__.__signature__ = inspect.signature(PatternSearch.__init__)
search_algorithms["SpyPatternSearch"] = SpyPatternSearch


@helion.kernel(static_shapes=True)
def add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in hl.tile(out.size()):
        out[tile] = x[tile] + y[tile]
    return out


def my_autotuner_fn(bound_kernel, args, **kwargs):
    print("custom autotuner_fn called with kwargs:", kwargs, "type(bound)=", type(bound_kernel).__name__)
    from helion.runtime.settings import default_autotuner_fn
    wrapped = default_autotuner_fn(bound_kernel, args, **kwargs)
    print("default_autotuner_fn returned:", type(wrapped).__name__, "wrapping", type(wrapped.autotuner).__name__ if hasattr(wrapped, "autotuner") else "?")
    return wrapped


@helion.kernel(static_shapes=True, autotuner_fn=my_autotuner_fn)
def add2(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in hl.tile(out.size()):
        out[tile] = x[tile] + y[tile]
    return out


if __name__ == "__main__":
    x, y = torch.randn(32, 32), torch.randn(32, 32)
    t0 = time.perf_counter()
    out = add(x, y)
    print(f"add via HELION_AUTOTUNER: ok={torch.allclose(out, x + y)} wall={time.perf_counter() - t0:.1f}s")
    t0 = time.perf_counter()
    out = add2(x, y)
    print(f"add2 via autotuner_fn=: ok={torch.allclose(out, x + y)} wall={time.perf_counter() - t0:.1f}s")
