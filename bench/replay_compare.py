"""``compare.py --replay``: the comparison on recorded GPU measurements.

Each (algorithm, seed) is replayed (``helion_hybrid.replay``) in a pool of
worker processes; each run leaves the usual result JSON and trace under
``OUT/replay-<gpu>/<workload>/runs/``. Instead of re-timing on a GPU, every
run's answer is judged by its figure in the dataset (its in-search centre,
the same units for every config); the table and the convergence plot are
then made by ``compare.py``'s own report, with the share of evaluations the
surrogate answered added (runs above ``SURROGATE_FLAG_SHARE`` are flagged).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"


def dataset_path(spec: str, workload: str | None) -> Path:
    """``--replay`` value -> dataset file: a path, or a GPU name (``h100``)
    with the workload (default: the seed matmul)."""
    path = Path(spec)
    if path.suffixes[-2:] == [".jsonl", ".gz"] or path.exists():
        return path
    return DATA / spec / f"{workload or 'matmul_1024_fp16'}.jsonl.gz"


def replay_one(
    dataset: str, algorithm: str, seed: int, effort: str, stem: str, options: dict[str, Any], label: str
) -> dict[str, Any]:
    """One replayed run (in a worker process): writes ``stem``.json/.jsonl."""
    os.environ.setdefault("HELION_AUTOTUNE_PROGRESS_BAR", "0")
    from runlog import jsonable

    from helion_hybrid.replay import run_replay

    result = run_replay(_cached(dataset), algorithm, seed, effort, options or None)
    result["label"] = label
    trace = result.pop("trace")
    Path(stem).with_suffix(".jsonl").write_text("".join(json.dumps(jsonable(e)) + "\n" for e in trace))
    Path(stem).with_suffix(".json").write_text(json.dumps(jsonable(result), indent=2))
    return result


_DATASETS: dict[str, Any] = {}


def _cached(path: str) -> Any:
    from helion_hybrid.replay import Dataset

    if path not in _DATASETS:
        _DATASETS[path] = Dataset.load(path)
    return _DATASETS[path]


def run_all(
    dataset: Path,
    algorithms: list[str],
    seeds: list[int],
    effort: str,
    out_dir: Path,
    jobs: int,
    options: dict[str, Any] | None = None,
    label: str | None = None,
) -> list[dict[str, Any]]:
    """Every (algorithm, seed), ``jobs`` at a time, with the search options
    given, stored under ``label`` (default: the algorithm's name; runs of
    other labels stay); progress on stdout."""
    (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    for algorithm in algorithms:
        for old in (out_dir / "runs").glob(f"{label or algorithm}_seed*.json*"):
            old.unlink()
    tasks = [(a, s) for a in algorithms for s in seeds]
    started = time.perf_counter()
    results = []
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {
            pool.submit(
                replay_one,
                str(dataset),
                a,
                s,
                effort,
                str(out_dir / "runs" / f"{label or a}_seed{s}"),
                options or {},
                label or a,
            ): (a, s)
            for a, s in tasks
        }
        for future in concurrent.futures.as_completed(futures):
            result = future.result()
            replay = result["replay"]
            print(
                f"[replay {len(results) + 1}/{len(tasks)}, {time.perf_counter() - started:.0f}s] "
                f"{result['algorithm']} seed {result['seed']}: wall {result['wall_s']:.1f}s simulated, "
                f"{result['configs_timed']} configs, answer {replay['best_reference_ms']:.4f} ms, surrogate "
                f"answered {100 * replay['surrogate_share']:.0f}%{' (FLAGGED)' if replay['flagged'] else ''}",
                flush=True,
            )
            results.append(result)
    return results


def write_retime(out_dir: Path, dataset: Any, results: list[dict[str, Any]]) -> None:
    """The file ``compare.py``'s report reads for kernel times: each run's
    answer by its dataset figure; the eager reference converted from the
    side-by-side re-timing into the same in-search units."""
    from runlog import run_label

    median = {f"{run_label(r)} seed {r['seed']}": r["replay"]["best_reference_ms"] for r in results}
    device = {
        f"{run_label(r)} seed {r['seed']}": r["replay"]["best_device_ms"]
        for r in results
        if r["replay"]["best_device_ms"] is not None
    }
    eager = dataset.meta.get("eager_reference_ms")
    ratio = _in_search_per_side_by_side(dataset)
    if eager is not None and ratio is not None:
        median["eager reference"] = eager * ratio
    meta = dataset.meta
    (out_dir / "retime.json").write_text(
        json.dumps(
            {
                "device": f"a replay of {meta['device']} ({meta['gpu']}/{meta['workload']}, {meta['configs']} configs)",
                "processes": 1,
                "rounds": 0,
                "round_ms": 0,
                "max_abs_error_vs_reference": {},
                "median_ms": median,
                "graph_median_ms": device,
                "spread_ms": {},
                "note": "kernel times are dataset figures (in-search units), not a re-timing",
            },
            indent=1,
        )
    )


def _in_search_per_side_by_side(dataset: Any) -> float | None:
    """In-search centre over side-by-side re-timing, for the configs that
    were runs' answers (both measured)."""
    ratios = [
        c / m.retimed["do_bench_ms"]
        for m in dataset.rows.values()
        if m.retimed and m.retimed.get("do_bench_ms") and (c := dataset.centre(m))
    ]
    return statistics.median(ratios) if ratios else None


