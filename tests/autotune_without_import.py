"""A Helion program that never imports helion_hybrid: autotunes an 8x8
elementwise ``2 x - y`` with whatever search HELION_AUTOTUNER names, then
prints one JSON line.

The caller sets HELION_AUTOTUNER and the Pallas interpret-mode variables
(see tests/test_wheel.py). With helion-hybrid installed, the start-up hook
registers HybridSearch when Helion is imported; nothing here asks for it.
"""

import json
import os
import sys

import helion
import helion.language as hl
import torch


@helion.kernel(static_shapes=True)
def twice_minus(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in hl.tile(out.size()):
        out[tile] = 2.0 * x[tile] - y[tile]
    return out


def _openblas_libraries() -> list[str]:
    """The 32-bit-index OpenBLAS libraries mapped into this process: the one
    helion_hybrid's extension uses, and SciPy's if SciPy was imported."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if ".so" in line}
    names = {p: os.path.basename(p) for p in paths}
    return sorted(p for p, name in names.items() if name.startswith("libscipy_openblas") and "openblas64" not in name)


def main() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(8, 8), torch.randn(8, 8)
    out = twice_minus(x, y)  # autotunes through HELION_AUTOTUNER
    fresh = torch.randn(8, 8), torch.randn(8, 8)
    from helion.autotuner import search_algorithms

    search = search_algorithms.get("HybridSearch")
    print(
        "RESULT "
        + json.dumps(
            {
                "max_error": float((out - (2.0 * x - y)).abs().max()),
                "max_error_fresh_inputs": float((twice_minus(*fresh) - (2.0 * fresh[0] - fresh[1])).abs().max()),
                "registered": None if search is None else f"{search.__module__}.{search.__qualname__}",
                "helion_hybrid_dir": getattr(sys.modules.get("helion_hybrid"), "__path__", [None])[0],
                "openblas": _openblas_libraries(),
            }
        )
    )


if __name__ == "__main__":
    main()
