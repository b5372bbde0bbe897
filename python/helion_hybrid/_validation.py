"""Input checks for the pure-Python helpers (e.g. :func:`merge_duplicates`).

The engine's own rules live in one place each: array types and shapes in the
C++ bindings, values in the C++ core. This module serves only code that never
reaches the core.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def as_float_array(value: Any, name: str, ndim: int) -> npt.NDArray[np.float64]:
    """Convert to a C-contiguous float64 array of `ndim` dimensions.

    Raises:
        TypeError: for non-numeric input.
        ValueError: for a wrong number of dimensions, an empty array, NaN or inf.
    """
    array = np.asarray(value)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.bool_)):
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    if np.iscomplexobj(array):
        raise TypeError(f"{name} must be real, got dtype {array.dtype}")
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    array = np.ascontiguousarray(array, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or inf")
    return array
