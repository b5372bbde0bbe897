"""The registration hook in the installed (here: editable) package: whatever
is imported first, Helion ends up with the searches registered, the hook
gone from ``sys.meta_path`` and Helion's modules carrying their real loaders;
``HELION_HYBRID_NO_AUTOREGISTER=1`` leaves Helion alone until helion_hybrid
is imported. Each case is a fresh interpreter, so the ``.pth`` line runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("helion")

REPORT = """
import json, sys
import helion, helion.autotuner as autotuner
print("REPORT " + json.dumps({
    "registered": sorted(set(autotuner.search_algorithms) & {"HybridSearch", "MultiFidelityBayesianSearch"}),
    "hook_armed": getattr(sys.modules.get("helion_hybrid._autoregister"), "armed", lambda: False)(),
    "loaders": sorted({type(m.__loader__).__name__ for n, m in list(sys.modules.items())
                       if n.split(".")[0] in ("helion", "helion_hybrid") and hasattr(m, "__loader__")}),
    "helion_hybrid_loaded": "helion_hybrid" in sys.modules,
}))
"""


def _report(first: str, opt_out: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELION_")}
    if opt_out:
        env["HELION_HYBRID_NO_AUTOREGISTER"] = "1"
    run = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", first + "\n" + REPORT],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    line = next(line for line in run.stdout.splitlines() if line.startswith("REPORT "))
    return json.loads(line[len("REPORT ") :])


BOTH = ["HybridSearch", "MultiFidelityBayesianSearch"]


@pytest.mark.parametrize(
    "first",
    [
        "",  # Helion first: the .pth hook registers
        # a search module first: it imports Helion half-way through itself
        "from helion_hybrid.hybrid_search import HybridSearch",
    ],
)
def test_hook_registers_whatever_comes_first(first):
    report = _report(first)
    assert report["registered"] == BOTH
    assert not report["hook_armed"]
    assert "_RegisteringLoader" not in report["loaders"], report["loaders"]


def test_opt_out_leaves_helion_alone():
    report = _report("", opt_out=True)
    assert report["registered"] == []
    assert not report["helion_hybrid_loaded"]


def test_explicit_import_registers_under_the_opt_out():
    assert _report("import helion_hybrid", opt_out=True)["registered"] == BOTH  # before Helion
    assert _report("import helion; import helion_hybrid", opt_out=True)["registered"] == BOTH  # after


def test_import_is_cheap():
    code = (
        "import json, sys; import helion_hybrid as hh; "
        "print(json.dumps([m for m in ('helion', 'torch', 'numpy', 'helion_hybrid._core') if m in sys.modules]))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == []


def test_public_api_resolves_lazily():
    import importlib.metadata

    import helion_hybrid as hh

    assert hh.__version__ == importlib.metadata.version("helion-hybrid")
    assert hh.HELION_AVAILABLE
    assert {"GaussianProcess", "HybridSearch", "last_search", "hybrid_autotuner_fn"} <= set(hh.__all__)
    assert set(hh.__all__) <= set(dir(hh))
    for name in hh.__all__:
        getattr(hh, name)
    with pytest.raises(AttributeError):
        hh.no_such_name  # noqa: B018
