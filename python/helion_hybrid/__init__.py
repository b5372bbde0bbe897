"""helion_hybrid: fast autotuning for Helion kernels.

The public API re-exports the private C++ extension ``helion_hybrid._core``
through small Python wrappers that validate their inputs:

* :class:`GaussianProcess` -- Matern-5/2 ARD Gaussian-process regression with
  multi-fidelity (per-repetition) noise.
* :class:`DiscreteSpace` with :class:`Ordinal`, :class:`Categorical` and
  :class:`Boolean` dimensions -- discrete search spaces.
* :func:`maximize_acquisition` -- a diverse batch of points maximising
  log-EI / EI / UCB / EI per cost over a discrete space.
* :class:`HybridSearch` and :class:`MultiFidelityBayesianSearch` -- the Helion
  searches (need Helion), registered with Helion when it is imported.

Importing the package is cheap: every name above is imported on first use
(module ``__getattr__``), and so are NumPy, OpenBLAS and the extension.
``import helion_hybrid`` imports no Helion or torch; it arms the hook of
:mod:`helion_hybrid._autoregister` (which the ``.pth`` file installed with
the package also arms at start-up), so that ``HELION_AUTOTUNER=HybridSearch``
works once Helion is imported.
"""

# Nothing at module level imports more than this package's _autoregister:
# the .pth start-up hook imports this module in every interpreter.
from . import _autoregister

# public name -> submodule that defines it
_ENGINE_NAMES = {
    "AcquisitionResult": "acquisition",
    "expected_improvement": "acquisition",
    "log_expected_improvement": "acquisition",
    "maximize_acquisition": "acquisition",
    "score_points": "acquisition",
    "GaussianProcess": "gp",
    "Hyperparameters": "gp",
    "NotFittedError": "gp",
    "merge_duplicates": "gp",
    "Boolean": "space",
    "Categorical": "space",
    "DiscreteSpace": "space",
    "Ordinal": "space",
    "PointSet": "space",
}
# these need Helion
_HELION_NAMES = {
    "HybridSearch": "hybrid_search",
    "MultiFidelityBayesianSearch": "mfbo_search",
    "last_search": "_search_base",
    "hybrid_autotuner_fn": "registration",
    "mfbo_autotuner_fn": "registration",
}

TYPE_CHECKING = False
if TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
    from . import _core
    from ._search_base import last_search
    from .acquisition import (
        AcquisitionResult,
        expected_improvement,
        log_expected_improvement,
        maximize_acquisition,
        score_points,
    )
    from .gp import GaussianProcess, Hyperparameters, NotFittedError, merge_duplicates
    from .hybrid_search import HybridSearch
    from .mfbo_search import MultiFidelityBayesianSearch
    from .registration import hybrid_autotuner_fn, mfbo_autotuner_fn
    from .space import Boolean, Categorical, DiscreteSpace, Ordinal, PointSet

    HELION_AVAILABLE: bool
    __version__: str
del TYPE_CHECKING


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
    from . import _core

    _core.set_num_threads(threads)


def get_num_threads() -> int:
    """Return the core's default thread count."""
    from . import _core

    return int(_core.get_num_threads())


def _load_core():
    """The extension, after OpenBLAS is loaded (see ``_openblas.py``).

    The package's modules import it as ``from . import _core``, which asks
    this module's ``__getattr__`` first, so the preload always comes first.
    """
    import importlib

    from ._openblas import preload_openblas

    preload_openblas()
    return importlib.import_module("._core", __name__)


def _helion_available() -> bool:
    """Whether Helion imports; registers the searches if it does."""
    try:
        import helion.autotuner  # noqa: F401
    except ImportError:
        return False
    _autoregister.register_now()  # a no-op when the import hook already did it
    return True


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("helion-hybrid")
    except PackageNotFoundError:  # a source tree on sys.path, not installed
        return "0+unknown"


def _public_names() -> list[str]:
    names = ["HELION_AVAILABLE", *_ENGINE_NAMES, "get_num_threads", "set_num_threads"]
    if __getattr__("HELION_AVAILABLE"):
        names += _HELION_NAMES
    return sorted(names)


def __getattr__(name: str):
    import importlib

    if name == "_core":
        value = _load_core()
    elif name in _ENGINE_NAMES:
        value = getattr(importlib.import_module("." + _ENGINE_NAMES[name], __name__), name)
    elif name in _HELION_NAMES:
        if not __getattr__("HELION_AVAILABLE"):  # imports Helion, which registers the searches
            raise AttributeError(f"helion_hybrid.{name} needs Helion: pip install 'helion-hybrid[helion]'")
        value = getattr(importlib.import_module("." + _HELION_NAMES[name], __name__), name)
    elif name == "HELION_AVAILABLE":
        value = _helion_available()
    elif name == "__version__":
        value = _version()
    elif name == "__all__":
        value = _public_names()
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_ENGINE_NAMES) | set(_HELION_NAMES) | {"HELION_AVAILABLE", "__version__"})


# Register with Helion once it is imported (at once if it already is), also
# under HELION_HYBRID_NO_AUTOREGISTER: importing the package asks for it.
_autoregister.install()
