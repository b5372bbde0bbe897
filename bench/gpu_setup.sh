#!/usr/bin/env bash
# Prepare the lent GPU machine (no network there): install the carried wheels
# (helion 1.5.0, filecheck, scipy-openblas32; see bench/README.md) into
# /tmp/site and build this package against the image's torch/triton.
# Usage (on the device, from the repo root):  source bench/gpu_setup.sh
set -e
if [ ! -d /tmp/site/helion ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
fi
export PYTHONPATH=/tmp/site
# always rebuild: the working tree may have changed since the last call
python3 -m pip install -q --no-build-isolation --no-deps . 2>&1 | tail -3
python3 -c "import importlib.metadata as m, torch, triton, helion_hybrid; print('torch', torch.__version__, 'triton', triton.__version__, 'helion', m.version('helion'), 'gpu', torch.cuda.get_device_name())"
set +e
