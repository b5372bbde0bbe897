"""Which OpenBLAS the extension runs on (python/helion_hybrid/_openblas.py).

The repaired wheel's layout is tested end to end in tests/test_wheel.py
(tests/wheel_smoke.py); here, the layout check itself and the install the
suite runs from (editable: scipy-openblas32's library, preloaded).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from helion_hybrid._openblas import vendored_openblas


def test_vendored_copy_next_to_the_extension_is_found(tmp_path):
    package = tmp_path / "site-packages" / "helion_hybrid"
    package.mkdir(parents=True)
    extension = package / "_core.cpython-311-x86_64-linux-gnu.so"
    extension.touch()
    assert vendored_openblas(str(extension)) is None  # editable, sdist, unrepaired wheel
    libs = package.parent / "helion_hybrid.libs"
    libs.mkdir()
    (libs / "libgfortran-040039e1.so.5").touch()
    assert vendored_openblas(str(extension)) is None
    vendored = libs / "libscipy_openblas-b396d74f.so"
    vendored.touch()
    assert vendored_openblas(str(extension)) == str(vendored.resolve())


def test_this_install_runs_on_one_configured_openblas():
    code = """
import ctypes, json, os
import numpy as np
import helion_hybrid as hh
from helion_hybrid._openblas import vendored_openblas
rng = np.random.default_rng(0)
X = rng.uniform(size=(40, 3))
hh.GaussianProcess(seed=0).fit(X, np.sin(X.sum(axis=1)))
with open("/proc/self/maps") as maps:
    paths = sorted({line.split()[-1] for line in maps if ".so" in line})
copies = [p for p in paths if os.path.basename(p).startswith("libscipy_openblas") and "openblas64" not in p]
blas = ctypes.CDLL(copies[0])
seen = []
for threads in (1, 2):
    # the core runs BLAS single-threaded (csrc/core/threading.cpp): after a fit
    # the copy reads 1 again even when set to 2 here, so this copy is the core's
    blas.scipy_openblas_set_num_threads(2)
    hh.set_num_threads(threads)
    hh.GaussianProcess(seed=0).fit(X, np.sin(X.sum(axis=1)))
    seen.append(blas.scipy_openblas_get_num_threads())
print(json.dumps({"vendored": vendored_openblas(), "copies": copies, "threads": seen}))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    import scipy_openblas32

    expected = os.path.join(scipy_openblas32.get_lib_dir(), scipy_openblas32.get_library(fullname=True))
    assert report["vendored"] is None, report
    assert report["copies"] == [os.path.realpath(expected)], report
    assert report["threads"] == [1, 1], report
