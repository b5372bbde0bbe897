"""DiscreteSpace: sampling, features, neighbours, validation."""

from __future__ import annotations

import numpy as np
import pytest

import helion_hybrid as hh


@pytest.fixture
def space() -> hh.DiscreteSpace:
    return hh.DiscreteSpace(
        [
            hh.Ordinal((4.0, 5.0, 6.0, 7.0), name="block_m"),
            hh.Categorical(3, name="pid_type"),
            hh.Boolean(name="flatten"),
            hh.Ordinal((1.0,), name="fixed"),
        ]
    )


def test_sizes(space):
    assert space.num_dims == 4
    assert space.num_features == 1 + 3 + 1 + 1
    assert space.log10_size == pytest.approx(np.log10(4 * 3 * 2 * 1))


def test_sampling_is_uniform_in_range_and_seeded(space):
    a = space.sample(20000, seed=5)
    assert a.shape == (20000, 4) and a.dtype == np.int32
    assert a.min(axis=0).tolist() == [0, 0, 0, 0]
    assert a.max(axis=0).tolist() == [3, 2, 1, 0]
    counts = np.bincount(a[:, 0], minlength=4) / len(a)
    np.testing.assert_allclose(counts, 0.25, atol=0.02)
    np.testing.assert_array_equal(a, space.sample(20000, seed=5))
    assert not np.array_equal(a, space.sample(20000, seed=6))


def test_features(space):
    f = space.features([[0, 2, 1, 0], [3, 0, 0, 0]])
    s = 1 / np.sqrt(2)
    np.testing.assert_allclose(f[0], [0.0, 0, 0, s, 1, 0])
    np.testing.assert_allclose(f[1], [1.0, s, 0, 0, 0, 0])
    # two different categorical levels are at distance 1
    a, b = space.features([[0, 0, 0, 0], [0, 1, 0, 0]])
    assert np.linalg.norm(a - b) == pytest.approx(1.0)


def test_neighbours(space):
    n = space.neighbours([1, 0, 0, 0])
    expected = {(0, 0, 0, 0), (2, 0, 0, 0), (1, 1, 0, 0), (1, 2, 0, 0), (1, 0, 1, 0)}
    assert {tuple(r) for r in n.tolist()} == expected
    edge = space.neighbours([3, 1, 1, 0])
    assert {tuple(r) for r in edge.tolist()} == {(2, 1, 1, 0), (3, 0, 1, 0), (3, 2, 1, 0), (3, 1, 0, 0)}


def test_validation(space):
    with pytest.raises(ValueError):
        space.validate([[4, 0, 0, 0]])
    with pytest.raises(ValueError):
        space.features([[0, -1, 0, 0]])
    with pytest.raises(ValueError, match="columns"):
        space.features([[0, 0, 0]])
    with pytest.raises(TypeError):
        space.features([[0.5, 0, 0, 0]])
    with pytest.raises(ValueError):
        hh.DiscreteSpace([])
    with pytest.raises(ValueError):
        hh.Ordinal((2.0, 1.0))
    with pytest.raises(ValueError):
        hh.Categorical(0)
    with pytest.raises(TypeError):
        hh.DiscreteSpace(["not a dimension"])


def test_point_set(space):
    seen = hh.PointSet(space.num_dims)
    pts = space.sample(10, seed=1)
    seen.add(pts)
    assert pts[0] in seen
    assert len(seen) == len({tuple(p) for p in pts.tolist()})
    assert np.array([3, 2, 1, 0]) in seen or len(seen) <= 10
