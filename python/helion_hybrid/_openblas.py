"""Load OpenBLAS from the ``scipy-openblas32`` wheel before the extension.

The extension links against ``libscipy_openblas.so`` with an RPATH relative to
site-packages; loading the library by absolute path first also covers editable
installs and virtual environments where that relative path does not hold.
"""

from __future__ import annotations

import ctypes
import os


def preload_openblas() -> None:
    """Load the OpenBLAS shared library globally, once.

    Raises:
        ImportError: if ``scipy-openblas32`` is not installed.
    """
    try:
        import scipy_openblas32
    except ImportError as error:  # pragma: no cover - a broken install
        raise ImportError(
            "helion_hybrid needs the 'scipy-openblas32' package (its BLAS); "
            "reinstall with: pip install helion-hybrid"
        ) from error
    path = os.path.join(
        scipy_openblas32.get_lib_dir(), scipy_openblas32.get_library(fullname=True)
    )
    ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
