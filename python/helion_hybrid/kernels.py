"""Helion kernels of the benchmark suite and the tests.

Module level, because Helion kernels cannot be closures. Helion reads its
``HELION_*`` settings (the backend among them) when a kernel is decorated, so
import this module only after they are set; :mod:`helion_hybrid.workloads`
does that for each workload.
"""

from __future__ import annotations

import helion
import helion.language as hl
import torch

SEED_OVERRIDES = {"range_unroll_factors": [0, 0], "range_num_stages": [0, 0]}


def _matmul(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The seed study's matmul, verbatim."""
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


# the seed study's kernel and overrides
matmul_seed = helion.kernel(static_shapes=True, autotune_config_overrides=SEED_OVERRIDES)(_matmul)
# the same matmul with Helion's full config space
matmul = helion.kernel(static_shapes=True)(_matmul)


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
def add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in hl.tile(out.size()):
        out[tile] = x[tile] + y[tile]
    return out


@helion.kernel(static_shapes=True)
def swiglu(gate: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    """silu(gate) * up, elementwise, computed in fp32."""
    out = torch.empty_like(gate)
    for tile in hl.tile(out.size()):
        g = gate[tile].to(torch.float32)
        out[tile] = (g * torch.sigmoid(g) * up[tile].to(torch.float32)).to(out.dtype)
    return out


@helion.kernel(static_shapes=True)
def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-row cross-entropy loss (fp32): log-sum-exp of the row minus the
    target's logit, log-softmax and NLL fused in one pass over the logits."""
    n, v = logits.size()
    losses = torch.empty([n], dtype=torch.float32, device=logits.device)
    flat = logits.view(-1)
    for tile_n in hl.tile(n):
        row = logits[tile_n, :].to(torch.float32)
        peak = torch.amax(row, dim=-1)
        log_sum_exp = peak + torch.log(torch.sum(torch.exp(row - peak[:, None]), dim=-1))
        picked = hl.load(flat, [tile_n.index * v + target[tile_n]]).to(torch.float32)
        losses[tile_n] = log_sum_exp - picked
    return losses


@helion.kernel(static_shapes=True)
def attention(q_in: torch.Tensor, k_in: torch.Tensor, v_in: torch.Tensor) -> torch.Tensor:
    """Non-causal attention, simplified from Helion's examples/attention.py."""
    m_dim = q_in.size(-2)
    n_dim = k_in.size(-2)
    head_dim = hl.specialize(q_in.size(-1))
    q_view = q_in.reshape([-1, m_dim, head_dim])
    v_view = v_in.reshape([-1, n_dim, head_dim])
    k_view = k_in.reshape([-1, n_dim, head_dim]).transpose(1, 2)
    out = torch.empty_like(q_view)
    sm_scale = 1.0 / (head_dim**0.5)
    qk_scale = sm_scale * 1.44269504
    for tile_b, tile_m in hl.tile([q_view.size(0), m_dim]):
        m_i = hl.full([tile_b, tile_m], float("-inf"), dtype=torch.float32)
        l_i = torch.full_like(m_i, 1.0)
        acc = hl.zeros([tile_b, tile_m, head_dim], dtype=torch.float32)
        q_tile = q_view[tile_b, tile_m, :]
        for tile_n in hl.tile(v_view.size(1)):
            k_tile = k_view[tile_b, :, tile_n]
            qk = torch.bmm(q_tile, k_tile)
            m_ij = torch.maximum(m_i, torch.amax(qk, -1) * qk_scale)
            qk = qk * qk_scale - m_ij[:, :, None]
            p = torch.exp2(qk)
            l_ij = torch.sum(p, -1)
            alpha = torch.exp2(m_i - m_ij)
            l_i = l_i * alpha + l_ij
            acc = acc * alpha[:, :, None]
            v_tile = v_view[tile_b, tile_n, :]
            p = p.to(v_tile.dtype)
            acc = torch.baddbmm(acc, p, v_tile)
            m_i = m_ij
        m_i += torch.log2(l_i)
        acc = acc / l_i[:, :, None]
        out[tile_b, tile_m, :] = acc.to(out.dtype)
    return out.view(q_in.size())
