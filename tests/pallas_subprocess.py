"""Run a script that autotunes a real Helion kernel on the Pallas backend in
interpret mode (real codegen, compilation through JAX, timing on the CPU)
in a fresh process, as a user would (Helion reads HELION_BACKEND when a
kernel is decorated, so this process's kernels cannot switch to Pallas)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_pallas_autotune(script: Path, *arguments: str, algorithm: str, seed: int = 0, **env: str) -> dict[str, Any]:
    """Run ``script`` with ``arguments`` under HELION_AUTOTUNER=``algorithm``
    at quick effort (Helion's cache skipped; ``env`` adds or overrides
    variables) and return the JSON of its ``RESULT `` line."""
    variables = dict(
        os.environ,
        HELION_AUTOTUNER=algorithm,
        HELION_BACKEND="pallas",
        HELION_PALLAS_INTERPRET="1",
        HELION_AUTOTUNE_EFFORT="quick",
        HELION_SKIP_CACHE="1",
        HELION_AUTOTUNE_FINAL_PICK_TOP_K="0",
        HELION_AUTOTUNE_FINAL_REBENCHMARK_TOP_K="3",
        HELION_AUTOTUNE_RANDOM_SEED=str(seed),
        HELION_AUTOTUNE_PROGRESS_BAR="0",
        **env,
    )
    run = subprocess.run(
        [sys.executable, str(script), *arguments], env=variables, capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    line = next(line for line in run.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])
