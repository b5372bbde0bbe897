"""Experiment (a): bind kernels to CPU tensors and print ConfigGeneration.flat_spec.

Usage: /work/venv/bin/python exp_a_flat_spec.py  (default triton backend, CPU tensors)
"""
from __future__ import annotations
import time, sys
import torch
import helion
import helion.language as hl
from helion.autotuner.config_fragment import ListOf, EnumFragment, BaseIntegerFragment, PermutationFragment, NumThreadsFragment


@helion.kernel(
    static_shapes=True,
    autotune_config_overrides={"range_unroll_factors": [0, 0], "range_num_stages": [0, 0]},
)
def matmul_benchmark(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    m, k = x.size()
    k2, n = y.size()
    assert k == k2, f"size mismatch {k} != {k2}"
    out = torch.empty([m, n], dtype=torch.promote_types(x.dtype, y.dtype), device=x.device)
    for tile_m, tile_n in hl.tile([m, n]):
        acc = hl.zeros([tile_m, tile_n], dtype=torch.float32)
        for tile_k in hl.tile(k):
            acc = torch.addmm(acc, x[tile_m, tile_k], y[tile_k, tile_n])
        out[tile_m, tile_n] = acc
    return out


@helion.kernel(static_shapes=True)
def softmax(x: torch.Tensor) -> torch.Tensor:
    n, _m = x.size()
    out = torch.empty_like(x)
    for tile_n in hl.tile(n):
        out[tile_n, :] = torch.nn.functional.softmax(x[tile_n, :], dim=1)
    return out


@helion.kernel(static_shapes=True)
def sum_rows(x: torch.Tensor) -> torch.Tensor:
    n, _m = x.size()
    out = torch.empty([n], dtype=x.dtype, device=x.device)
    for tile_n in hl.tile(n):
        out[tile_n] = x[tile_n, :].sum(-1)
    return out


@helion.kernel(static_shapes=True)
def attention(q_in: torch.Tensor, k_in: torch.Tensor, v_in: torch.Tensor) -> torch.Tensor:
    # simplified from helion examples/attention.py (non-causal)
    m_dim = q_in.size(-2)
    n_dim = k_in.size(-2)
    head_dim = hl.specialize(q_in.size(-1))
    q_view = q_in.reshape([-1, m_dim, head_dim])
    v_view = v_in.reshape([-1, n_dim, head_dim])
    k_view = k_in.reshape([-1, n_dim, head_dim]).transpose(1, 2)
    out = torch.empty_like(q_view)
    sm_scale = 1.0 / (head_dim ** 0.5)
    qk_scale = sm_scale * 1.44269504
    for tile_b, tile_m in hl.tile([q_view.size(0), m_dim]):
        m_i = hl.full([tile_b, tile_m], float("-inf"), dtype=torch.float32)
        l_i = torch.full_like(m_i, 1.0)
        acc = hl.zeros([tile_b, tile_m, head_dim], dtype=torch.float32)
        q = q_view[tile_b, tile_m, :]
        for tile_n in hl.tile(v_view.size(1)):
            k = k_view[tile_b, :, tile_n]
            qk = torch.bmm(q, k)
            m_ij = torch.maximum(m_i, torch.amax(qk, -1) * qk_scale)
            qk = qk * qk_scale - m_ij[:, :, None]
            p = torch.exp2(qk)
            l_ij = torch.sum(p, -1)
            alpha = torch.exp2(m_i - m_ij)
            l_i = l_i * alpha + l_ij
            acc = acc * alpha[:, :, None]
            v = v_view[tile_b, tile_n, :]
            p = p.to(v.dtype)
            acc = torch.baddbmm(acc, p, v)
            m_i = m_ij
        m_i += torch.log2(l_i)
        acc = acc / l_i[:, :, None]
        out[tile_b, tile_m, :] = acc.to(out.dtype)
    return out.view(q_in.size())


def describe(spec) -> str:
    name = type(spec).__name__
    if isinstance(spec, ListOf):
        return f"ListOf(length={spec.length}, inner={describe(spec.inner)})"
    if isinstance(spec, EnumFragment):
        extra = ""
        if spec.search_choices is not None:
            extra += f", search_choices={spec.search_choices}"
        return f"{name}(choices={spec.choices}{extra})"
    if isinstance(spec, BaseIntegerFragment):
        return f"{name}(low={spec.low}, high={spec.high}, default={spec.default_val})"
    if isinstance(spec, PermutationFragment):
        return f"{name}(length={spec.length})"
    if isinstance(spec, NumThreadsFragment):
        return f"{name}(high={spec.high})"
    return name + "()"


def show(name, kernel, args):
    t0 = time.perf_counter()
    bound = kernel.bind(args)
    t1 = time.perf_counter()
    cs = bound.config_spec
    cg = cs.create_config_generation(
        overrides=bound.settings.autotune_config_overrides or None,
        process_group_name=bound.env.process_group_name,
    )
    t2 = time.perf_counter()
    print(f"\n=== {name}: backend={cs.backend_name} bind {t1-t0:.2f}s, config_gen {t2-t1:.3f}s")
    # key layout
    key_of = {}
    for key, (idxs, is_seq) in cg._key_to_flat_indices.items():
        for j, i in enumerate(idxs):
            key_of[i] = f"{key}[{j}]" if is_seq else key
    ov = cg.overridden_flat_indices
    for i, spec in enumerate(cg.flat_spec):
        flag = " OVERRIDDEN" if i in ov else ""
        print(f"  [{i:2d}] {key_of.get(i, '?'):32s} {describe(spec)} card={spec.cardinality()} dim={spec.dim()}{flag}")
    d = cg.default_flat()
    print("  n_slots", len(cg.flat_spec), "encoded_dim", len(cg.encode_config(d)))
    card = 1
    for i, s in enumerate(cg.flat_spec):
        if i not in ov and s.cardinality():
            card *= s.cardinality()
    print(f"  product of cardinalities (non-overridden) = {card:.3e}")
    print("  block_size_indices", cg.block_size_indices, "num_warps_index", cg.num_warps_index)
    print("  overridden_flat_indices", sorted(ov))
    print("  default_flat", d)
    print("  default config", cg.unflatten(list(d)))
    import random
    random.seed(0)
    r = cg.random_flat()
    print("  random_flat", r)
    print("  unflatten(random)", cg.unflatten(list(r)))
    print("  encode(default)", [round(v, 2) for v in cg.encode_config(d)])
    # neighbor count like PatternSearch._generate_neighbors
    nb = sum(len(s.pattern_neighbors(d[i])) for i, s in enumerate(cg.flat_spec) if i not in ov)
    print("  single-slot radius-1 neighbours of default:", nb)
    try:
        code = bound.to_triton_code(cg.unflatten(list(d)))
        print("  codegen OK, chars:", len(code) if code else None)
    except Exception as e:
        print("  codegen failed:", type(e).__name__, str(e)[:200])
    return bound, cg


if __name__ == "__main__":
    torch.manual_seed(0)
    print("torch", torch.__version__, "helion", helion.__version__ if hasattr(helion, "__version__") else "?")
    for dt in (torch.float16, torch.float32):
        x = torch.randn(1024, 1024, dtype=dt)
        y = torch.randn(1024, 1024, dtype=dt)
        show(f"matmul {dt}", matmul_benchmark, (x, y))
    show("softmax f32 1024x1024", softmax, (torch.randn(1024, 1024),))
    show("sum f32 1024x1024", sum_rows, (torch.randn(1024, 1024),))
    qq = torch.randn(2, 4, 256, 64, dtype=torch.float16)  # NB: a module-global named `q` collides with the kernel local `q`
    show("attention f16 2x4x256x64", attention, (qq, qq.clone(), qq.clone()))
