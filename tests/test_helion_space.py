"""The Helion config-space bridge on the real config specs of real kernels."""

from __future__ import annotations

import random

import numpy as np
import pytest

pytest.importorskip("helion", reason="helion is part of the test install (pip install -e '.[test]')")

from helion.autotuner import config_fragment as cf  # noqa: E402
from helion_kernels import bound_cpu_kernels  # noqa: E402

from helion_hybrid.helion_space import HelionConfigSpace  # noqa: E402

KERNELS = bound_cpu_kernels()


def _config_gen(bound):
    return bound.config_spec.create_config_generation(overrides=bound.settings.autotune_config_overrides or None)


@pytest.fixture(params=sorted(KERNELS))
def bridge(request) -> HelionConfigSpace:
    return HelionConfigSpace(_config_gen(KERNELS[request.param]))


def test_every_searchable_slot_is_mapped(bridge):
    gen = bridge.config_gen
    mapped = {d.slot for d in bridge.dimensions}
    for slot, fragment in enumerate(gen.flat_spec):
        if slot in gen.overridden_flat_indices:
            assert slot not in mapped
            continue
        card = fragment.cardinality()
        if isinstance(fragment, cf.ListOf):
            inner = fragment.inner.cardinality()
            searchable = fragment.length > 0 and (inner is None or inner > 1)
        else:
            searchable = card is None or card > 1
        assert (slot in mapped) == searchable, f"slot {slot} {fragment}"


def test_matmul_space_matches_helion():
    bridge = HelionConfigSpace(_config_gen(KERNELS["matmul"]))
    names = [d.name for d in bridge.dimensions]
    # overridden range_unroll_factors / range_num_stages are not searched
    assert not any(n.startswith(("range_unroll_factors", "range_num_stages")) for n in names)
    block = bridge.dimensions[names.index("block_sizes[0]")]
    assert block.values == (16, 32, 64, 128, 256, 512, 1024)
    assert "pid_type" in names and "num_warps" in names


def test_default_and_random_configs_round_trip(bridge):
    gen = bridge.config_gen
    random.seed(0)
    flats = [gen.default_flat()] + [gen.random_flat() for _ in range(50)]
    for flat in flats:
        point = bridge.encode(flat)
        decoded = bridge.decode(point)
        # every searched value survives; unsearched slots carry defaults
        for dim, level in zip(bridge.dimensions, point):
            value = flat[dim.slot] if dim.element is None else flat[dim.slot][dim.element]
            assert dim.values[level] == value, dim.name
        np.testing.assert_array_equal(bridge.encode(decoded), point)
        # Helion accepts what we decode and gives back the same config
        assert gen.unflatten(decoded) == gen.unflatten(
            [v if i not in bridge.fixed_slots else decoded[i] for i, v in enumerate(flat)]
        )


def test_sampled_points_decode_to_valid_helion_configs(bridge):
    gen = bridge.config_gen
    points = bridge.space.sample(200, seed=3)
    valid = 0
    for point in points:
        flat = bridge.decode(point)
        try:
            gen.unflatten(flat)
            valid += 1
        except Exception as error:  # InvalidConfig is acceptable, crashes are not
            assert type(error).__name__ == "InvalidConfig", repr(error)
    assert valid > 100


def test_neighbours_are_one_helion_move_apart(bridge):
    gen = bridge.config_gen
    point = bridge.encode(gen.default_flat())
    base = bridge.decode(point)
    for neighbour in bridge.space.neighbours(point):
        flat = bridge.decode(neighbour)
        changed = [i for i, (a, b) in enumerate(zip(base, flat)) if a != b]
        assert len(changed) == 1
        slot = changed[0]
        fragment = gen.flat_spec[slot]
        if isinstance(fragment, (cf.PowerOfTwoFragment, cf.BooleanFragment)):
            # the same move Helion's radius-1 pattern search makes
            assert flat[slot] in fragment.pattern_neighbors(base[slot])


def test_decode_rejects_bad_points(bridge):
    with pytest.raises(ValueError):
        bridge.decode(np.zeros(bridge.num_dims + 1, dtype=np.int32))
    bad = np.zeros(bridge.num_dims, dtype=np.int32)
    bad[0] = 10_000
    with pytest.raises(ValueError):
        bridge.decode(bad)
    with pytest.raises(ValueError):
        bridge.encode([0])
