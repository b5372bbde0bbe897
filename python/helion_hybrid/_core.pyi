"""Type stubs for the private C++ extension ``helion_hybrid._core``.

Use the public wrappers in :mod:`helion_hybrid` instead; they map names and
document behaviour. The bindings convert with exact types (an int argument
rejects bool, float and str: TypeError); the C++ core decides which values
are allowed (ValueError).
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np
import numpy.typing as npt

_Float = npt.NDArray[np.float64]
_Index = npt.NDArray[np.int32]

class FitOptions:
    restarts: int
    max_iterations: int
    tolerance: float
    seed: int
    warm_start: bool
    threads: int
    screening_size: int
    lengthscale_min: float
    lengthscale_max: float
    signal_variance_min: float
    signal_variance_max: float
    noise_min: float
    noise_max: float
    lengthscale_prior_center: float
    lengthscale_prior_width: float
    mean_min: float
    mean_max: float
    def __init__(self, **options: Any) -> None: ...
    def replace(self, **changes: Any) -> FitOptions: ...

class GaussianProcess:
    def __init__(self, dim: int) -> None: ...
    @property
    def dim(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def log_marginal_likelihood(self) -> float: ...
    def set_data(self, X: npt.ArrayLike, y: npt.ArrayLike, repetitions: npt.ArrayLike | None = None) -> None: ...
    def add_points(self, X: npt.ArrayLike, y: npt.ArrayLike, repetitions: npt.ArrayLike | None = None) -> None: ...
    def set_hyperparameters(
        self,
        lengthscales: npt.ArrayLike,
        signal_variance: float,
        noise_variance: float,
        noise_floor: float,
        mean: float,
    ) -> None: ...
    def hyperparameters(self) -> dict[str, Any]: ...
    def fit(self, options: FitOptions) -> dict[str, float | int]: ...
    def fit_data(
        self, X: npt.ArrayLike, y: npt.ArrayLike, repetitions: npt.ArrayLike | None, options: FitOptions
    ) -> dict[str, float | int]: ...
    def lml_and_gradient(self, packed: npt.ArrayLike) -> tuple[float, _Float]: ...
    def pack(self) -> _Float: ...
    def predict(self, X: npt.ArrayLike, threads: int = 0) -> tuple[_Float, _Float]: ...
    def predict_mean(self, X: npt.ArrayLike, threads: int = 0) -> _Float: ...

class DimensionKind(enum.Enum):
    ORDINAL = 0
    CATEGORICAL = 1
    BOOLEAN = 2

class Dimension:
    def __init__(self, kind: DimensionKind, values: Any = (), levels: int = 0, name: str = "") -> None: ...
    @property
    def kind(self) -> DimensionKind: ...
    @property
    def levels(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def values(self) -> tuple[float, ...]: ...

class DiscreteSpace:
    def __init__(self, dimensions: list[Dimension]) -> None: ...
    @property
    def num_dims(self) -> int: ...
    @property
    def num_features(self) -> int: ...
    @property
    def log10_size(self) -> float: ...
    def sample(self, seed: int, count: int) -> _Index: ...
    def features(self, points: npt.ArrayLike) -> _Float: ...
    def neighbours(self, point: npt.ArrayLike) -> _Index: ...
    def validate(self, points: npt.ArrayLike) -> None: ...

class PointSet:
    def __init__(self, num_dims: int) -> None: ...
    @property
    def num_dims(self) -> int: ...
    def add(self, points: npt.ArrayLike) -> None: ...
    def contains(self, point: npt.ArrayLike) -> bool: ...
    def __len__(self) -> int: ...

class AcquisitionOptions:
    kind: int
    best: float
    ucb_beta: float
    batch_size: int
    pool_size: int
    local_starts: int
    local_max_steps: int
    seed: int
    threads: int
    fantasy_repetitions: float
    feasibility_floor: float
    max_categorical_neighbours: int
    prune: bool
    def __init__(self, **options: Any) -> None: ...
    def replace(self, **changes: Any) -> AcquisitionOptions: ...

def validate_hyperparameters(
    lengthscales: Any, signal_variance: float, noise_variance: float, noise_floor: float, mean: float
) -> tuple[tuple[float, ...], float, float, float, float]: ...
def set_num_threads(threads: int) -> None: ...
def get_num_threads() -> int: ...
def log_expected_improvement(mean: npt.ArrayLike, variance: npt.ArrayLike, best: float) -> _Float: ...
def expected_improvement(mean: npt.ArrayLike, variance: npt.ArrayLike, best: float) -> _Float: ...
def maximize_acquisition(
    space: DiscreteSpace,
    objective: GaussianProcess,
    cost: GaussianProcess | None = None,
    feasibility: GaussianProcess | None = None,
    options: AcquisitionOptions = ...,
    exclude: PointSet | None = None,
    incumbents: npt.ArrayLike | None = None,
) -> dict[str, Any]: ...
def score_points(
    space: DiscreteSpace,
    objective: GaussianProcess,
    cost: GaussianProcess | None,
    feasibility: GaussianProcess | None,
    options: AcquisitionOptions,
    points: npt.ArrayLike,
) -> _Float: ...
