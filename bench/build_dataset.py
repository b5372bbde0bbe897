#!/usr/bin/env python3
"""Merge every recorded run of one workload on one GPU into one replay dataset.

Reads ``results/<gpu>/<workload>/runs/*.jsonl[.gz]`` (the traces ``run_search.py``
writes, old and new format) with their result JSONs and the side-by-side
re-timing ``retime.json``, and writes ``data/<gpu>/<workload>.jsonl.gz``:

* line 1, ``kind: meta`` -- the config space (the flat spec Helion built on
  that GPU, from a trace header; ``--space-from`` names another trace's
  header when these runs have none, e.g. the H100's older traces), compile
  workers and timeout, versions, one entry per run (wall seconds, configs,
  the search's own seconds), the eager reference and the costs calibrated
  from the traces (:func:`calibrate`);
* one ``kind: config`` line per distinct config: every first timing (status,
  compile seconds, accuracy-check seconds, fidelity, its samples -- one per
  timed call for helion_hybrid's searches; ``aggregate: true`` for Helion's
  own searches, whose first timing is one median of a ~50 ms window), every
  later re-timing (samples), every Helion rebenchmark (an aggregate), every
  CUDA-graph device time, and the side-by-side re-timing where this config
  was a run's answer.

A run slowed by a profiler (``compare.py --profile``: a ``.profile.txt``
next to its trace, or ``profiled`` in its result) gives its statuses and
timing samples -- measured on the device, they agree with the other runs'
within 1% -- but not its seconds on the host: its compile and check seconds
are left out of its rows (a replay takes them from the config's other
timings or its neighbours), its compile timeouts are not kept, and the
calibration does not use it.

``helion_hybrid.replay`` reads it. Example::

    python bench/build_dataset.py h100 matmul_1024_fp16 \\
        --space-from bench/results/h200/matmul_1024_fp16/runs/LFBOTreeSearch_seed0.jsonl.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from runlog import PLAIN_TRACE, first_timings, read_trace, run_label, run_stem, trace_files  # noqa: E402

from helion_hybrid.replay import device_time_launches  # noqa: E402

#: Helion's own searches: batches of compile + first timing, ~50 ms windows.
HELION_SEARCHES = ("PatternSearch", "RandomSearch", "LFBOTreeSearch", "LFBOPatternSearch", "DESurrogateHybrid")
#: Completions closer than this are one batch's timing loop (about 65 ms apart on the GPUs).
BATCH_GAP_S = 0.5
#: Assumed when a run recorded no header (the lent GPU machines have 16 cores).
DEFAULT_COMPILE_WORKERS = 16
#: Share of a run's configs its codegen processes must have served for the run to calibrate code_load_s.
SERVED_FOR_CODE_LOAD = 0.9


def key_of(config: dict[str, Any]) -> str:
    """The canonical key of a config dict (sorted JSON)."""
    return json.dumps(config, sort_keys=True)


class Rows:
    """Per-config rows being merged."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def row(self, config: dict[str, Any]) -> dict[str, Any]:
        key = key_of(config)
        if key not in self.rows:
            self.rows[key] = {
                "kind": "config",
                "config": config,
                "first": [],
                "retime": [],
                "rebenchmark": [],
                "device_ms": [],
                "retimed": None,
            }
        return self.rows[key]


