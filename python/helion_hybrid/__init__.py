"""helion_hybrid: fast autotuning for Helion kernels.

The public API re-exports the private C++ extension ``helion_hybrid._core``
through small Python wrappers that validate their inputs:

* :class:`GaussianProcess` -- Matern-5/2 ARD Gaussian-process regression with
  multi-fidelity (per-repetition) noise.
* :class:`DiscreteSpace` with :class:`Ordinal`, :class:`Categorical` and
  :class:`Boolean` dimensions -- discrete search spaces.
* :func:`maximize_acquisition` -- a diverse batch of points maximising
  log-EI / EI / UCB / EI per cost over a discrete space.
"""

from __future__ import annotations

from ._openblas import preload_openblas

preload_openblas()

from . import _core  # noqa: E402
from .acquisition import (  # noqa: E402
    AcquisitionResult,
    expected_improvement,
    log_expected_improvement,
    maximize_acquisition,
    score_points,
)
from .gp import GaussianProcess, Hyperparameters, NotFittedError, merge_duplicates  # noqa: E402
from .space import Boolean, Categorical, DiscreteSpace, Ordinal, PointSet  # noqa: E402

__version__ = "0.1.0"


def _register_with_helion() -> bool:
    """Register the searches with Helion when it is installed."""
    try:
        import helion.autotuner  # noqa: F401
    except ImportError:
        return False
    from .registration import register

    register()
    return True


HELION_AVAILABLE = _register_with_helion()
if HELION_AVAILABLE:
    from ._search_base import last_search  # noqa: E402
    from .hybrid_search import HybridSearch  # noqa: E402
    from .mfbo_search import MultiFidelityBayesianSearch  # noqa: E402
    from .registration import hybrid_autotuner_fn, mfbo_autotuner_fn  # noqa: E402


def set_num_threads(threads: int) -> None:
    """Set how many threads the C++ core uses when a call does not say.

    Results do not depend on it (the core splits work at fixed boundaries
    and runs BLAS single-threaded), only the speed does.

    Args:
        threads: a thread count (an int); 0 resets it to the hardware's
            count. This is the total: BLAS runs single-threaded inside.

    Raises:
        TypeError: ``threads`` is not an int (e.g. 1.9).
        ValueError: ``threads`` is negative.
    """
    _core.set_num_threads(threads)


def get_num_threads() -> int:
    """Return the core's default thread count."""
    return int(_core.get_num_threads())


__all__ = [
    "HELION_AVAILABLE",
    "AcquisitionResult",
    "Boolean",
    "Categorical",
    "DiscreteSpace",
    "GaussianProcess",
    "Hyperparameters",
    "NotFittedError",
    "Ordinal",
    "PointSet",
    "expected_improvement",
    "get_num_threads",
    "log_expected_improvement",
    "maximize_acquisition",
    "merge_duplicates",
    "score_points",
    "set_num_threads",
]
if HELION_AVAILABLE:
    __all__ += [
        "HybridSearch",
        "MultiFidelityBayesianSearch",
        "hybrid_autotuner_fn",
        "last_search",
        "mfbo_autotuner_fn",
    ]
