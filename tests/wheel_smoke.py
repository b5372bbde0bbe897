"""Engine smoke test of an installed helion-hybrid (no Helion needed): the
start-up hook is armed, the version comes from the package metadata, the
extension loads with OpenBLAS from the scipy-openblas32 wheel (one copy), and
a GP fit plus an acquisition batch give sane results.

Run from outside the source tree: ``python tests/wheel_smoke.py``. It is
cibuildwheel's test-command and part of tests/test_wheel.py. Prints ``OK``.
"""

import os
import sys

# The .pth file imported the hook before this line ran (unless opted out).
if os.environ.get("HELION_HYBRID_NO_AUTOREGISTER", "") in ("", "0"):
    assert "helion_hybrid._autoregister" in sys.modules, "helion_hybrid_autoregister.pth did not run"
    assert sys.modules["helion_hybrid._autoregister"].armed()

import importlib.metadata  # noqa: E402

import numpy as np  # noqa: E402

import helion_hybrid as hh  # noqa: E402


def _openblas_copies() -> list[str]:
    """Paths of the 32-bit-index OpenBLAS libraries mapped into this process
    (NumPy's own ``libscipy_openblas64_`` is another library)."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if line.rstrip().endswith(".so") or ".so." in line}
    return sorted(
        p for p in paths
        if os.path.basename(p).startswith("libscipy_openblas") and "openblas64" not in os.path.basename(p)
    )


def main() -> None:
    assert hh.__version__ == importlib.metadata.version("helion-hybrid"), hh.__version__
    space = hh.DiscreteSpace(
        [hh.Ordinal((4, 5, 6, 7), name="block"), hh.Categorical(3, name="kind"), hh.Boolean(name="flag")]
    )
    points = space.sample(24, seed=0)
    features = space.features(points)
    y = np.sin(features.sum(axis=1)) + 0.1 * features[:, 0]
    gp = hh.GaussianProcess(seed=0).fit(features, y, repetitions=np.full(len(y), 5.0))
    mean, variance = gp.predict(features)
    assert np.all(np.isfinite(mean)) and np.all(variance >= 0)
    assert float(np.abs(mean - y).max()) < 0.5
    tried = hh.PointSet(space.num_dims)
    tried.add(points)
    batch = hh.maximize_acquisition(space, gp, best=float(y.min()), batch_size=4, exclude=tried, seed=0)
    assert batch.points.shape == (4, space.num_dims)

    copies = _openblas_copies()
    import scipy_openblas32

    assert copies == [os.path.realpath(os.path.join(scipy_openblas32.get_lib_dir(), scipy_openblas32.get_library(True)))], copies
    print(f"OK helion-hybrid {hh.__version__} from {os.path.dirname(hh.__file__)}; OpenBLAS {copies[0]}")


if __name__ == "__main__":
    main()
