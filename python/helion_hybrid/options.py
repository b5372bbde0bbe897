"""Exact-type checks for search options (used by each search's frozen
options dataclass in ``__post_init__``): an int option rejects 2.5, inf,
NaN and True; nothing is silently truncated."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


def check_int(owner: str, name: str, value: Any, minimum: int = 0, maximum: int | None = None) -> None:
    """``value`` is an int (not a bool) within [minimum, maximum]."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{owner} option {name} must be an int, got {value!r} ({type(value).__name__})")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{owner} option {name} must be {bound}, got {value}")


def check_float(
    owner: str,
    name: str,
    value: Any,
    low: float,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """``value`` is a finite real number within the given bounds."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner} option {name} must be a number, got {value!r} ({type(value).__name__})")
    if not math.isfinite(value):
        raise ValueError(f"{owner} option {name} must be finite, got {value}")
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{owner} option {name} must be in {left}{low}, {high}{right}, got {value}")


def check_bool(owner: str, name: str, value: Any) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner} option {name} must be True or False, got {value!r}")


def with_overrides(defaults: T, overrides: dict[str, Any]) -> T:
    """``defaults`` (a frozen dataclass) with the given non-None keyword
    values applied; its ``__post_init__`` checks the result."""
    fields = {f.name for f in dataclasses.fields(defaults)}  # type: ignore[arg-type]
    given = {name: value for name, value in overrides.items() if name in fields and value is not None}
    return dataclasses.replace(defaults, **given)  # type: ignore[type-var]
