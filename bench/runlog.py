"""Run records of the comparison harness: JSON helpers and trace summaries.

A run is one search on one workload with one seed. It leaves
``<Algorithm>_seed<N>.json`` (the result) and ``<Algorithm>_seed<N>.jsonl``
(the trace: one event per line, written as it happens, so a run that is
cut off still leaves everything it measured), which ``compare.py``
compresses to ``.jsonl.gz`` once the run has ended (a tenth of the size: the
tree that travels to the device machine has a size limit). Trace events:

* ``header`` -- the config space as Helion built it on that device (one
  ``repr`` per flat slot, the overridden slots, the default config), device,
  versions, compile workers and timeout: what a replay needs to present the
  same space.
* ``batch`` -- one call of Helion's ``benchmark`` (compile + first timing of
  a batch): ``t_start``, ``t_end``, configs. Wall time outside batches and
  re-timings is the search's own time (model, bookkeeping).
* ``first_timing`` -- one config's compile and first timing: canonical
  config, status, compile seconds, ``perf_ms``, fidelity, and every timing
  sample where the search keeps them (helion_hybrid's searches; Helion's own
  searches report only an aggregate, the median of a ~50 ms window:
  ``samples`` is then null).
* ``retime`` / ``rebenchmark`` -- later timings of an already compiled
  config (helion_hybrid's re-timing with its samples; Helion's own
  rebenchmark with its aggregate).
* ``device_time`` -- a CUDA-graph device time a search measured.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

OK_STATUSES = ("ok", "deduplicated")


def jsonable(value: Any) -> Any:
    """``value`` with non-finite floats as None and unknown objects as str."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def config_dict(config: Any) -> dict[str, Any]:
    """A Helion Config (or plain mapping) as a JSON-ready dict."""
    return jsonable(dict(config.config if hasattr(config, "config") else config))


def run_label(run: dict[str, Any]) -> str:
    """What a run is reported as: its ``label`` (e.g. an ablation's name),
    else its algorithm."""
    return run.get("label") or run["algorithm"]


PLAIN_TRACE = ".jsonl"
COMPRESSED_TRACE = ".jsonl.gz"


def run_stem(trace: Path) -> Path:
    """``runs/<label>_seed<N>`` of a trace file, plain or compressed."""
    for suffix in (COMPRESSED_TRACE, PLAIN_TRACE):
        if trace.name.endswith(suffix):
            return trace.with_name(trace.name[: -len(suffix)])
    raise ValueError(f"{trace} is not a trace file (*{PLAIN_TRACE} or *{COMPRESSED_TRACE})")


def trace_of(stem: Path) -> Path:
    """The trace of run ``stem``: the compressed one where it exists."""
    compressed = stem.with_name(stem.name + COMPRESSED_TRACE)
    return compressed if compressed.exists() else stem.with_name(stem.name + PLAIN_TRACE)


def trace_files(runs: Path) -> list[Path]:
    """One trace per run in folder ``runs``, sorted by run."""
    stems = {run_stem(p) for p in runs.glob(f"*{PLAIN_TRACE}")} | {
        run_stem(p) for p in runs.glob(f"*{COMPRESSED_TRACE}")
    }
    return [trace_of(stem) for stem in sorted(stems)]


def compress_trace(stem: Path) -> None:
    """Replace run ``stem``'s plain trace by a gzip of it (no-op without one).
    The gzip header holds no time stamp, so the same trace gives the same bytes."""
    plain = stem.with_name(stem.name + PLAIN_TRACE)
    if not plain.exists():
        return
    target = stem.with_name(stem.name + COMPRESSED_TRACE)
    partial = target.with_name(target.name + ".part")
    with open(partial, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as stream:
        stream.write(plain.read_bytes())
    os.replace(partial, target)
    plain.unlink()


def _trace_text(path: Path) -> str:
    if not path.name.endswith(".gz"):
        return path.read_text()
    chunks = []
    with gzip.open(path, "rt") as stream:
        try:
            for line in stream:
                chunks.append(line)
        except (EOFError, zlib.error, gzip.BadGzipFile):  # cut off while written: keep what came
            pass
    return "".join(chunks)


def read_trace(path: Path) -> list[dict[str, Any]]:
    """Every complete event of a trace, plain or compressed (a line cut off
    by a kill is skipped)."""
    events = []
    for line in _trace_text(path).splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


def first_timings(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("event") == "first_timing"]


def is_ok(event: dict[str, Any]) -> bool:
    perf = event.get("perf_ms")
    return event.get("status") in OK_STATUSES and perf is not None and math.isfinite(perf)


def trace_summary(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts by status and fidelity, summed compile seconds, and the best
    first timing (config and ms) of a trace."""
    first = first_timings(events)
    by_status: dict[str, int] = {}
    by_fidelity: dict[str, int] = {}
    for e in first:
        by_status[e["status"]] = by_status.get(e["status"], 0) + 1
        by_fidelity[e["fidelity"]] = by_fidelity.get(e["fidelity"], 0) + 1
    ok = [e for e in first if is_ok(e)]
    best = min(ok, key=lambda e: e["perf_ms"], default=None)
    batches = [e for e in events if e.get("event") == "batch"]
    rebenchmarks = {e["t_start"]: e["t"] for e in events if e.get("event") == "rebenchmark" and "t_start" in e}
    return {
        "configs_timed": len(first),
        "configs_timed_by_status": by_status,
        "configs_timed_by_fidelity": by_fidelity,
        "precompile_seconds_summed_over_configs": sum(e.get("compile_s") or 0.0 for e in first),
        "seconds_in_batches": sum(e["t_end"] - e["t_start"] for e in batches),
        "seconds_in_rebenchmarks": sum(end - start for start, end in rebenchmarks.items()),
        "search_best_ms": best["perf_ms"] if best else None,
        "search_best_config": best["config"] if best else None,
    }
