"""Discrete search spaces: ordinal, categorical and boolean dimensions."""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence, Union

import numpy as np
import numpy.typing as npt

from . import _core
from ._validation import as_index_array


@dataclasses.dataclass(frozen=True)
class Ordinal:
    """Ordered numeric levels, e.g. ``log2`` of the allowed block sizes.

    The model sees the value rescaled to [0, 1] over the dimension's range,
    so give values on the scale that distances should follow.
    """

    values: tuple[float, ...]
    name: str = ""

    def __post_init__(self) -> None:
        values = tuple(float(v) for v in self.values)
        object.__setattr__(self, "values", values)
        if not values:
            raise ValueError(f"ordinal dimension {self.name!r} needs at least one value")
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"ordinal dimension {self.name!r} has a non-finite value")
        if any(b <= a for a, b in zip(values, values[1:])):
            raise ValueError(f"ordinal dimension {self.name!r} values must be strictly increasing")


@dataclasses.dataclass(frozen=True)
class Categorical:
    """``levels`` unordered choices (one-hot features)."""

    levels: int
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.levels, (int, np.integer)) or self.levels < 1:
            raise ValueError(f"categorical dimension {self.name!r} needs levels >= 1, got {self.levels!r}")


@dataclasses.dataclass(frozen=True)
class Boolean:
    """A yes/no choice (one 0/1 feature)."""

    name: str = ""


Dimension = Union[Ordinal, Categorical, Boolean]


def _to_core(dim: Dimension) -> tuple[_core.DimensionKind, list[float], str]:
    if isinstance(dim, Ordinal):
        return (_core.DimensionKind.ORDINAL, list(dim.values), dim.name)
    if isinstance(dim, Categorical):
        return (_core.DimensionKind.CATEGORICAL, [float(i) for i in range(dim.levels)], dim.name)
    if isinstance(dim, Boolean):
        return (_core.DimensionKind.BOOLEAN, [0.0, 1.0], dim.name)
    raise TypeError(f"expected Ordinal, Categorical or Boolean, got {type(dim).__name__}")


class DiscreteSpace:
    """A product of discrete dimensions; a point is a vector of level indices.

    Args:
        dimensions: the dimensions, in order.
    """

    def __init__(self, dimensions: Sequence[Dimension]) -> None:
        dimensions = tuple(dimensions)
        if not dimensions:
            raise ValueError("a DiscreteSpace needs at least one dimension")
        self.dimensions = dimensions
        self._core = _core.DiscreteSpace([_to_core(d) for d in dimensions])

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
        """``count`` uniform random points, shape (count, num_dims); seeded."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        return self._core.sample(int(seed), int(count))

    def features(self, points: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Model features of points, shape (n, num_features)."""
        return self._core.features(self._points(points))

    def neighbours(self, point: npt.ArrayLike) -> npt.NDArray[np.int32]:
        """Single-step neighbours of one point: ordinal +-1 level, other
        levels of a categorical, the flipped boolean."""
        point = as_index_array(point, "point", 1)
        return self._core.neighbours(point)

    def validate(self, points: npt.ArrayLike) -> None:
        """Raise ValueError if any index is out of its dimension's range."""
        self._core.validate(self._points(points))

    def _points(self, points: npt.ArrayLike) -> npt.NDArray[np.int32]:
        points = as_index_array(points, "points", 2)
        if points.shape[1] != self.num_dims:
            raise ValueError(f"points must have {self.num_dims} columns, got shape {points.shape}")
        return points

    @property
    def core(self) -> _core.DiscreteSpace:
        """The underlying ``helion_hybrid._core.DiscreteSpace``."""
        return self._core


class PointSet:
    """A set of points (exact index vectors), e.g. those already tried."""

    def __init__(self, num_dims: int) -> None:
        if num_dims < 1:
            raise ValueError(f"num_dims must be >= 1, got {num_dims}")
        self._core = _core.PointSet(int(num_dims))

    def add(self, points: npt.ArrayLike) -> None:
        """Add points, shape (n, num_dims)."""
        points = as_index_array(points, "points", 2)
        self._core.add(points)

    def __contains__(self, point: object) -> bool:
        return bool(self._core.contains(as_index_array(point, "point", 1)))

    def __len__(self) -> int:
        return len(self._core)

    @property
    def core(self) -> _core.PointSet:
        """The underlying ``helion_hybrid._core.PointSet``."""
        return self._core
