"""Shared fixtures: synthetic GP data on a mixed discrete space."""

from __future__ import annotations

import numpy as np
import pytest


def matern52(a: np.ndarray, b: np.ndarray, lengthscales: np.ndarray, signal_variance: float) -> np.ndarray:
    """Reference Matern-5/2 ARD covariance in plain NumPy."""
    diff = (a[:, None, :] - b[None, :, :]) / lengthscales
    r = np.sqrt(np.sum(diff**2, axis=-1))
    s5 = np.sqrt(5.0) * r
    return signal_variance * (1.0 + s5 + 5.0 / 3.0 * r**2) * np.exp(-s5)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def smooth_objective(X: np.ndarray) -> np.ndarray:
    """A smooth test function with structure along a few dimensions."""
    return np.sin(3 * X[:, 0]) + 0.5 * X[:, 1] ** 2 - 0.3 * X[:, 2] + 0.1 * X.sum(axis=1)
