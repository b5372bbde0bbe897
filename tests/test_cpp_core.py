"""Builds the C++ unit tests with AddressSanitizer and UndefinedBehaviorSanitizer
and runs them through ctest. The core's edge cases are exercised without
Python in between, so a memory error fails here rather than hiding."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is needed to build the C++ tests (pip install {name})")
    return path


def test_cpp_unit_tests_under_sanitizers(tmp_path_factory):
    cmake = _tool("cmake")
    build = Path(os.environ.get("HH_SANITIZER_BUILD_DIR", ROOT / "build" / "sanitize"))
    configure = [
        cmake,
        "-S",
        str(ROOT),
        "-B",
        str(build),
        "-DHH_BUILD_EXTENSION=OFF",
        "-DHH_BUILD_TESTS=ON",
        "-DHH_SANITIZE=ON",
        "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
        f"-DPython_EXECUTABLE={sys.executable}",
    ]
    if shutil.which("ninja"):
        configure += ["-G", "Ninja"]
    subprocess.run(configure, check=True, capture_output=True, text=True)
    build_run = subprocess.run([cmake, "--build", str(build), "--parallel", "2"], capture_output=True, text=True)
    assert build_run.returncode == 0, build_run.stdout[-4000:] + build_run.stderr[-4000:]
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=1", UBSAN_OPTIONS="print_stacktrace=1")
    run = subprocess.run(
        ["ctest", "--test-dir", str(build), "--output-on-failure"], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-4000:]
    assert "tests passed" in run.stdout
