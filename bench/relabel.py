#!/usr/bin/env python3
"""Store a workload's runs of one label under another, e.g. when a search's
default changes: the runs of the old default become an ablation
(``HybridSearch-<commit>``) and ``compare.py --reuse`` runs the new default
afresh instead of reusing them.

Renames ``runs/<old>_seed<N>.*``, sets ``label`` and ``label_note`` in each
run, renames the re-timing's entries (their figures are unchanged: the same
configs) and rebuilds the workload's results.json, table.md and plot.

Example:
    python bench/relabel.py --gpu h200 --old HybridSearch --new HybridSearch-4cd184d \\
        --note "HybridSearch as of commit 4cd184d: ..."
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def relabel_workload(folder: Path, old: str, new: str, note: str) -> int:
    """Relabel one workload's runs; the number of runs moved."""
    runs = sorted((folder / "runs").glob(f"{old}_seed*.json"))
    for run_path in runs:
        stem = run_path.name[: -len(".json")]
        seed_part = stem[len(old) :]  # "_seed<N>"
        if not re.fullmatch(r"_seed\d+", seed_part):
            continue
        for path in (folder / "runs").glob(f"{stem}.*"):
            target = path.with_name(new + seed_part + path.name[len(stem) :])
            if target.exists():
                raise SystemExit(f"{target} exists: refusing to overwrite it")
            path.rename(target)
        moved = folder / "runs" / f"{new}{seed_part}.json"
        run = json.loads(moved.read_text())
        run["label"], run["label_note"] = new, note
        moved.write_text(json.dumps(run, indent=2))
    retime = folder / "retime.json"
    if runs and retime.exists():
        text = retime.read_text()
        retime.write_text(text.replace(f'"{old} seed ', f'"{new} seed '))
    return len(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpu", required=True, help="results folder of the device, e.g. h200")
    parser.add_argument("--old", required=True, help="label the runs are stored under now")
    parser.add_argument("--new", required=True, help="label to store them under")
    parser.add_argument("--note", required=True, help="what the new label means (kept in each run)")
    parser.add_argument("--workloads", nargs="*", help="default: every workload with such runs")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    for label in (args.old, args.new):
        if not LABEL.match(label):
            parser.error(f"labels are letters, digits, '.', '_' and '-': {label!r}")
    root = args.out / args.gpu
    folders = [root / w for w in args.workloads] if args.workloads else sorted(p for p in root.iterdir() if p.is_dir())
    from compare import report

    for folder in folders:
        moved = relabel_workload(folder, args.old, args.new, args.note)
        if moved:
            if (folder / "retime.json").exists():
                report(folder, folder.name)
            print(f"{folder.name}: {moved} run(s) now {args.new}")


if __name__ == "__main__":
    main()