def replay_table(summary: dict[str, Any], table: str, results: list[dict[str, Any]]) -> str:
    """``compare.py``'s table with the replay's description and the
    surrogate's share per algorithm."""
    from helion_hybrid.replay import SURROGATE_FLAG_SHARE

    lines = table.splitlines()
    lines[0] = (
        f"Workload `{summary['workload']}`: {summary['device']}. Wall time is simulated (recorded compile, "
        "timing and code generation seconds on the GPU host's compile workers, plus the search's own "
        "seconds as they ran here); kernel times are each answer's figure in the dataset (in-search "
        "units; the eager reference converted to them). Medians over seeds."
    )
    lines += [
        "",
        "| Algorithm | surrogate answered (median, max) | flagged runs | "
        "seconds to within 2% / 5% of the dataset's best (median; - never) |",
        "|---|---|---|---|",
    ]
    from runlog import run_label

    for algorithm in summary["algorithms"]:
        runs = [r for r in results if run_label(r) == algorithm]
        shares = [r["replay"]["surrogate_share"] for r in runs]
        flagged = sum(r["replay"]["flagged"] for r in runs)
        reach = [_median_or_none([r["replay"]["seconds_to_within"][g] for r in runs]) for g in ("0.02", "0.05")]
        lines.append(
            f"| {algorithm} | {100 * statistics.median(shares):.0f}%, {100 * max(shares):.0f}% | "
            f"{flagged}/{len(runs)} | " + " / ".join("-" if v is None else f"{v:.1f}" for v in reach) + " |"
        )
    lines += [
        "",
        f"A run is flagged when the surrogate answered more than {100 * SURROGATE_FLAG_SHARE:.0f}% of its "
        "evaluations (configs the GPU never measured: the nearest recorded configs answer for them).",
    ]
    return "\n".join(lines) + "\n"


def _median_or_none(values: list[float | None]) -> float | None:
    """Median where a None (never reached) counts as the slowest."""
    ordered = sorted(values, key=lambda v: float("inf") if v is None else v)
    return ordered[(len(ordered) - 1) // 2] if ordered else None


def main(args: Any) -> None:
    """The replay job of ``compare.py`` (see the module docstring)."""
    import compare

    from helion_hybrid.replay import Dataset

    started = time.perf_counter()
    path = dataset_path(args.replay, (args.workloads or [None])[0])
    dataset = Dataset.load(path)
    out_dir = args.out / f"replay-{dataset.meta['gpu']}" / dataset.meta["workload"]
    from run_search import parse_options

    options = parse_options(args.search_option)
    results = run_all(path, args.algorithms, args.seeds, args.effort or "full", out_dir, args.jobs, options, args.label)
    results = [json.loads(p.read_text()) for p in sorted((out_dir / "runs").glob("*.json"))]
    write_retime(out_dir, dataset, results)
    summary = compare.report(out_dir, dataset.meta["workload"])
    (out_dir / "table.md").write_text(replay_table(summary, (out_dir / "table.md").read_text(), results))
    print()
    print((out_dir / "table.md").read_text())
    print(
        f"results in {out_dir}/ (results.json, table.md, convergence.png, runs/); "
        f"{time.perf_counter() - started:.0f}s in all",
        flush=True,
    )
