"""Experiment (b): real end-to-end autotune on the Pallas backend in interpret mode (CPU).

Run with:
  HELION_BACKEND=pallas HELION_PALLAS_INTERPRET=1 HELION_AUTOTUNE_EFFORT=quick \
  HELION_SKIP_CACHE=1 HELION_AUTOTUNE_FINAL_PICK_TOP_K=0 \
  /work/venv/bin/python exp_b_pallas_autotune.py KERNEL SEARCH [extra k=v ...]
KERNEL in {add, matmul, softmax}; SEARCH in {PatternSearch, RandomSearch, LFBOTreeSearch, default}
"default" goes through kernel(*args) -> settings.autotuner_fn (HELION_AUTOTUNER env picks the class).
"""
from __future__ import annotations
import os, sys, time
import torch
import helion
import helion.language as hl
from helion.autotuner import search_algorithms
from helion.autotuner.effort_profile import get_effort_profile
from helion.autotuner.config_fragment import ListOf, EnumFragment, BaseIntegerFragment


@helion.kernel(static_shapes=True)
def add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in hl.tile(out.size()):
        out[tile] = x[tile] + y[tile]
    return out


@helion.kernel(static_shapes=True)
def matmul(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    m, k = x.size()
    _, n = y.size()
    out = torch.empty([m, n], dtype=x.dtype, device=x.device)
    for tile_m, tile_n in hl.tile([m, n]):
        acc = hl.zeros([tile_m, tile_n], dtype=torch.float32)
        for tile_k in hl.tile(k):
            acc = torch.addmm(acc, x[tile_m, tile_k], y[tile_k, tile_n])
        out[tile_m, tile_n] = acc.to(x.dtype)
    return out


@helion.kernel(static_shapes=True)
def softmax(x: torch.Tensor) -> torch.Tensor:
    n, _m = x.size()
    out = torch.empty_like(x)
    for tile_n in hl.tile(n):
        out[tile_n, :] = torch.nn.functional.softmax(x[tile_n, :], dim=1)
    return out


def make(kname):
    torch.manual_seed(0)
    if kname == "add":
        return add, (torch.randn(32, 32), torch.randn(32, 32)), lambda a, b: a + b
    if kname == "matmul":
        return matmul, (torch.randn(64, 64), torch.randn(64, 64)), lambda a, b: a @ b
    if kname == "softmax":
        return softmax, (torch.randn(32, 64),), lambda a: torch.softmax(a, -1)
    raise SystemExit(kname)


def describe(spec):
    if isinstance(spec, ListOf):
        return f"ListOf(len={spec.length}, {describe(spec.inner)})"
    if isinstance(spec, EnumFragment):
        return f"{type(spec).__name__}{spec.choices}"
    if isinstance(spec, BaseIntegerFragment):
        return f"{type(spec).__name__}({spec.low},{spec.high},default={spec.default_val})"
    return type(spec).__name__


def main():
    kname, sname = sys.argv[1], sys.argv[2]
    extra = {}
    for kv in sys.argv[3:]:
        k, v = kv.split("=")
        extra[k] = int(v)
    kernel, args, ref = make(kname)
    t0 = time.perf_counter()
    bound = kernel.bind(args)
    print(f"backend={bound.config_spec.backend_name} effort={bound.settings.autotune_effort} "
          f"seed={bound.settings.autotune_random_seed} precompile={bound.settings.autotune_precompile} "
          f"subprocess_bench={bound.settings.autotune_benchmark_subprocess}")
    cg = bound.config_spec.create_config_generation(overrides=bound.settings.autotune_config_overrides or None)
    key_of = {}
    for key, (idxs, is_seq) in cg._key_to_flat_indices.items():
        for j, i in enumerate(idxs):
            key_of[i] = f"{key}[{j}]" if is_seq else key
    for i, s in enumerate(cg.flat_spec):
        print(f"  flat[{i}] {key_of.get(i, '?'):34s} {describe(s)}  card={s.cardinality()}")
    print("  default config:", cg.unflatten(cg.default_flat()))
    if sname == "spec":
        return
    if sname == "default":
        out = kernel(*args)
        best = bound._config if hasattr(bound, "_config") else None
        print("result ok:", torch.allclose(out, ref(*args), atol=1e-4, rtol=1e-4))
        print(f"WALL {time.perf_counter() - t0:.1f}s (default autotuner_fn path)")
        return
    cls = search_algorithms[sname]
    kwargs = cls.get_kwargs_from_profile(get_effort_profile(bound.settings.autotune_effort), bound.settings)
    kwargs.update(extra)
    print("search kwargs:", kwargs)
    search = cls(bound, args, **kwargs)
    t1 = time.perf_counter()
    best = search.autotune(skip_cache=True)
    t2 = time.perf_counter()
    m = search._autotune_metrics
    print(f"BEST {best}")
    print(f"WALL autotune {t2 - t1:.1f}s (construct {t1 - t0:.1f}s); configs_tested={m.num_configs_tested} "
          f"compile_failures={m.num_compile_failures} accuracy_failures={m.num_accuracy_failures} "
          f"generations={m.num_generations}")
    pop = getattr(search, "population", [])
    if pop:
        print("population statuses:", sorted({p.status for p in pop}), "n=", len(pop))
        for p in sorted(pop, key=lambda p: p.perf)[:5]:
            print(f"   perf={p.perf:.4f}ms perfs={[round(x, 4) for x in p.perfs]} status={p.status} flat={p.flat_values}")
    fn = bound.compile_config(best)
    out = fn(*args)
    print("result ok:", torch.allclose(out, ref(*args), atol=1e-4, rtol=1e-4))


if __name__ == "__main__":
    main()
