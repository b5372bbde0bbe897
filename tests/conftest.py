"""Shared fixtures: synthetic GP data on a mixed discrete space."""

from __future__ import annotations

import os

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


# tuning_store.ENVIRONMENT_VARIABLE, spelled out so that conftest imports
# nothing of the package (no extension loaded before a test asks for it)
TUNING_STORE_VARIABLE = "HELION_HYBRID_TUNING_STORE"


@pytest.fixture(scope="session", autouse=True)
def _tuning_store_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory):
    """Searches write their tunings to a folder of this session, never to
    the user's cache (subprocess autotunes inherit the variable)."""
    previous = os.environ.get(TUNING_STORE_VARIABLE)
    os.environ[TUNING_STORE_VARIABLE] = str(tmp_path_factory.mktemp("tuning_store"))
    yield
    if previous is None:
        os.environ.pop(TUNING_STORE_VARIABLE, None)
    else:
        os.environ[TUNING_STORE_VARIABLE] = previous