def add_run(
    rows: Rows, run_index: int, events: list[dict[str, Any]], slowed: bool = False, offloaded: bool = False
) -> None:
    """Every measurement of one trace into ``rows``; ``slowed``: a profiled
    run (no host seconds, no compile timeouts; see the module docstring);
    ``offloaded``: codegen processes served its code (its per-config
    ``prepare_s`` is a load, not the generation a replay charges).
    First timings of the run's initial population (the engine's
    ``initial`` phase; a Helion search's first batch) are marked
    ``initial``: mostly Helion's random configs, the data's sample of the
    space away from where searches converge."""
    seen: dict[str, list[float]] = {}
    initial = {id(e) for e in initial_population(events)}
    for e in events:
        kind = e.get("event")
        if kind == "first_timing":
            if slowed and e["status"] == "timeout":
                continue  # a profiled compile may time out only because the profiler slowed it
            aggregate = e.get("samples") is None
            values = [e["perf_ms"]] if aggregate and e.get("perf_ms") is not None else (e.get("samples") or [])
            first = {
                "run": run_index,
                "status": e["status"],
                "compile_s": None if slowed else e.get("compile_s"),
                "check_s": None if slowed else e.get("check_s"),
                "fidelity": e.get("fidelity"),
                "aggregate": aggregate,
                "values": values,
                "t": e.get("t"),
            }
            if id(e) in initial:
                first["initial"] = True
            if slowed:
                first["slowed"] = True
            elif not offloaded and e.get("prepare_s") is not None:
                first["prepare_s"] = e["prepare_s"]
            rows.row(e["config"])["first"].append(first)
            seen[key_of(e["config"])] = list(values) if not aggregate else []
        elif kind == "retime" and e.get("status") == "ok" and e.get("samples"):
            key = key_of(e["config"])
            before = seen.get(key, [])
            samples = e["samples"]
            new = samples[len(before) :] if samples[: len(before)] == before else samples
            seen[key] = list(samples)
            if new:
                rows.row(e["config"])["retime"].append({"run": run_index, "values": new})
        elif kind == "rebenchmark" and e.get("perf_ms") is not None:
            rows.row(e["config"])["rebenchmark"].append({"run": run_index, "value": e["perf_ms"]})
        elif kind == "device_time" and e.get("device_ms") is not None:
            rows.row(e["config"])["device_ms"].append(e["device_ms"])


# ----------------------------------------------------------------------------- calibration
def makespan(seconds: list[float], workers: int, timeout: float) -> float:
    """When the last of ``seconds`` (in order) ends on ``workers`` workers
    (Helion's precompile queue: start in order as workers free up)."""
    free = [0.0] * max(1, workers)
    end = 0.0
    for s in seconds:
        free.sort()
        start = free[0]
        free[0] = start + min(s, timeout)
        end = max(end, free[0])
    return end


