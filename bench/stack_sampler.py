"""Where a search's one thread spends its wall time, by sampling its stack.

cProfile slowed the H200 attention run twofold (``HybridSearch-profiled``)
and counts only Python calls. A :class:`StackSampler` instead reads the
main thread's stack every ``interval_s`` from a second thread and counts,
per sample, the innermost frame of this package, the innermost frame of
Helion and the innermost frame of all (a C call shows as the Python
function that made it), each sample weighted by the seconds since the one
before: seconds of wall time, whatever the thread was doing (timing on the
GPU, waiting, bookkeeping).
"""

from __future__ import annotations

import collections
import os
import sys
import threading
import time
from types import FrameType

#: Seconds between two samples (100 a second: the sampler's own share of the GIL stays small).
INTERVAL_S = 0.01


def _where(frame: FrameType) -> str:
    code = frame.f_code
    return f"{os.path.basename(code.co_filename)}:{code.co_name}"


def _innermost(frame: FrameType | None, part: str) -> str | None:
    while frame is not None:
        if part in frame.f_code.co_filename:
            return _where(frame)
        frame = frame.f_back
    return None


class StackSampler:
    """Samples the calling thread's stack from a daemon thread while active
    (a context manager); :meth:`report` gives the counts as seconds."""

    def __init__(self, interval_s: float = INTERVAL_S) -> None:
        self.interval_s = interval_s
        self.counts: dict[str, collections.Counter[str]] = {
            kind: collections.Counter() for kind in ("helion_hybrid", "helion", "anywhere")
        }
        self.samples = 0
        self._target = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stack-sampler", daemon=True)

    def __enter__(self) -> StackSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        last = time.perf_counter()
        while not self._stop.wait(self.interval_s):
            frame = sys._current_frames().get(self._target)
            # a sample waits for the GIL: it stands for the time since the last one
            now = time.perf_counter()
            seconds, last = now - last, now
            if frame is None:
                continue
            self.samples += 1
            self.counts["anywhere"][_where(frame)] += seconds
            self.counts["helion_hybrid"][_innermost(frame, f"{os.sep}helion_hybrid{os.sep}") or "(outside)"] += seconds
            self.counts["helion"][_innermost(frame, f"{os.sep}helion{os.sep}") or "(outside)"] += seconds

    def report(self, top: int = 40) -> str:
        """The counts as seconds, largest first, per kind of frame."""
        lines = [f"{self.samples} samples, every {self.interval_s * 1000:.0f} ms ({time.strftime('%H:%M:%S')})"]
        for kind, counter in self.counts.items():
            lines.append(f"==== seconds by innermost frame ({kind})")
            lines += [f"{seconds:8.2f}  {where}" for where, seconds in counter.most_common(top)]
        return "\n".join(lines) + "\n"
