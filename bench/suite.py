#!/usr/bin/env python3
"""One table across the kernel suite, from the stored runs.

Per workload: HybridSearch's median wall time, its speed-up over
LFBOTreeSearch (Helion's default) and PatternSearch where measured, the
kernel gap of every search against the best config any search found (by
CUDA-graph device time and by do_bench, from the workload's side-by-side
re-timing, ``compare.py`` without ``--skip-retime``), configs tried; then
geometric-mean rows; and a plot with one point per workload and search:
wall time relative to LFBOTreeSearch against the device-time gap.

A workload whose runs were not re-timed side by side yet shows its wall
times only (gaps need the re-timing: timings taken inside different
searches do not compare).

Writes ``suite.md``, ``suite.json`` and ``suite.png`` under
``bench/results/<gpu>/``.

Example:
    python bench/suite.py --gpu h200
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from compare import ALGORITHMS, COLOURS, EXTRA_ALGORITHMS, summarise  # noqa: E402
from runlog import read_trace, run_label, trace_of  # noqa: E402

REFERENCE = "LFBOTreeSearch"
ENGINE_HEADING = (
    "\n### Where HybridSearch's time went\n\n"
    "Medians over seeds (longest gap: the maximum; stragglers: the sum). Compile floor: compile seconds "
    "summed over configs / compile workers. Finish: the shootout and after. Main thread: seconds by "
    "activity on the search's one thread (uncounted: the wall time no activity holds; a run's "
    "runs/<label>_seed<N>.samples.txt says where it went), and per config tried (the activities but "
    "waiting, over the configs that reached a first timing or failed). Longest gap: the longest stretch "
    "of a run without a finished evaluation. Handoff / best promoted: the fastest of the configs handed "
    "to refinement (at full fidelity) over the fastest config promoted to medium fidelity before the "
    "handoff; above 1, the handoff passed over a faster config."
    "\n\n"
)


def workload_rows(out_dir: Path, workload: str) -> dict[str, Any] | None:
    """The workload's per-algorithm summary (None without any stored run)."""
    runs = [json.loads(p.read_text()) for p in sorted((out_dir / "runs").glob("*.json"))]
    if not runs:
        return None
    if (out_dir / "retime.json").exists():
        summary = summarise(out_dir, workload)
        summary["retimed"] = True
        return summary
    algorithms: dict[str, Any] = {}
    for run in runs:
        algorithms.setdefault(run_label(run), []).append(run)
    return {
        "workload": workload,
        "retimed": False,
        "algorithms": {
            a: {
                "seeds": [r["seed"] for r in rs],
                "unfinished": sum(not r.get("finished", True) for r in rs),
                "median_wall_s": statistics.median(r["wall_s"] for r in rs),
                "median_configs_timed": statistics.median(r["configs_timed"] for r in rs),
            }
            for a, rs in algorithms.items()
        },
    }


def geomean(values: list[float]) -> float | None:
    values = [v for v in values if v is not None and v > 0 and math.isfinite(v)]
    return math.exp(sum(map(math.log, values)) / len(values)) if values else None


def _pct(value: float | None) -> str:
    return f"{100 * value:+.1f}%" if value is not None else "-"


