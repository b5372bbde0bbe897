#!/usr/bin/env python3
"""How closely a replay retraces the recorded runs it replays.

For each recorded run of a dataset (by label and seed), replays the same
search with the same seed and compares: the share of evaluations the
surrogate answered; how many of the initial design's configs the recorded
run's initial design also had, and what share of all replayed configs the
recorded run also timed; the replayed wall against the measured one; and
the answers' figures in the dataset (the replayed answer's, the recorded
answer's, both as gaps to the dataset's best). Writes one JSON (``--out``)
and prints a table.

Example::

    python bench/replay_retrace.py h200 softmax_4096_fp16 cross_entropy_32k_bf16 \\
        --label HybridSearch --seeds 0 1 2 --out bench/results/replay-h200/retrace.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from runlog import read_trace  # noqa: E402


def first_configs(events: list[dict[str, Any]], phase: str | None = None) -> list[str]:
    """Config keys of a trace's first timings (of one ``phase`` if given),
    in order of completion, cancelled ones left out."""
    from helion_hybrid.replay import config_key

    return [
        config_key(e["config"])
        for e in events
        if e.get("event") == "first_timing"
        and e.get("status") != "cancelled"
        and (phase is None or e.get("phase") == phase)
    ]


def retrace(dataset: Any, results: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """Replay one recorded run (``entry``: its meta line; a run of the
    search's default options) and compare."""
    from helion_hybrid.replay import run_replay

    result = run_replay(dataset, entry["algorithm"], entry["seed"])
    events = read_trace(results / entry["file"])
    recorded, replayed = first_configs(events), first_configs(result["trace"])
    initial = set(first_configs(events, "initial"))
    best_ms = dataset.best()[1]
    recorded_ms = dataset.reference_ms(entry["best_config"]) if entry.get("best_config") else None
    replayed_ms = result["replay"]["best_reference_ms"]
    return {
        "run": entry["file"],
        "seed": entry["seed"],
        "surrogate_share": result["replay"]["surrogate_share"],
        "configs_replayed": len(replayed),
        "configs_recorded": len(recorded),
        "initial_as_recorded": len(initial & set(first_configs(result["trace"], "initial"))),
        "initial_recorded": len(initial),
        "replayed_in_recorded_run": sum(k in set(recorded) for k in replayed) / max(1, len(replayed)),
        "wall_replayed_s": result["wall_s"],
        "wall_measured_s": entry["wall_s"],
        "dataset_best_ms": best_ms,
        "answer_replayed_ms": replayed_ms,
        "answer_recorded_ms": recorded_ms,
        "gap_replayed": replayed_ms / best_ms - 1 if replayed_ms else None,
        "gap_recorded": recorded_ms / best_ms - 1 if recorded_ms else None,
        "same_answer": result["best_config"] == entry.get("best_config"),
        "real_s": result["replay"]["real_s"],
    }


def workload_rows(gpu: str, workload: str, label: str, seeds: list[int]) -> list[dict[str, Any]]:
    """Every recorded run of ``label`` with one of ``seeds``, retraced."""
    from helion_hybrid.replay import Dataset

    dataset = Dataset.load(HERE / "data" / gpu / f"{workload}.jsonl.gz")
    results = HERE / "results" / gpu / workload / "runs"
    entries = [e for e in dataset.meta["runs"] if e["label"] == label and e["seed"] in seeds]
    rows = []
    for entry in entries:
        row = {"workload": workload, **retrace(dataset, results, entry)}
        print(_line(row), flush=True)
        rows.append(row)
    return rows


def _line(r: dict[str, Any]) -> str:
    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:+.1f}%"

    return (
        f"| {r['workload']} | {r['seed']} | {100 * r['surrogate_share']:.0f}% | "
        f"{r['initial_as_recorded']}/{r['initial_recorded']} | "
        f"{100 * r['replayed_in_recorded_run']:.0f}% | {r['wall_replayed_s']:.1f} | {r['wall_measured_s']:.1f} | "
        f"{pct(r['gap_replayed'])} | {pct(r['gap_recorded'])} |"
    )


HEADER = (
    "| workload | seed | surrogate answered | initial design as recorded | replayed configs the run timed | "
    "replayed wall (s) | measured wall (s) | gap, replayed answer | gap, recorded answer |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the rows of each workload."""
    out: dict[str, Any] = {}
    for workload in dict.fromkeys(r["workload"] for r in rows):
        mine = [r for r in rows if r["workload"] == workload]
        out[workload] = {
            key: statistics.median(r[key] for r in mine if r[key] is not None)
            for key in ("surrogate_share", "initial_as_recorded", "wall_replayed_s", "wall_measured_s", "gap_replayed")
            if any(r[key] is not None for r in mine)
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gpu")
    parser.add_argument("workloads", nargs="+")
    parser.add_argument("--label", default="HybridSearch", help="the recorded runs' label")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=None, help="write every figure here (JSON)")
    args = parser.parse_args()
    print(HEADER)
    rows = [r for w in args.workloads for r in workload_rows(args.gpu, w, args.label, args.seeds)]
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"rows": rows, "medians": summary(rows)}, indent=1))
    print(json.dumps(summary(rows), indent=1))


if __name__ == "__main__":
    main()
