"""Experiment (e): seed PatternSearch with given starting configs (external API, CPU, synthetic objective).
Two routes: (1) settings.autotune_seed_configs; (2) subclass overriding _generate_initial_population_flat.
"""
from __future__ import annotations
import time, torch, helion
from helion.autotuner import search_algorithms, PatternSearch
from helion.autotuner.external import _ExternalKernelAdapter, create_user_config_spec
import exp_c_external_autotune as c

c.patch_cpu_timers()
x = torch.randn(16)
near_opt = helion.Config(block_m=64, block_n=64, warps=4, stages=3, order="b", flag=True)  # one step from optimum

# Route 1: autotune_seed_configs (a Settings field -> routed to Settings by the external API)
t0 = time.perf_counter()
best = c.autotune(c.TUNABLES, c.compile_fn, (x,), algorithm="PatternSearch", device=torch.device("cpu"),
                  autotune_random_seed=0, autotune_effort="quick", autotune_seed_configs=[near_opt],
                  initial_population=4, copies=1, max_generations=3)
print(f"ROUTE1 best={best} wall={time.perf_counter()-t0:.1f}s compile calls={c.calls['compile']}")


# Route 2: subclass that starts exactly from the given flats (no default, no random fill)
class SeededPatternSearch(PatternSearch):
    def __init__(self, kernel, args, *, seeds=(), **kw):
        super().__init__(kernel, args, **kw)
        self._seeds = list(seeds)

    def _generate_initial_population_flat(self):
        return [self.config_gen.flatten(s) for s in self._seeds]


c.calls.update(compile=0, fail=0, run=0)
kernel = _ExternalKernelAdapter(create_user_config_spec(c.TUNABLES), c.compile_fn, (x,),
                                device=torch.device("cpu"), autotune_random_seed=0, autotune_effort="quick")
s = SeededPatternSearch(kernel, (x,), seeds=[near_opt], copies=1, max_generations=3)
t0 = time.perf_counter()
best = s.autotune()
m = s._autotune_metrics
print(f"ROUTE2 best={best} wall={time.perf_counter()-t0:.1f}s configs_tested={m.num_configs_tested} "
      f"generations={m.num_generations} compile calls={c.calls['compile']}")