def initial_population(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first timings of a run's initial population: the engine's
    ``initial`` phase where the trace records phases, else the first
    batch of a Helion search."""
    first = [e for e in events if e.get("event") == "first_timing"]
    if any("phase" in e for e in first):
        return [e for e in first if e.get("phase") == "initial"]
    if not all("t" in e for e in first):
        return []  # no completion times to find the first batch by
    batches = helion_batches(events)
    return batches[0] if batches else []


def helion_batches(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """First timings of a Helion search grouped by batch: by ``batch``
    events where recorded, else by gaps between completions."""
    first = [e for e in events if e.get("event") == "first_timing"]
    marks = [e for e in events if e.get("event") == "batch"]
    if marks:
        return [[e for e in first if m["t_start"] <= e["t"] <= m["t_end"] + 1e-6] for m in marks]
    groups: list[list[dict[str, Any]]] = []
    for e in sorted(first, key=lambda e: e["t"]):
        if groups and e["t"] - groups[-1][-1]["t"] < BATCH_GAP_S:
            groups[-1].append(e)
        else:
            groups.append([e])
    return groups


def calibrate(
    runs: list[dict[str, Any]], traces: list[list[dict[str, Any]]], workers: int, timeout: float
) -> dict[str, Any]:
    """Costs a replay charges that the traces measure only indirectly.

    * ``window_timing_s``: one first timing in Helion's batch loop (compile
      done): the median spacing of consecutive completions in a batch.
    * ``codegen_s`` and ``baseline_s``: Helion's serial code generation per
      config, and its start (baseline, benchmark worker), from the first
      batch of each Helion search: its first completion less the precompile
      makespan on ``workers`` workers is ``baseline_s + n * codegen_s``
      (least squares over runs of different batch sizes). Later batches
      also hold the search's own time between batches, which a replay
      measures itself; they only serve when first batches cannot separate
      the two (then ``baseline_s`` is what the first batch leaves).
    * ``engine_start_s``: helion_hybrid's searches' start (baseline) before
      the first compile: the first batch's start where the trace records
      batches (searches before the pipelined engine compiled in Helion's
      batches), else the first batch's first result less its compile
      makespan and codegen (older traces), else the first result less its
      queueing, compile, wait for the timing lane and check (the engine's
      traces). Never the first result alone: before the pipelined engine
      that included the initial design's slowest compile.
    * ``per_call_s``: what one timed repetition costs beyond the kernel (L2
      flush, launch cover, events) in helion_hybrid's timer, from the
      searches' timing seconds over the calls they timed.
    * ``check_s``: first call + accuracy check of helion_hybrid's timer.
    * ``codegen_s`` again, where the runs of the pipelined engine count it:
      their code-generation seconds per config replace the estimate above
      (a direct measurement of the same step); not from runs with codegen
      processes (``codegen_offloaded`` in their counters), whose thread
      only loads the code they served (a replay generates all code on the
      search's thread).
    * ``code_load_s``: the search's thread loading code that a codegen
      process generated: the engine's ``code_load`` seconds per config
      served where counted, in runs whose processes served at least
      :data:`SERVED_FOR_CODE_LOAD` of the configs; in older runs with codegen processes (which
      counted loads as ``codegen``), their ``codegen`` seconds less the
      configs generated on the thread at ``codegen_s`` each, per config
      served.
    * ``compile_start_s``: the search's thread starting one compile
      (Helion's precompiler and fork): the engine's ``compile_start``
      seconds per config where counted, else what its counters leave
      unnamed per config (wall less the counted seconds and the start).
    * ``rebench_member_s`` / ``final_rebench_member_s``: seconds per member
      of Helion's rebenchmark during a search / of its final verification.
    """
    spacing: list[float] = []
    first_batches: list[tuple[int, float]] = []
    later: list[tuple[int, float]] = []
    rebench: list[float] = []
    final: list[float] = []
    engine_traces: list[list[dict[str, Any]]] = []
    for run, events in zip(runs, traces):
        groups = _rebench_groups(events)
        if groups:
            final.append(groups[-1][1] / groups[-1][0])
            rebench += [d / n for n, d in groups[:-1]]
        if run["algorithm"] not in HELION_SEARCHES:
            engine_traces.append(events)
            continue
        marks = [e for e in events if e.get("event") == "batch"]
        previous_end = 0.0
        for index, batch in enumerate(helion_batches(events)):
            ok = sorted(e["t"] for e in batch if e["status"] == "ok")
            spacing += [b - a for a, b in zip(ok, ok[1:]) if b - a < BATCH_GAP_S]
            if ok:
                span = makespan([e["compile_s"] or 0.0 for e in batch], workers, timeout)
                start = marks[index]["t_start"] if marks else previous_end
                (first_batches if index == 0 else later).append((len(batch), ok[0] - start - span))
            previous_end = max(e["t"] for e in batch)
    codegen, baseline = _line(first_batches)
    if codegen is None:
        codegen = _slope(later)
        baseline = statistics.median(y - n * codegen for n, y in first_batches) if first_batches else 1.0
    costs = {
        "window_timing_s": statistics.median(spacing) if spacing else 0.065,
        "codegen_s": codegen,
        "baseline_s": max(0.0, baseline),
        "rebench_member_s": statistics.median(rebench) if rebench else 0.2,
        "final_rebench_member_s": statistics.median(final) if final else 2.0,
        **_engine_costs(runs, traces),
    }
    starts = [s for events in engine_traces if (s := _engine_start(events, workers, timeout, codegen)) is not None]
    costs["engine_start_s"] = max(0.0, statistics.median(starts)) if starts else 2.0
    costs.update(_main_thread_costs(runs, traces, costs["engine_start_s"]))
    return costs


def _main_thread_costs(
    runs: list[dict[str, Any]], traces: list[list[dict[str, Any]]], engine_start: float
) -> dict[str, float]:
    """Per-config code generation, loading of served code and compile
    start on the search's thread, from the pipelined engine's counters
    (see :func:`calibrate`); empty without such runs."""
    codegen: list[float] = []
    start: list[float] = []
    load: list[float] = []
    older_pools: list[tuple[float, int, int]] = []  # (codegen seconds, configs prepared, configs served)
    for run, events in zip(runs, traces):
        counters = run.get("counters") or {}
        seconds = counters.get("seconds") or {}
        prepared = [e for e in first_timings(events) if e.get("status") != "cancelled"]
        if counters.get("waiting_seconds") is None or not prepared:
            continue  # not the pipelined engine's counters
        served = counters.get("codegen_offloaded") or 0
        if served and "code_load" in seconds:
            # a config whose child failed is generated here and counted as code_load too
            # (the H200 runs at 4a669eb, whose pool gave up early): only nearly fully served runs
            if served >= SERVED_FOR_CODE_LOAD * len(prepared):
                load.append(seconds["code_load"] / served)
        elif served:
            older_pools.append((seconds.get("codegen", 0.0), len(prepared), served))
        if "codegen" in seconds and not served:
            codegen.append(seconds["codegen"] / len(prepared))
        if "compile_start" in seconds:
            start.append(seconds["compile_start"] / len(prepared))
        else:
            unnamed = run["wall_s"] - sum(seconds.values()) - engine_start
            start.append(max(0.0, unnamed) / len(prepared))
    if not start:
        return {}
    out = {"compile_start_s": statistics.median(start)}
    if codegen:
        out["codegen_s"] = statistics.median(codegen)
        if not load:
            load = [max(0.0, total - (n - served) * out["codegen_s"]) / served for total, n, served in older_pools]
    if load:
        out["code_load_s"] = statistics.median(load)
    return out


def _engine_start(events: list[dict[str, Any]], workers: int, timeout: float, codegen: float) -> float | None:
    """When one of helion_hybrid's searches started its first compile (see
    :func:`calibrate`), or None without any first timing."""
    batches = [e for e in events if e.get("event") == "batch"]
    if batches:
        return batches[0]["t_start"]
    first = [e for e in events if e.get("event") == "first_timing"]
    if not first:
        return None
    if any("queued_s" in e for e in first):  # the pipelined engine's trace
        e = first[0]
        return e["t"] - sum(e.get(k) or 0.0 for k in ("queued_s", "compile_s", "waited_for_timing_s", "check_s"))
    group = helion_batches(events)[0]
    span = makespan([e.get("compile_s") or 0.0 for e in group], workers, timeout)
    return min(e["t"] for e in group) - span - len(group) * codegen


def _line(points: list[tuple[int, float]]) -> tuple[float | None, float]:
    """Least-squares (slope, intercept) of y on n; (None, 0) when the n do
    not differ."""
    if len({n for n, _ in points}) < 2:
        return None, 0.0
    slope = _slope(points)
    return slope, statistics.fmean(y for _, y in points) - slope * statistics.fmean(n for n, _ in points)


def _rebench_groups(events: list[dict[str, Any]]) -> list[tuple[int, float]]:
    """(members, seconds) of each Helion rebenchmark call, in order. Old
    traces have no ``t_start``: a call then starts at the event before it."""
    groups: list[tuple[float, list[float]]] = []
    previous_t, previous_kind = 0.0, None
    for e in events:
        if e.get("event") == "rebenchmark":
            start = e.get("t_start", previous_t if previous_kind != "rebenchmark" else None)
            if previous_kind == "rebenchmark" and (start is None or start == groups[-1][0]):
                groups[-1][1].append(e["t"])
            else:
                groups.append((start if start is not None else previous_t, [e["t"]]))
        if e.get("t") is not None and e.get("event") != "header":
            previous_kind = e.get("event")
            if previous_kind != "rebenchmark":
                previous_t = e["t"]
    return [(len(ts), max(ts) - start) for start, ts in groups if len(ts) >= 2]


def _slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of y on n (>= 0), or the mean ratio for one point."""
    if not points:
        return 0.05
    if len(points) == 1 or len({n for n, _ in points}) == 1:
        return max(0.0, statistics.median(y / n for n, y in points))
    mean_n = statistics.fmean(n for n, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    var = sum((n - mean_n) ** 2 for n, _ in points)
    return max(0.0, sum((n - mean_n) * (y - mean_y) for n, y in points) / var)


def _engine_costs(runs: list[dict[str, Any]], traces: list[list[dict[str, Any]]]) -> dict[str, float]:
    """Per-call and accuracy-check seconds of helion_hybrid's timer (its
    searches count timing seconds; their traces hold every timed call, and
    every CUDA-graph device time: ``device_time_launches`` each, as the
    replay charges them). ``check_s`` is a mean: a replay charges it for
    configs that were never recorded, and their sum is what counts."""
    per_call: list[float] = []
    checks: list[float] = []
    for run, events in zip(runs, traces):
        seconds = (run.get("counters") or {}).get("seconds", {})
        if "timing" not in seconds:
            continue
        rows = Rows()
        add_run(rows, 0, events)
        checks += [g["check_s"] for row in rows.rows.values() for g in row["first"] if g.get("check_s") is not None]
        samples = [
            v
            for row in rows.rows.values()
            for group in row["first"] + row["retime"]
            if not group.get("aggregate")
            for v in group["values"]
        ]
        graph_calls, graph_ms = _graph_calls(events)
        if samples:
            kernel_s = (sum(samples) + graph_ms) / 1000.0
            per_call.append(max(0.0, (seconds["timing"] - kernel_s) / (len(samples) + graph_calls)))
        timed = run["counters"].get("configs_timed_total")
        if timed and "accuracy_check" in seconds and not any(e.get("check_s") for e in events):
            checks.append(seconds["accuracy_check"] / timed)
    return {
        "per_call_s": statistics.median(per_call) if per_call else 1e-4,
        "check_s": statistics.fmean(checks) if checks else 0.02,
    }


def _graph_calls(events: list[dict[str, Any]]) -> tuple[int, float]:
    """Launches in CUDA graphs (device times, a device-time shootout's
    rounds) and the kernel milliseconds among them, as the replay charges
    them (``graph_cost_s``)."""
    measurements: list[tuple[float, int | None]] = []  # (device ms, calls per graph)
    for e in events:
        if e.get("event") == "device_time" and e.get("device_ms"):
            measurements.append((e["device_ms"], e.get("calls")))
        elif e.get("event") == "shootout" and e.get("by") == "device_time":
            for entry in e.get("ranking", []):
                if entry.get("shootout_ms") is not None:
                    measurements += [(entry["shootout_ms"], None)] * e.get("rounds", 0)
    launches = [device_time_launches(calls) for _, calls in measurements]
    return sum(n for n, _ in launches), sum(ms * k for (ms, _), (_, k) in zip(measurements, launches))


# ----------------------------------------------------------------------------- the dataset
def header_of(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((e for e in events if e.get("event") == "header"), None)


def own_seconds(run: dict[str, Any], events: list[dict[str, Any]]) -> float | None:
    """The search's own seconds: the model time helion_hybrid's searches
    count; for Helion's searches wall time outside batches and rebenchmarks
    (None without batch events)."""
    counters = run.get("counters")
    if counters:
        return counters.get("seconds", {}).get("model")
    batches = [e for e in events if e.get("event") == "batch"]
    if not batches:
        return None
    rebench = sum(d for _n, d in _rebench_groups(events))
    return run["wall_s"] - sum(b["t_end"] - b["t_start"] for b in batches) - rebench


def slowed_by(trace: Path, run: dict[str, Any]) -> str | None:
    """What slowed a run's host side ("cProfile"), or None for a plain run."""
    if run.get("profiled") or run_stem(trace).with_suffix(".profile.txt").exists():
        return "cProfile"
    return None


def build(results: Path, gpu: str, workload: str, space_from: Path | None) -> list[dict[str, Any]]:
    """The dataset's lines (meta first)."""
    folder = results / gpu / workload
    run_files = trace_files(folder / "runs")
    rows = Rows()
    runs, traces, slowed = [], [], []
    for index, path in enumerate(run_files):
        events = read_trace(path)
        runs.append(json.loads(run_stem(path).with_suffix(".json").read_text()))
        traces.append(events)
        slowed.append(slowed_by(path, runs[-1]))
        offloaded = bool((runs[-1].get("counters") or {}).get("codegen_offloaded"))
        add_run(rows, index, events, slowed=slowed[-1] is not None, offloaded=offloaded)
    timed = [i for i, s in enumerate(slowed) if s is None]  # runs whose host seconds calibrate
    headers = [h for h in map(header_of, traces) if h is not None]
    # the first header that records the compiler's seeds, else the first
    header = next((h for h in headers if "compiler_seed_configs" in h), headers[0] if headers else None)
    space_source = "header of these runs"
    if header is None and space_from is not None:
        header = header_of(read_trace(space_from))
        space_source = f"header of {space_from.relative_to(results.parent) if space_from.is_absolute() else space_from}"
    if header is None:
        raise SystemExit("no trace holds a header with the flat spec: pass --space-from")
    retime = json.loads((folder / "retime.json").read_text()) if (folder / "retime.json").exists() else {}
    _attach_retimed(rows, runs, retime)
    workers = int(header.get("compile_workers") or DEFAULT_COMPILE_WORKERS)
    timeout = float(header.get("compile_timeout_s") or 60)
    meta = {
        "kind": "meta",
        "format": 1,
        "gpu": gpu,
        "workload": workload,
        "device": retime.get("device") or header.get("device"),
        "space": {
            "flat_spec": header["flat_spec"],
            "overridden_flat_indices": header["overridden_flat_indices"],
            "default_config": header["default_config"],
            # recorded since 2026-12-01; None: the replay keeps the CPU's own (none)
            "compiler_seed_configs": header.get("compiler_seed_configs"),
            "source": space_source,
            "recorded_on": header.get("device"),
            "versions": header.get("versions"),
        },
        "compile_workers": workers,
        "compile_workers_recorded": "compile_workers" in header and space_source == "header of these runs",
        "compile_timeout_s": timeout,
        "helion": (runs[0].get("versions") or {}).get("helion") if runs else None,
        "eager_reference_ms": (retime.get("median_ms") or {}).get("eager reference"),
        "eager_reference_device_ms": (retime.get("graph_median_ms") or {}).get("eager reference"),
        "runs": [_run_entry(*entry) for entry in zip(run_files, runs, traces, slowed)],
        "costs": calibrate([runs[i] for i in timed], [traces[i] for i in timed], workers, timeout),
        "configs": len(rows.rows),
    }
    return [meta, *rows.rows.values()]


def _run_entry(path: Path, run: dict[str, Any], events: list[dict[str, Any]], slowed: str | None) -> dict[str, Any]:
    return {
        "file": run_stem(path).name + PLAIN_TRACE,  # the trace's name, compressed or not
        "algorithm": run["algorithm"],
        "label": run_label(run),
        "seed": run["seed"],
        "wall_s": run["wall_s"],
        "finished": run.get("finished", True),
        "configs_timed": run["configs_timed"],
        "own_s": own_seconds(run, events),
        "best_config": run.get("best_config"),
        "slowed_by": slowed,  # its wall and own seconds are not a plain run's
    }


def _attach_retimed(rows: Rows, runs: list[dict[str, Any]], retime: dict[str, Any]) -> None:
    """The side-by-side re-timing of each run's answer, on its row."""
    for run in runs:
        label = f"{run_label(run)} seed {run['seed']}"
        if run.get("best_config") and label in retime.get("median_ms", {}):
            row = rows.row(run["best_config"])
            row["retimed"] = {
                "do_bench_ms": retime["median_ms"][label],
                "device_ms": retime.get("graph_median_ms", {}).get(label),
            }


def write(lines: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same data gives the same bytes (a rebuild shows no diff)
    with gzip.GzipFile(path, "wb", mtime=0) as raw:
        for line in lines:
            raw.write((json.dumps(line, separators=(",", ":")) + "\n").encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gpu", help="results folder of the GPU, e.g. h100")
    parser.add_argument("workloads", nargs="+")
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument("--out", type=Path, default=HERE / "data")
    parser.add_argument(
        "--space-from",
        type=Path,
        default=None,
        help="a trace whose header holds the flat spec, for runs recorded without one",
    )
    args = parser.parse_args()
    for workload in args.workloads:
        lines = build(args.results, args.gpu, workload, args.space_from)
        path = args.out / args.gpu / f"{workload}.jsonl.gz"
        write(lines, path)
        meta = lines[0]
        print(
            f"{path}: {meta['configs']} configs from {len(meta['runs'])} runs; costs "
            + ", ".join(f"{k} {v:.4g}" for k, v in meta["costs"].items())
        )


if __name__ == "__main__":
    main()
