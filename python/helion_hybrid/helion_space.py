"""Bridge between a Helion kernel's config space and a :class:`DiscreteSpace`.

Helion describes a kernel's configs as a flat list of fragments
(``ConfigGeneration.flat_spec``). Each searchable fragment becomes one or more
discrete dimensions here:

=========================  ==================================================
Helion fragment            dimension(s)
=========================  ==================================================
PowerOfTwoFragment         Ordinal over log2 of the allowed powers of two
(BlockSize, NumWarps)
IntegerFragment            Ordinal over the integers low..high
NumThreadsFragment         Ordinal over 0 ("auto") and the powers of two
EnumFragment               Categorical over the active (search) choices
BooleanFragment            Boolean
PermutationFragment        Categorical over all permutations (length <= 5)
ListOf(inner, n)           n dimensions, one per element, each as ``inner``
=========================  ==================================================

Overridden slots (``autotune_config_overrides``) and slots with a single
possible value are not searched: decoding writes the default there (Helion
re-applies overrides in ``unflatten``). An unknown fragment type is kept at
its default, with a warning, rather than failing the search.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .space import Boolean, Categorical, DiscreteSpace, Ordinal

if TYPE_CHECKING:
    from helion.autotuner.config_generation import ConfigGeneration, FlatConfig

# A permutation of more elements would need too many one-hot features; such
# slots stay at their default.
MAX_PERMUTATION_LENGTH = 5


@dataclasses.dataclass(frozen=True)
class SlotDimension:
    """One discrete dimension and where its value lives in a flat config.

    Attributes:
        slot: index into ``flat_spec``.
        element: index inside a ``ListOf`` value, or None for a scalar slot.
        values: the Helion value of each level, in level order.
        numeric: numeric position of each level (ordinals), for nearest-level
            lookup of values that are not exactly a level.
        name: a readable name, e.g. ``block_sizes[1]`` or ``indexing[0]``.
    """

    slot: int
    element: int | None
    values: tuple[Any, ...]
    numeric: tuple[float, ...] | None
    name: str


def _slot_names(config_gen: ConfigGeneration) -> dict[int, str]:
    names: dict[int, str] = {}
    layout = getattr(config_gen, "_key_to_flat_indices", None)
    if isinstance(layout, dict):
        for key, (indices, is_sequence) in layout.items():
            for j, index in enumerate(indices):
                names[index] = f"{key}[{j}]" if is_sequence else str(key)
    return names


def _levels(fragment: Any) -> tuple[tuple[Any, ...], tuple[float, ...] | None, str] | None:
    """(values, numeric positions or None, kind) for a scalar fragment.

    kind is 'ordinal', 'categorical' or 'boolean'; None when unsupported.
    """
    from helion.autotuner import config_fragment as cf

    if isinstance(fragment, cf.PowerOfTwoFragment):
        low, high = int(fragment.low), int(fragment.high)
        exponents = range(int(math.log2(low)), int(math.log2(high)) + 1)
        values = tuple(2**e for e in exponents)
        return values, tuple(float(e) for e in exponents), "ordinal"
    if isinstance(fragment, cf.BaseIntegerFragment):
        values = tuple(range(int(fragment.low), int(fragment.high) + 1))
        return values, tuple(float(v) for v in values), "ordinal"
    num_threads = getattr(cf, "NumThreadsFragment", None)
    if num_threads is not None and isinstance(fragment, num_threads):
        values = (0, *(1 << e for e in range(int(fragment.high).bit_length())))
        return values, tuple(float(i) for i in range(len(values))), "ordinal"
    if isinstance(fragment, cf.EnumFragment):
        choices = fragment.search_choices if fragment.search_choices is not None else fragment.choices
        return tuple(choices), None, "categorical"
    if isinstance(fragment, cf.BooleanFragment):
        return (False, True), None, "boolean"
    if isinstance(fragment, cf.PermutationFragment):
        if fragment.length > MAX_PERMUTATION_LENGTH:
            return None
        values = tuple(list(p) for p in itertools.permutations(range(fragment.length)))
        return values, None, "categorical"
    return None


def describe_fragment(fragment: Any) -> Any:
    """A config-space fragment as JSON (as ``bench/run_search.py`` records
    it): its class name and its public fields, recursively."""
    fields = getattr(fragment, "__dict__", None)
    if fields is None:
        return list(fragment) if isinstance(fragment, tuple) else fragment
    return {
        "kind": type(fragment).__name__,
        **{k: describe_fragment(v) for k, v in fields.items() if not k.startswith("_")},
    }


class HelionConfigSpace:
    """The searchable part of a Helion config space as a :class:`DiscreteSpace`.

    Args:
        config_gen: the bound kernel's ``ConfigGeneration`` (a search's
            ``self.config_gen``).

    Attributes:
        space: the discrete space the C++ engine searches.
        dimensions: one :class:`SlotDimension` per space dimension.
        fixed_slots: flat indices that are not searched.
    """

    def __init__(self, config_gen: ConfigGeneration) -> None:
        from helion.autotuner import config_fragment as cf

        self.config_gen = config_gen
        self.flat_spec = list(config_gen.flat_spec)
        self.default_flat: list[Any] = list(config_gen.default_flat())
        overridden = set(config_gen.overridden_flat_indices)
        names = _slot_names(config_gen)
        dims: list[Ordinal | Categorical | Boolean] = []
        slot_dims: list[SlotDimension] = []
        fixed: list[int] = []
        for slot, fragment in enumerate(self.flat_spec):
            name = names.get(slot, f"slot{slot}")
            if slot in overridden:
                fixed.append(slot)
                continue
            parts: list[tuple[int | None, Any]]
            if isinstance(fragment, cf.ListOf):
                parts = [(element, fragment.inner) for element in range(int(fragment.length))]
            else:
                parts = [(None, fragment)]
            searched = False
            for element, inner in parts:
                levels = _levels(inner)
                if levels is None:
                    warnings.warn(
                        f"helion_hybrid: {type(inner).__name__} in slot {name} is not searched (kept at its default)",
                        stacklevel=2,
                    )
                    continue
                values, numeric, kind = levels
                if len(values) < 2:
                    continue  # nothing to choose
                full_name = name if element is None else f"{name}[{element}]"
                if kind == "ordinal":
                    assert numeric is not None
                    dims.append(Ordinal(numeric, name=full_name))
                elif kind == "boolean":
                    dims.append(Boolean(name=full_name))
                else:
                    dims.append(Categorical(len(values), name=full_name))
                slot_dims.append(SlotDimension(slot, element, values, numeric, full_name))
                searched = True
            if not searched:
                fixed.append(slot)
        if not dims:
            raise ValueError("this kernel has no searchable config slots")
        self.dimensions: tuple[SlotDimension, ...] = tuple(slot_dims)
        self.fixed_slots: tuple[int, ...] = tuple(fixed)
        self.space = DiscreteSpace(dims)

    @property
    def num_dims(self) -> int:
        """Number of discrete dimensions."""
        return self.space.num_dims

    @staticmethod
    def _level_of(dim: SlotDimension, value: Any) -> int:
        """Level index of a value; the nearest level for a number between
        levels (on a log scale when all levels are positive); level 0 for a
        value the dimension does not know."""
        for level, candidate in enumerate(dim.values):
            if candidate == value and type(candidate) is type(value):
                return level
        numeric_value = isinstance(value, (int, float)) and not isinstance(value, bool)
        if dim.numeric is None or not numeric_value:
            return 0
        if all(v > 0 for v in dim.values) and value > 0:
            distances = [abs(math.log2(v) - math.log2(value)) for v in dim.values]
        else:
            distances = [abs(v - value) for v in dim.values]
        return int(np.argmin(distances))

    def encode(self, flat: Sequence[Any]) -> npt.NDArray[np.int32]:
        """Level indices of a flat config, shape (num_dims,).

        Raises:
            ValueError: if the flat config does not match the spec's length.
        """
        if len(flat) != len(self.flat_spec):
            raise ValueError(f"flat config has {len(flat)} slots, the spec has {len(self.flat_spec)}")
        point = np.empty(self.num_dims, dtype=np.int32)
        for i, dim in enumerate(self.dimensions):
            value = flat[dim.slot]
            if dim.element is not None:
                value = value[dim.element] if isinstance(value, (list, tuple)) and dim.element < len(value) else None
            point[i] = self._level_of(dim, value)
        return point

    def encode_many(self, flats: Sequence[Sequence[Any]]) -> npt.NDArray[np.int32]:
        """Level indices of several flat configs, shape (n, num_dims)."""
        if not flats:
            return np.empty((0, self.num_dims), dtype=np.int32)
        return np.stack([self.encode(flat) for flat in flats])

    def decode(self, point: npt.ArrayLike) -> FlatConfig:
        """The flat config of a point; unsearched slots hold their default."""
        point = np.asarray(point)
        if point.shape != (self.num_dims,):
            raise ValueError(f"point must have shape ({self.num_dims},), got {point.shape}")
        flat: list[Any] = [list(v) if isinstance(v, list) else v for v in self.default_flat]
        for level, dim in zip(point.tolist(), self.dimensions):
            if not 0 <= level < len(dim.values):
                raise ValueError(f"level {level} out of range for {dim.name} ({len(dim.values)} levels)")
            value = dim.values[level]
            value = list(value) if isinstance(value, list) else value
            if dim.element is None:
                flat[dim.slot] = value
            else:
                flat[dim.slot][dim.element] = value
        return flat

    def features(self, flats: Sequence[Sequence[Any]]) -> npt.NDArray[np.float64]:
        """Model features of flat configs, shape (n, num_features)."""
        return self.space.features(self.encode_many(flats))

    def describe(self) -> str:
        """One line per dimension, for logs."""
        lines = [
            f"{self.num_dims} searched dimensions, {self.space.num_features} features, "
            f"about 1e{self.space.log10_size:.1f} points; fixed slots {list(self.fixed_slots)}"
        ]
        lines += [f"  {d.name}: {len(d.values)} levels {list(d.values)[:8]}" for d in self.dimensions]
        return "\n".join(lines)
