"""Discrete search spaces: ordinal, categorical and boolean dimensions."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Union

import numpy as np
import numpy.typing as npt

from . import _core


@dataclasses.dataclass(frozen=True)
class Ordinal:
    """Ordered numeric levels, e.g. ``log2`` of the allowed block sizes.

    The model sees the value rescaled to [0, 1] over the dimension's range,
    so give values on the scale that distances should follow.

    Raises:
        TypeError: values that are not real numbers (e.g. a str).
        ValueError: no values, non-finite or not strictly increasing values,
            more than 2**20 of them (the C++ core's rules).
    """

    values: tuple[float, ...]
    name: str = ""

    def __post_init__(self) -> None:
        checked = _core.Dimension(_core.DimensionKind.ORDINAL, values=self.values, name=self.name)
        object.__setattr__(self, "values", checked.values)


@dataclasses.dataclass(frozen=True)
class Categorical:
    """``levels`` unordered choices (one-hot features).

    Raises:
        TypeError: ``levels`` is not an int (e.g. 2.5 or True).
        ValueError: fewer than 1 or more than 2**20 levels (each level is one
            model feature); checked at once, before anything is allocated.
    """

    levels: int
    name: str = ""

    def __post_init__(self) -> None:
        checked = _core.Dimension(_core.DimensionKind.CATEGORICAL, levels=self.levels, name=self.name)
        object.__setattr__(self, "levels", checked.levels)


@dataclasses.dataclass(frozen=True)
class Boolean:
    """A yes/no choice (one 0/1 feature)."""

    name: str = ""

    def __post_init__(self) -> None:
        _core.Dimension(_core.DimensionKind.BOOLEAN, name=self.name)


Dimension = Union[Ordinal, Categorical, Boolean]  # noqa: UP007 (a runtime alias on Python 3.10)


def _to_core(dim: Dimension) -> _core.Dimension:
    if isinstance(dim, Ordinal):
        return _core.Dimension(_core.DimensionKind.ORDINAL, values=dim.values, name=dim.name)
    if isinstance(dim, Categorical):
        return _core.Dimension(_core.DimensionKind.CATEGORICAL, levels=dim.levels, name=dim.name)
    if isinstance(dim, Boolean):
        return _core.Dimension(_core.DimensionKind.BOOLEAN, name=dim.name)
    raise TypeError(f"expected Ordinal, Categorical or Boolean, got {type(dim).__name__}")


class DiscreteSpace:
    """A product of discrete dimensions; a point is a vector of level indices.

    Immutable, so safe to share between threads.

    Args:
        dimensions: the dimensions, in order (at least one; at most 2**20
            model features in all).
    """

    def __init__(self, dimensions: Sequence[Dimension]) -> None:
        self.dimensions = tuple(dimensions)
        self._core = _core.DiscreteSpace([_to_core(d) for d in self.dimensions])

    @property
    def num_dims(self) -> int:
        """Number of dimensions (columns of a point array)."""
        return int(self._core.num_dims)

    @property
    def num_features(self) -> int:
        """Number of model features (one-hot categoricals count their levels)."""
        return int(self._core.num_features)

    @property
    def log10_size(self) -> float:
        """log10 of the number of points in the space."""
        return float(self._core.log10_size)

    def sample(self, count: int, seed: int = 0) -> npt.NDArray[np.int32]:
        """``count`` uniform random points, shape (count, num_dims); seeded.

        Raises:
            TypeError: ``count`` or ``seed`` is not an int.
            ValueError: a negative count or seed.
        """
        return self._core.sample(seed, count)

    def features(self, points: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Model features of points, shape (n, num_features)."""
        return self._core.features(points)

    def neighbours(self, point: npt.ArrayLike) -> npt.NDArray[np.int32]:
        """Single-step neighbours of one point: ordinal +-1 level, other
        levels of a categorical, the flipped boolean."""
        return self._core.neighbours(point)

    def validate(self, points: npt.ArrayLike) -> None:
        """Raise ValueError if any index is out of its dimension's range."""
        self._core.validate(points)

    @property
    def core(self) -> _core.DiscreteSpace:
        """The underlying ``helion_hybrid._core.DiscreteSpace``."""
        return self._core


class PointSet:
    """A set of points (exact index vectors), e.g. those already tried.

    Safe to share between threads: :meth:`add` is exclusive, lookups (and
    acquisition maximisation excluding the set) run concurrently.
    """

    def __init__(self, num_dims: int) -> None:
        self._core = _core.PointSet(num_dims)

    def add(self, points: npt.ArrayLike) -> None:
        """Add points, shape (n, num_dims)."""
        self._core.add(points)

    def __contains__(self, point: object) -> bool:
        return bool(self._core.contains(point))

    def __len__(self) -> int:
        return len(self._core)

    @property
    def core(self) -> _core.PointSet:
        """The underlying ``helion_hybrid._core.PointSet``."""
        return self._core
