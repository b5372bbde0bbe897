"""Worker side of test_replay_quality: one replayed search per call, in a
spawned process (so a broken acquisition stays in that process)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

DATASET = Path(__file__).resolve().parents[1] / "bench" / "data" / "h200" / "softmax_4096_fp16.jsonl.gz"


def break_acquisition() -> None:
    """Replace HybridSearch's acquisition by uniform random points of the
    space (not tried before): the search broken on purpose."""
    from helion_hybrid import acquisition, hybrid_search

    def random_points(space: Any, model: Any, *, batch_size: int, seed: int, exclude: Any = None, **_: Any) -> Any:
        points = [p for p in space.sample(4 * batch_size + 64, seed=seed) if exclude is None or p not in exclude]
        chosen = np.array(points[:batch_size], dtype=np.int32).reshape(-1, space.num_dims)
        zeros = np.zeros(len(chosen))
        return acquisition.AcquisitionResult(chosen, zeros, zeros, zeros, len(chosen), 0)

    hybrid_search.maximize_acquisition = random_points


def replay_one(algorithm: str, seed: int, gap: float, broken: bool) -> dict[str, Any]:
    """Replay ``algorithm`` on the dataset with a deterministic clock: its
    simulated wall, its answer's gap to the dataset's best, and the replay
    seconds until it first timed a config within ``gap`` (None: never)."""
    os.environ["HELION_AUTOTUNE_PROGRESS_BAR"] = "0"
    from helion_hybrid.replay import Dataset, run_replay

    if broken:
        break_acquisition()
    result = run_replay(Dataset.load(DATASET), algorithm, seed, charge_real_time=False, target_gaps=(gap,))
    report = result["replay"]
    return {
        "algorithm": algorithm,
        "seed": seed,
        "wall_s": result["wall_s"],
        "gap": report["best_reference_ms"] / report["dataset_best_ms"] - 1,
        "seconds_to_gap": report["seconds_to_within"][str(gap)],
    }