def _x(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else "-"


def _hybrid_label(algorithms: dict[str, Any], preferred: str) -> str | None:
    """The preferred HybridSearch label, else the first stored one."""
    if preferred in algorithms:
        return preferred
    return next((a for a in sorted(algorithms) if a.startswith("HybridSearch")), None)


def build(results: Path, preferred: str = "HybridSearch") -> dict[str, Any]:
    from helion_hybrid.workloads import SUITE

    rows = {w: r for w in SUITE if (r := workload_rows(results / w, w)) is not None}
    table = []
    for workload, summary in rows.items():
        algorithms = summary["algorithms"]
        label = _hybrid_label(algorithms, preferred)
        hybrid, reference = algorithms.get(label) if label else None, algorithms.get(REFERENCE)
        pattern = algorithms.get("PatternSearch")
        row = {
            "workload": workload,
            "retimed": summary["retimed"],
            "hybrid_label": label,
            "hybrid_seeds": len(hybrid["seeds"]) if hybrid else 0,
            "hybrid_wall_s": hybrid["median_wall_s"] if hybrid else None,
            "reference_wall_s": reference["median_wall_s"] if reference else None,
            "reference_unfinished": reference["unfinished"] if reference else None,
            "speedup_vs_reference": reference["median_wall_s"] / hybrid["median_wall_s"]
            if hybrid and reference
            else None,
            "speedup_vs_pattern": pattern["median_wall_s"] / hybrid["median_wall_s"] if hybrid and pattern else None,
            "gaps": {
                a: {
                    "device": e.get("device_gap_vs_best_found"),
                    "do_bench": e.get("quality_gap_vs_best_found"),
                    "configs": e["median_configs_timed"],
                    "wall_s": e["median_wall_s"],
                }
                for a, e in algorithms.items()
            },
        }
        table.append(row)
    return {
        "results": str(results),
        "workloads": table,
        # geometric means over the preferred label's workloads only: a fallback label is another search
        "hybrid_label": preferred,
        "geomean_workloads": [r["workload"] for r in table if r["hybrid_label"] == preferred],
        "geomean_hybrid_wall_s": geomean([r["hybrid_wall_s"] for r in table if r["hybrid_label"] == preferred]),
        "geomean_speedup_vs_reference": geomean(
            [r["speedup_vs_reference"] for r in table if r["hybrid_label"] == preferred]
        ),
        "geomean_speedup_vs_pattern": geomean(
            [r["speedup_vs_pattern"] for r in table if r["hybrid_label"] == preferred]
        ),
    }


def markdown(suite: dict[str, Any]) -> str:
    lines = [
        "| workload | HybridSearch runs (label, seeds) | HybridSearch median wall (s) | LFBOTreeSearch wall (s) | "
        "speed-up vs LFBOTreeSearch | speed-up vs PatternSearch | HybridSearch gap (device / do_bench) | "
        "LFBOTreeSearch gap (device / do_bench) | configs tried (Hybrid / LFBO) | re-timed side by side |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in suite["workloads"]:
        h, lf = r["gaps"].get(r["hybrid_label"], {}), r["gaps"].get(REFERENCE, {})
        reference = (
            "-"
            if r["reference_wall_s"] is None
            else f"{r['reference_wall_s']:.1f}" + (" (unfinished)" if r["reference_unfinished"] else "")
        )
        hybrid_wall = "-" if r["hybrid_wall_s"] is None else f"{r['hybrid_wall_s']:.1f}"
        lines.append(
            f"| {r['workload']} | {r['hybrid_label'] or '-'}, {r['hybrid_seeds']} | {hybrid_wall} | {reference} | "
            f"{_x(r['speedup_vs_reference'])} | {_x(r['speedup_vs_pattern'])} | "
            f"{_pct(h.get('device'))} / {_pct(h.get('do_bench'))} | {_pct(lf.get('device'))} / "
            f"{_pct(lf.get('do_bench'))} | {h.get('configs', '-')} / {lf.get('configs', '-')} | "
            f"{'yes' if r['retimed'] else 'not yet'} |"
        )
    g = suite
    lines.append(
        f"| **geometric mean** ({g['hybrid_label']}, {len(g['geomean_workloads'])} of {len(g['workloads'])} "
        f"workloads) | | **{g['geomean_hybrid_wall_s'] or math.nan:.1f}** | | "
        f"**{_x(g['geomean_speedup_vs_reference'])}** | {_x(g['geomean_speedup_vs_pattern'])} | | | | |"
    )
    return "\n".join(lines) + "\n"


def handoff_over_best_promoted(events: list[dict[str, Any]]) -> float | None:
    """The fastest handoff config's full-fidelity median over the fastest
    promoted config's medium-fidelity median before the handoff (None
    without both)."""
    promoted: list[float] = []
    handoff: list[float] = []
    for e in events:
        if e.get("event") != "retime" or e.get("status") != "ok" or not e.get("perf_ms"):
            continue
        if e.get("phase") == "handoff":
            handoff.append(e["perf_ms"])
        elif e.get("phase") == "promote" and not handoff:
            promoted.append(e["perf_ms"])
    return min(handoff) / min(promoted) if handoff and promoted else None


def engine_breakdown(run: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """Where one helion_hybrid run's wall time went: its parallel compile
    floor (compile seconds summed over configs / compile workers), its
    finish (shootout and after), the main thread's seconds by activity
    (``uncounted``: the wall time no activity holds), and the longest
    stretch without a finished evaluation (a config holding the search up
    shows as one)."""
    counters = run["counters"]
    header = next((e for e in events if e.get("event") == "header"), {})
    floor = counters["compile_seconds_total"] / max(1, header.get("compile_workers") or 1)
    phases = run.get("phase_seconds") or {}
    finish = sum(phases.get(p, 0.0) for p in ("shootout", "finish", "finalize"))
    times = sorted(e["t"] for e in events if e.get("event") != "header" and "t" in e)
    gaps = [b - a for a, b in zip([0.0, *times], times)]
    configs = sum(1 for e in events if e.get("event") == "first_timing" and e.get("status") != "cancelled")
    busy = sum(v for k, v in counters["seconds"].items() if k != "waiting")
    # what no counter holds (the runs' samples.txt say where it went)
    uncounted = max(0.0, run["wall_s"] - sum(counters["seconds"].values()))
    return {
        "main_thread_ms_per_config": 1000 * busy / configs if configs else None,
        "wall_s": run["wall_s"],
        "compile_floor_s": floor,
        "finish_s": finish,
        "wall_over_floor_and_finish": run["wall_s"] / (floor + finish) if floor + finish > 0 else None,
        "main_thread_s": {**counters["seconds"], "uncounted": uncounted},
        "waiting_s": counters["seconds"].get("waiting", 0.0),
        "longest_gap_s": max(gaps, default=0.0),
        "stragglers_killed": counters.get("stragglers_killed", 0),
        "handoff_over_best_promoted": handoff_over_best_promoted(events),
    }


def engine_table(results: Path) -> list[dict[str, Any]]:
    """Per suite workload and helion_hybrid label (runs with engine
    counters), the medians over seeds of :func:`engine_breakdown`."""
    from helion_hybrid.workloads import SUITE

    rows = []
    for workload in SUITE:
        by_label: dict[str, list[dict[str, Any]]] = {}
        for path in sorted((results / workload / "runs").glob("*.json")):
            run = json.loads(path.read_text())
            if run.get("finished", True) and (run.get("counters") or {}).get("waiting_seconds") is not None:
                breakdown = engine_breakdown(run, read_trace(trace_of(path.with_suffix(""))))
                by_label.setdefault(run_label(run), []).append(breakdown)
        for label, parts in sorted(by_label.items()):
            row: dict[str, Any] = {"workload": workload, "label": label, "seeds": len(parts)}
            for key in ("wall_s", "compile_floor_s", "finish_s", "wall_over_floor_and_finish", "waiting_s"):
                row[key] = statistics.median(p[key] for p in parts)
            per_config = [p["main_thread_ms_per_config"] for p in parts if p["main_thread_ms_per_config"] is not None]
            row["main_thread_ms_per_config"] = statistics.median(per_config) if per_config else None
            row["longest_gap_s"] = max(p["longest_gap_s"] for p in parts)
            row["stragglers_killed"] = sum(p["stragglers_killed"] for p in parts)
            ratios = [p["handoff_over_best_promoted"] for p in parts if p["handoff_over_best_promoted"] is not None]
            row["handoff_over_best_promoted"] = statistics.median(ratios) if ratios else None
            activities = sorted({a for p in parts for a in p["main_thread_s"]} - {"waiting"})
            row["main_thread_s"] = {
                a: statistics.median(p["main_thread_s"].get(a, 0.0) for p in parts) for a in activities
            }
            rows.append(row)
    return rows


def engine_markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| workload | label | seeds | wall (s) | compile floor (s) | finish (s) | wall / (floor + finish) | "
        "main thread (s) | main thread per config (ms) | waiting (s) | longest gap (s) | stragglers killed | "
        "handoff / best promoted |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        main = ", ".join(f"{a} {v:.1f}" for a, v in r["main_thread_s"].items())
        per_config = "-" if r["main_thread_ms_per_config"] is None else f"{r['main_thread_ms_per_config']:.0f}"
        handoff = "-" if r.get("handoff_over_best_promoted") is None else f"{r['handoff_over_best_promoted']:.3f}"
        lines.append(
            f"| {r['workload']} | {r['label']} | {r['seeds']} | {r['wall_s']:.1f} | {r['compile_floor_s']:.1f} | "
            f"{r['finish_s']:.1f} | {r['wall_over_floor_and_finish']:.2f} | {main} | {per_config} | "
            f"{r['waiting_s']:.1f} | "
            f"{r['longest_gap_s']:.1f} | {r['stragglers_killed']} | {handoff} |"
        )
    return "\n".join(lines) + "\n"


def plot(suite: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for r in suite["workloads"]:
        reference = r["reference_wall_s"]
        for algorithm, gap in r["gaps"].items():
            if reference is None or gap["device"] is None:
                continue
            ax.scatter(gap["wall_s"] / reference, 100 * gap["device"], color=COLOURS.get(algorithm.split("-")[0]), s=30)
            ax.annotate(r["workload"].split("_")[0], (gap["wall_s"] / reference, 100 * gap["device"]), fontsize=6)
    for algorithm in ALGORITHMS + EXTRA_ALGORITHMS:
        ax.scatter([], [], color=COLOURS[algorithm], label=algorithm)
    ax.set_xscale("log")
    ax.axvline(1.0, color="gray", linestyle=":")
    ax.set_xlabel(f"wall time relative to {REFERENCE} (log)")
    ax.set_ylabel("kernel gap to the best found, device time (%)")
    ax.legend(fontsize=7)
    ax.set_title("kernel suite: time against kernel quality")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpu", default="h200", help="results folder of the device (default h200)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="results root")
    parser.add_argument(
        "--hybrid",
        default="HybridSearch",
        help="label of the HybridSearch runs to report (default HybridSearch; where a workload has "
        "none, its first stored HybridSearch* label)",
    )
    args = parser.parse_args()
    results = args.out / args.gpu
    suite = build(results, args.hybrid)
    suite["engine"] = engine_table(results)
    text = markdown(suite) + ENGINE_HEADING + engine_markdown(suite["engine"])
    (results / "suite.json").write_text(json.dumps(suite, indent=2))
    (results / "suite.md").write_text(text)
    plot(suite, results / "suite.png")
    print(text)


if __name__ == "__main__":
    main()
