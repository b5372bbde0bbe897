"""Plugging the searches into Helion.

:func:`register` runs when Helion is imported (the start-up hook of
:mod:`helion_hybrid._autoregister`, armed by the installed ``.pth`` file and
by ``import helion_hybrid``), so ``HELION_AUTOTUNER=HybridSearch`` and
``helion.autotuner.autotune(..., algorithm="HybridSearch")`` work without
importing this package. For one kernel, pass :func:`hybrid_autotuner_fn`
instead::

    @helion.kernel(autotuner_fn=helion_hybrid.hybrid_autotuner_fn)
    def my_kernel(...): ...
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SEARCHES = ("HybridSearch", "MultiFidelityBayesianSearch")


def register() -> None:
    """Add HybridSearch and MultiFidelityBayesianSearch to Helion's
    ``search_algorithms`` (and its autotune-cache class table where present).
    Idempotent."""
    import helion.autotuner as autotuner

    from .hybrid_search import HybridSearch
    from .mfbo_search import MultiFidelityBayesianSearch

    autotuner.search_algorithms["HybridSearch"] = HybridSearch
    autotuner.search_algorithms["MultiFidelityBayesianSearch"] = MultiFidelityBayesianSearch


def _autotuner_fn(search_cls: Any, bound_kernel: Any, args: Sequence[object], **kwargs: object) -> Any:
    """What Helion's ``default_autotuner_fn`` does for a named search:
    effort-profile kwargs, then the configured autotune cache around it."""
    import inspect

    from helion.autotuner import cache_classes
    from helion.autotuner.effort_profile import get_effort_profile

    settings = bound_kernel.settings
    parameters = inspect.signature(search_cls.__init__).parameters
    profile = get_effort_profile(settings.autotune_effort)
    for key, value in search_cls.get_kwargs_from_profile(profile, settings).items():
        if key not in kwargs and key in parameters:
            kwargs[key] = value

    def autotuner_factory() -> Any:
        return search_cls(bound_kernel, args, **kwargs)

    cache_cls = cache_classes.get(settings.autotune_cache)
    if cache_cls is None:
        raise ValueError(
            f"Unknown HELION_AUTOTUNE_CACHE value: {settings.autotune_cache}, "
            f"valid options are: {', '.join(cache_classes)}"
        )
    return cache_cls(autotuner_factory(), autotuner_factory=autotuner_factory)


def hybrid_autotuner_fn(bound_kernel: Any, args: Sequence[object], **kwargs: object) -> Any:
    """``autotuner_fn`` for ``@helion.kernel`` that tunes with HybridSearch."""
    from .hybrid_search import HybridSearch

    return _autotuner_fn(HybridSearch, bound_kernel, args, **kwargs)


def mfbo_autotuner_fn(bound_kernel: Any, args: Sequence[object], **kwargs: object) -> Any:
    """``autotuner_fn`` for ``@helion.kernel`` that tunes with MultiFidelityBayesianSearch."""
    from .mfbo_search import MultiFidelityBayesianSearch

    return _autotuner_fn(MultiFidelityBayesianSearch, bound_kernel, args, **kwargs)
