#!/usr/bin/env python3
"""Tune one kernel at a sequence of shapes, one after the other, as a user
tuning every layer of a model would: cold HybridSearch (tuning store off),
warm HybridSearch (each shape reads the earlier ones from the store) and
LFBOTreeSearch with Helion's ``from_best_available`` (which seeds from
cached best configs of the same specialization key only: for static-shape
kernels, none of the earlier shapes'; docs/tuning_store.md), side by side.

Each (variant, seed) gets a fresh Helion cache folder (and with it a fresh
tuning store) and tunes the sequence's shapes in order, each in a fresh
process (``compare.py run-one``). Then every shape's best configs are
re-timed side by side (``compare.py``'s re-timing) and one table compares
the variants per shape: median wall, warm over cold, device-time gap (a
shape not re-timed yet, e.g. with ``--skip-retime``, shows walls only).

Results under ``OUT/<gpu>/sequences/<sequence>/``: per shape the runs, the
re-timing and ``table.md`` (as ``compare.py`` writes them), and
``sequence.md`` / ``sequence.json``.

Examples:
    # on the GPU (the sequences of issue 15)
    python bench/shape_sequence.py --sequence matmul_fp16 --seeds 0 1
    # the last shape again, warm from the stored tunings of the others (a check of a change)
    python bench/shape_sequence.py --sequence matmul_fp16 --shapes matmul_4096_fp16 --variants HybridSearch-warm --reuse
    # on the CPU: the mechanics, on Helion's Pallas interpreter
    python bench/shape_sequence.py --sequence matmul_pallas --seeds 0 --variants HybridSearch-cold HybridSearch-warm
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

#: variant -> (algorithm, environment of its runs)
VARIANTS: dict[str, tuple[str, dict[str, str]]] = {
    "HybridSearch-cold": ("HybridSearch", {"HELION_HYBRID_TUNING_STORE": "off"}),
    "HybridSearch-warm": ("HybridSearch", {}),
    "LFBOTreeSearch-best-available": (
        "LFBOTreeSearch",
        {"HELION_AUTOTUNER_INITIAL_POPULATION": "from_best_available", "HELION_HYBRID_TUNING_STORE": "off"},
    ),
}


def run_sequence(args: argparse.Namespace, root: Path, workloads: tuple[str, ...]) -> list[str]:
    """Every variant and seed through the sequence; the failed runs."""
    from compare import run_searches

    failed: list[str] = []
    for variant in args.variants:
        algorithm, env = VARIANTS[variant]
        for seed in args.seeds:
            cache = root / "cache" / f"{variant}_seed{seed}"
            if not args.reuse:
                shutil.rmtree(cache, ignore_errors=True)
            saved = {k: os.environ.get(k) for k in (*env, "HELION_CACHE_DIR")}
            os.environ.update({**env, "HELION_CACHE_DIR": str(cache)})
            try:
                for workload in workloads:
                    one = {**vars(args), "algorithms": [algorithm], "label": variant, "seeds": [seed]}
                    runs = argparse.Namespace(**one)
                    failed += run_searches(runs, workload, args.effort, root / workload)
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
    return failed


def table(root: Path, workloads: tuple[str, ...], variants: list[str]) -> dict[str, Any]:
    """Per shape with stored runs and variant: median wall, configs,
    device-time gap (None where the shape has not been re-timed)."""
    from suite import workload_rows

    rows = []
    for workload in workloads:
        summary = workload_rows(root / workload, workload)
        if summary is None:
            continue
        algorithms = summary["algorithms"]
        row: dict[str, Any] = {"workload": workload, "retimed": summary["retimed"]}
        for variant in variants:
            entry = algorithms.get(variant, {})
            device_gap = entry.get("device_gap_vs_best_found")
            row[variant] = {
                "wall_s": entry.get("median_wall_s"),
                "configs": entry.get("median_configs_timed"),
                "device_gap": device_gap if device_gap is not None else entry.get("quality_gap_vs_best_found"),
                "seeds": len(entry.get("seeds", [])),
            }
        cold, warm = row.get("HybridSearch-cold", {}), row.get("HybridSearch-warm", {})
        row["warm_over_cold"] = warm["wall_s"] / cold["wall_s"] if cold.get("wall_s") and warm.get("wall_s") else None
        rows.append(row)
    return {"workloads": rows, "variants": variants}


def markdown(summary: dict[str, Any]) -> str:
    variants = summary["variants"]
    head = " | ".join(f"{v} wall (s) / configs / gap (device, else do_bench; - not re-timed)" for v in variants)
    lines = [f"| shape | {head} | warm / cold wall |", "|---|" + "---|" * (len(variants) + 1)]
    for row in summary["workloads"]:
        cells = []
        for v in variants:
            e = row[v]
            gap = "-" if e["device_gap"] is None else f"{100 * e['device_gap']:+.1f}%"
            wall = "-" if e["wall_s"] is None else f"{e['wall_s']:.1f}"
            configs = "-" if e["configs"] is None else f"{e['configs']:g}"
            cells.append(f"{wall} / {configs} / {gap}")
        ratio = "-" if row["warm_over_cold"] is None else f"{row['warm_over_cold']:.2f}"
        lines.append(f"| {row['workload']} | " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(lines) + "\n"


def parse_args() -> argparse.Namespace:
    from compare import DEFAULT_TIME_LIMIT_S, gpu_name

    from helion_hybrid.workloads import SHAPE_SEQUENCES

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1])
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--sequence", required=True, choices=sorted(SHAPE_SEQUENCES))
    parser.add_argument(
        "--shapes",
        nargs="+",
        default=None,
        help="tune only these workloads of the sequence (with --reuse, the caches keep the others' tunings)",
    )
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--effort", choices=("quick", "full"), default=None)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--reuse", action="store_true", help="keep stored runs (and their cache folders)")
    parser.add_argument("--skip-retime", action="store_true")
    parser.add_argument("--retime-processes", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT_S)
    args = parser.parse_args()
    # the table covers the whole sequence: --shapes re-tunes some, the others keep their stored runs
    args.workloads = args.sequence_workloads = SHAPE_SEQUENCES[args.sequence]
    unknown = sorted(set(args.shapes or ()) - set(args.workloads))
    if unknown:
        parser.error(f"--shapes {' '.join(unknown)}: not in {args.sequence} ({', '.join(args.workloads)})")
    if args.shapes:
        args.workloads = tuple(w for w in args.workloads if w in args.shapes)
    args.device = gpu_name()
    on_cpu = args.device == "cpu"
    args.effort = args.effort or ("quick" if on_cpu else "full")
    args.retime_processes = args.retime_processes or (1 if on_cpu else 2)
    args.search_option, args.profile, args.keep_best = [], False, True
    return args


def main() -> None:
    args = parse_args()
    from compare import report, retime_all

    root = args.out / args.device / "sequences" / args.sequence
    failed = run_sequence(args, root, args.workloads)
    for workload in args.workloads:
        if not args.skip_retime and any((root / workload / "runs").glob("*.json")):
            retime_all(root / workload, workload, args.retime_processes, args.rounds)
            report(root / workload, workload)
    summary = table(root, args.sequence_workloads, args.variants)
    (root / "sequence.json").write_text(json.dumps(summary, indent=2))
    (root / "sequence.md").write_text(markdown(summary))
    print(markdown(summary))
    if failed:
        raise SystemExit(f"failed runs: {'; '.join(failed)}")


if __name__ == "__main__":
    main()
