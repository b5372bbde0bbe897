"""Register the searches with Helion when Helion is imported, whoever imports it.

``helion_hybrid-autoregister.pth``, installed into site-packages next to the
package, runs at every interpreter start-up::

    import os; os.environ.get("HELION_HYBRID_NO_AUTOREGISTER", "") in ("", "0") and ...install()

:func:`install` puts :class:`_HelionImportHook` at the front of
``sys.meta_path``. The hook answers ``None`` (one ``str.startswith``) for
every import except ``helion``, ``helion.autotuner`` and this package's
modules; for those it lets the real finders find the module and wraps the
loader, so that when the module has finished executing :func:`register_now`
can run. Registration waits until Helion has finished importing and no
module of this package is half-imported (this package's search modules
import Helion themselves), then imports the searches, adds them to
``helion.autotuner.search_algorithms`` and removes the hook. After that
``HELION_AUTOTUNER=HybridSearch`` works in a program that never imports
helion_hybrid.

This module imports nothing but ``sys`` at import time: no Helion, torch,
NumPy or extension until Helion itself is being imported. Setting
``HELION_HYBRID_NO_AUTOREGISTER=1`` keeps the ``.pth`` line from importing
anything; an explicit ``import helion_hybrid`` still registers (it calls
:func:`install` too).
"""

import sys

OPT_OUT_VARIABLE = "HELION_HYBRID_NO_AUTOREGISTER"

# Importing either of these means Helion is (being) imported. Helion imports
# helion.autotuner from its __init__; the second name covers a Helion that
# would not.
_HELION_MODULES = ("helion", "helion.autotuner")
_OWN_PREFIX = "helion_hybrid."
_NOT_WRAPPED = ("helion_hybrid._core",)  # the extension never imports Helion

_ARMED, _REGISTERING, _DONE = "armed", "registering", "done"
_state = _ARMED


def _initializing(module):
    """Whether ``module`` is still executing its body (the import system's flag)."""
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def _watched(fullname):
    if fullname in _HELION_MODULES:
        return True
    return fullname.startswith(_OWN_PREFIX) and fullname not in _NOT_WRAPPED


class _RegisteringLoader:
    """Delegates to the real loader; after the module has executed, gives
    :func:`register_now` its chance. Puts the real loader back on the
    module and its spec first, so nothing of the wrapper stays visible."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module):
        spec = module.__spec__
        spec.loader = self._loader
        module.__loader__ = self._loader
        self._loader.exec_module(module)
        _after_import(spec.name)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _HelionImportHook:
    """A ``sys.meta_path`` finder that never finds anything itself."""

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith("helion") or not _watched(fullname):
            return None
        for finder in sys.meta_path:
            if finder is self:
                continue
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _RegisteringLoader(spec.loader)
        return spec

    def __repr__(self):
        return "<helion_hybrid import hook: registers the searches when Helion is imported>"


_HOOK = _HelionImportHook()


def _ready(finished):
    """Helion is imported and nothing that registration imports is half-done.

    ``finished`` is the module whose loader just returned: its import-system
    flag is still set, but its body has run.
    """
    if "helion.autotuner" not in sys.modules:
        return False
    for name, module in list(sys.modules.items()):
        if name == finished or not _initializing(module):
            continue
        if name in _HELION_MODULES or name.startswith(_OWN_PREFIX):
            return False
    return True


def _after_import(finished):
    if _state == _ARMED and _ready(finished):
        register_now()


def register_now():
    """Register the searches with Helion now (Helion must be importable).

    Idempotent; a failure (say, a dependency of the searches that is not
    installed) is reported as a warning rather than breaking ``import helion``.
    """
    global _state
    if _state != _ARMED:
        return
    _state = _REGISTERING
    try:
        from .registration import register

        register()
    except Exception as error:  # noqa: BLE001 - never break the user's import of helion
        import warnings

        warnings.warn(
            f"helion_hybrid could not register HybridSearch and MultiFidelityBayesianSearch "
            f"with Helion: {type(error).__name__}: {error}",
            RuntimeWarning,
            stacklevel=2,
        )
    finally:
        _state = _DONE
        uninstall()


def install():
    """Arm the hook, or register at once if Helion is already imported. Idempotent."""
    if _state != _ARMED:
        return
    helion = sys.modules.get("helion")
    if "helion.autotuner" in sys.modules and not _initializing(helion):
        register_now()
    elif _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)


def uninstall():
    """Take the hook out of ``sys.meta_path`` (registration already done stays)."""
    while _HOOK in sys.meta_path:
        sys.meta_path.remove(_HOOK)


def armed():
    """Whether the hook is waiting for Helion to be imported."""
    return _HOOK in sys.meta_path
