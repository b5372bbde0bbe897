"""One piece of work at a time on a thread of its own, a step ahead of the
search that will use its result.

HybridSearch's exploration maximises its acquisition here: the core
releases the GIL for it, so the search's thread goes on timing configs on
the GPU meanwhile (the maximisation took 2.1 s of a 16 s H200 softmax run's
search thread, which is what bounds the short workloads:
``bench/results/h200/checks/softmax_sharedbase/runs/HybridSearch-sharedbase_seed0.samples.txt``).

The result is only ever taken by :meth:`Prefetch.take`, which waits for the
work to end, and the search changes nothing the work reads until it has
taken it, so a run's proposals do not depend on how fast the thread was:
the same seed on the same recorded measurements proposes the same configs.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from typing import Any


class Prefetch:
    """A single-slot background worker.

    Args:
        name: the worker thread's name prefix.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._future: concurrent.futures.Future[tuple[Any, float]] | None = None
        #: results taken, and the seconds their work took on the thread
        self.taken = 0
        self.work_seconds = 0.0
        #: seconds :meth:`take` and :meth:`settle` waited for it, summed
        self.wait_seconds = 0.0

    @property
    def busy(self) -> bool:
        """Whether work was started and its result not yet taken."""
        return self._future is not None

    def start(self, work: Callable[[], Any]) -> None:
        """Run ``work()`` on the thread.

        Raises:
            RuntimeError: if earlier work's result was not taken.
        """
        if self._future is not None:
            raise RuntimeError("Prefetch.start: the previous result was not taken")
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
        self._future = self._executor.submit(_timed, work)

    def take(self) -> Any:
        """The started work's result (waiting for it), or None if none was
        started. An exception the work raised is raised here."""
        if self._future is None:
            return None
        future, self._future = self._future, None
        start = time.perf_counter()
        try:
            result, seconds = future.result()
        finally:
            self.wait_seconds += time.perf_counter() - start
        self.taken += 1
        self.work_seconds += seconds
        return result

    def settle(self) -> None:
        """Wait until running work has ended (before the search changes
        what it reads); its result stays for :meth:`take`."""
        if self._future is not None and not self._future.done():
            start = time.perf_counter()
            concurrent.futures.wait([self._future])
            self.wait_seconds += time.perf_counter() - start

    def close(self) -> None:
        """Wait for any work, drop its result (an exception too: nobody
        asked for it) and stop the thread."""
        if self._future is not None:
            concurrent.futures.wait([self._future])
            self._future = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def _timed(work: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    return work(), time.perf_counter() - start
