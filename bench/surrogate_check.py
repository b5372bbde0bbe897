#!/usr/bin/env python3
"""How well the replay's surrogate answers configs it never saw: one
recorded run held out.

The configs that only the held-out run timed are answered by the replay's
own surrogate (``ReplaySession``'s answer for a config missing from the
dataset) built from every other run, and compared with what the GPU
measured: the share that ran, the share within 2 / 5 / 10 / 25% of the
dataset's best, the median ratio to the best, and the rank correlation
between measured and answered times. A RandomSearch run is the fair
hold-out: its configs are what a search meets when it leaves the recorded
region. A surrogate that is right far from the data gives the same
shares as the measurements.

Example::

    python bench/surrogate_check.py h100 matmul_1024_fp16 --run RandomSearch_seed0.jsonl
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SHARES = (0.02, 0.05, 0.10, 0.25)


def held_out(path: Path, run_file: str) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The dataset's meta, the rows of every other run, and the rows only
    ``run_file`` timed (its trace's name; a ``.gz`` ending is ignored)."""
    run_file = run_file.removesuffix(".gz")
    with gzip.open(path, "rt") as stream:
        meta, *rows = (json.loads(line) for line in stream)
    runs = [r["file"] for r in meta["runs"]]
    if run_file not in runs:
        raise SystemExit(f"{path}: no run {run_file!r} (runs: {', '.join(runs)})")
    index = runs.index(run_file)
    only = [r for r in rows if r["first"] and all(f.get("run") == index for f in r["first"])]
    keep = [r for r in rows if not (r["first"] and all(f.get("run") == index for f in r["first"]))]
    return meta, keep, only


def check(path: Path, run_file: str) -> dict[str, Any]:
    import helion
    import numpy as np

    from helion_hybrid.replay import Dataset, ReplaySession, config_key, gpu_space, make_search

    full = Dataset.load(path)
    best = full.best()[1]
    meta, keep, only = held_out(path, run_file)
    rest = Dataset(meta, keep, path)
    session = ReplaySession(rest, seed=0, charge_real_time=False)
    measured, answered, pairs = [], [], []
    with gpu_space(meta):
        make_search(rest, session, "HybridSearch", 0, "full")  # binds the GPU's space and the surrogate
        for row in only:
            key = config_key(row["config"])
            truth = full.centre(full.rows[key]) if full.rows[key].ever_ran else None
            answer = session._surrogate(key, helion.Config(**row["config"]))
            measured.append(truth)
            answered.append(answer.centre_ms)
            if truth is not None and answer.centre_ms is not None:
                pairs.append((truth, answer.centre_ms))

    def summary(values: list[float | None]) -> dict[str, Any]:
        ran = [v / best for v in values if v is not None]
        return {
            "ran": len(ran) / len(values) if values else None,
            "median_ratio_to_best": statistics.median(ran) if ran else None,
            **{f"within_{int(100 * s)}pct": sum(r <= 1 + s for r in ran) / len(values) for s in SHARES},
        }

    return {
        "dataset": str(path.relative_to(HERE.parent)) if path.is_relative_to(HERE.parent) else str(path),
        "held_out_run": run_file,
        "configs": len(only),
        "dataset_best_ms": best,
        "measured": summary(measured),
        "surrogate": summary(answered),
        "rank_correlation": _spearman(np.array([a for a, _ in pairs]), np.array([b for _, b in pairs]))
        if len(pairs) >= 3
        else None,
    }


def _spearman(x: Any, y: Any) -> float:
    """Spearman's rho with average ranks for ties (the surrogate's clamped
    answers tie); nan, quietly, if either side is constant."""
    from scipy.stats import ConstantInputWarning, spearmanr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantInputWarning)
        return float(spearmanr(x, y).statistic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gpu", help="datasets folder of the GPU, e.g. h100")
    parser.add_argument("workload")
    parser.add_argument(
        "--run", required=True, help="the trace file of the run to hold out, e.g. RandomSearch_seed0.jsonl"
    )
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    result = check(args.data / args.gpu / f"{args.workload}.jsonl.gz", args.run)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{result['configs']} configs only {args.run} timed, answered from the other runs:")
    print("| | ran | median / best | " + " | ".join(f"within {int(100 * s)}%" for s in SHARES) + " |")
    print("|---|---|---|" + "---|" * len(SHARES))
    for name in ("measured", "surrogate"):
        s = result[name]
        cells = " | ".join(f"{s[f'within_{int(100 * x)}pct']:.1%}" for x in SHARES)
        print(f"| {name} | {s['ran']:.0%} | {s['median_ratio_to_best']:.2f}x | {cells} |")
    rho = result["rank_correlation"]
    print(f"rank correlation, measured vs answered: {'-' if rho is None else f'{rho:.2f}'}")


if __name__ == "__main__":
    main()
