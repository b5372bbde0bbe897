"""Make the extension's OpenBLAS loadable before the extension is imported.

Two layouts:

* A repaired wheel (``auditwheel repair``, see ``.ci/build_wheel.sh``)
  vendors OpenBLAS: ``helion_hybrid.libs/libscipy_openblas-<hash>.so`` next
  to the package, named in the extension's DT_NEEDED and found through its
  RPATH ``$ORIGIN/../helion_hybrid.libs``. Nothing is preloaded: loading
  ``scipy-openblas32``'s library as well would put a second, unused OpenBLAS
  (with its own thread pool) into the process.
* Any other install (editable, from the sdist, an unrepaired wheel): the
  extension links ``libscipy_openblas.so`` of the ``scipy-openblas32``
  dependency through the RPATH ``$ORIGIN/../scipy_openblas32/lib``. Loading
  that library by absolute path first also covers editable installs and
  virtual environments where the relative path does not hold.
"""

from __future__ import annotations

import ctypes
import glob
import importlib.util
import os

# where auditwheel puts scipy-openblas32's library, relative to the extension
# ($ORIGIN of its RPATH), and what it names it
_VENDORED_PATTERN = os.path.join("..", "helion_hybrid.libs", "libscipy_openblas-*.so")


def vendored_openblas(extension: str | None = None) -> str | None:
    """The OpenBLAS a repaired wheel vendored for ``extension`` (default: the
    installed ``helion_hybrid._core``), or None in any other layout."""
    if extension is None:
        spec = importlib.util.find_spec("helion_hybrid._core")
        if spec is None or not spec.origin:
            return None
        extension = spec.origin
    # the directory's "..", not a lexical dirname: what the loader resolves
    found = glob.glob(os.path.join(os.path.dirname(os.path.abspath(extension)), _VENDORED_PATTERN))
    return os.path.realpath(found[0]) if found else None


def preload_openblas() -> None:
    """Load scipy-openblas32's OpenBLAS globally, once, unless the extension
    has its own vendored copy.

    Raises:
        ImportError: if ``scipy-openblas32`` is needed but not installed.
    """
    if vendored_openblas() is not None:
        return
    try:
        import scipy_openblas32
    except ImportError as error:  # pragma: no cover - a broken install
        raise ImportError(
            "helion_hybrid needs the 'scipy-openblas32' package (its BLAS); reinstall with: pip install helion-hybrid"
        ) from error
    path = os.path.join(scipy_openblas32.get_lib_dir(), scipy_openblas32.get_library(fullname=True))
    ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
