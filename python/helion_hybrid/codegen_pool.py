"""Code generation off the search's thread, in forked processes.

On the H200 the search's one thread, not the compile workers, limits a
pipelined HybridSearch: Helion generates each config's code there, 35-106
ms per config (``bench/results/h200/suite.md``, "Where HybridSearch's time
went"). A :class:`CodegenPool` runs that step in a few long-lived processes
forked from the search: each child holds the bound kernel (fork copies it),
generates a config's code the way ``compile_config`` does and sends the
source text back; the search then loads that source (``PyCodeCache``,
milliseconds) instead of generating it.

A config submitted while every child is busy waits for the next free one
rather than being generated on the search's thread: generating it there
holds everything else up for as long as a child would take (with a config
generated there whenever the 4 children of the H200 ablation were busy,
43% of attention's configs, the search's thread spent as long per config
as without the pool: ``bench/results/h200/suite.md``, HybridSearch-cg4).

A child that fails, dies or takes longer than ``timeout_s`` costs nothing
but the time: its config is generated on the search's thread as before,
and a pool whose children keep failing (or are all gone) stops being used.
"""

from __future__ import annotations

import collections
import contextlib
import multiprocessing as mp
import os
import time
from collections.abc import Callable
from multiprocessing import connection
from typing import Any

#: After this many failures with no success, the pool is no longer used.
MAX_FAILURES_WITHOUT_SUCCESS = 4

#: Codegen processes of a search whose kernel runs on CUDA (with Helion's
#: compiles in forked processes, its default), unless its
#: ``codegen_workers`` option says otherwise. Four generate ~40 configs a
#: second at attention's ~0.1 s per config, several times what 16 compile
#: workers finish; on a CPU the default is none, because there timing runs
#: on the same cores and the processes slowed it (docs/evaluation_engine.md).
CUDA_CODEGEN_WORKERS = 4


def resolve_workers(requested: int | None, on_cuda: bool) -> int:
    """The number of codegen processes for a search's ``codegen_workers``
    option (None: :data:`CUDA_CODEGEN_WORKERS` on CUDA, else 0)."""
    if requested is not None:
        return requested
    return CUDA_CODEGEN_WORKERS if on_cuda else 0


def _serve(conn: connection.Connection, generate: Callable[[Any], str]) -> None:
    """A child's loop: (token, config) in, (token, ok, source or error) out."""
    try:
        while True:
            try:
                message = conn.recv()
            except EOFError:
                return
            if message is None:
                return
            token, config = message
            try:
                conn.send((token, True, generate(config)))
            except Exception as error:  # any codegen failure goes back as text
                conn.send((token, False, f"{type(error).__name__}: {error}"))
    finally:
        os._exit(0)  # no atexit handlers or buffers of the parent's


class CodegenPool:
    """Generates source text for configs in ``processes`` forked children.

    Args:
        generate: config -> source text; it runs in the children.
        processes: children to fork (at the first :meth:`submit`).
        timeout_s: a generation taking longer counts as failed (its child is
            killed).
    """

    def __init__(self, generate: Callable[[Any], str], processes: int, timeout_s: float = 10.0) -> None:
        if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
            raise ValueError(f"processes must be an int >= 1, got {processes!r}")
        self._generate = generate
        self._processes = processes
        self.timeout_s = timeout_s
        self._children: list[tuple[Any, connection.Connection]] = []
        self._busy: dict[int, tuple[Any, float]] = {}  # child slot -> (token, started)
        self._waiting: collections.deque[tuple[Any, Any]] = collections.deque()  # (token, config)
        self.results: dict[Any, tuple[bool, str]] = {}
        self.failures_without_success = 0
        self.generated = 0

    @property
    def processes(self) -> int:
        """Children the pool runs (forked at the first :meth:`submit`)."""
        return self._processes

    @property
    def usable(self) -> bool:
        """False once children have failed repeatedly with no success, or
        none is left."""
        alive = not self._children or any(process is not None for process, _ in self._children)
        return alive and self.failures_without_success < MAX_FAILURES_WITHOUT_SUCCESS

    def _start(self) -> None:
        context = mp.get_context("fork")
        for _ in range(self._processes):
            parent_end, child_end = context.Pipe()
            process = context.Process(target=_serve, args=(child_end, self._generate), daemon=True)
            process.start()
            child_end.close()
            self._children.append((process, parent_end))

    def submit(self, token: Any, config: Any) -> bool:
        """Generate ``config``'s code under ``token`` in the next free child
        (at once where one is free); False when the pool is not usable:
        generate it yourself."""
        if not self.usable:
            return False
        if not self._children:
            self._start()
        self._waiting.append((token, config))
        self._dispatch()
        return True

    def _dispatch(self) -> None:
        """Hand waiting configs to free children."""
        for slot, (process, conn) in enumerate(self._children):
            if not self._waiting:
                return
            if slot in self._busy or process is None:
                continue
            token, config = self._waiting[0]
            try:
                conn.send((token, config))
            except (OSError, ValueError):
                self._retire(slot)
                continue
            self._waiting.popleft()
            self._busy[slot] = (token, time.perf_counter())

    def poll(self) -> None:
        """Collect finished generations into :attr:`results`; fail those
        whose child died or ran past ``timeout_s``."""
        now = time.perf_counter()
        for slot, (token, started) in list(self._busy.items()):
            process, conn = self._children[slot]
            try:
                ready = conn.poll()
                message = conn.recv() if ready else None
            except (EOFError, OSError):
                self._fail(token, "the codegen process died")
                self._retire(slot)
                continue
            if message is not None:
                _, ok, text = message
                self.results[token] = (ok, text)
                del self._busy[slot]
                if ok:
                    self.generated += 1
                    self.failures_without_success = 0
                else:
                    self.failures_without_success += 1
            elif now - started > self.timeout_s:
                self._fail(token, f"codegen ran over {self.timeout_s:.0f}s")
                self._retire(slot)
        if self.usable:
            self._dispatch()
        else:
            while self._waiting:
                self.results[self._waiting.popleft()[0]] = (False, "no usable codegen process")

    def wait_handles(self) -> list[Any]:
        """What :func:`multiprocessing.connection.wait` can wait on."""
        return [self._children[slot][1] for slot in self._busy]

    def discard(self, token: Any) -> None:
        """Forget ``token`` (a config that was cancelled): its result, or
        its place in the queue."""
        self.results.pop(token, None)
        self._waiting = collections.deque(item for item in self._waiting if item[0] != token)

    def _fail(self, token: Any, reason: str) -> None:
        self.results[token] = (False, reason)
        self.failures_without_success += 1

    def _retire(self, slot: int) -> None:
        process, conn = self._children[slot]
        self._busy.pop(slot, None)
        if process is not None:
            with contextlib.suppress(Exception):
                process.kill()
                process.join(1)
        with contextlib.suppress(Exception):
            conn.close()
        self._children[slot] = (None, conn)

    def close(self) -> None:
        """Stop every child (asked first, killed after 1 s)."""
        for _, conn in self._children:
            with contextlib.suppress(Exception):
                conn.send(None)
        deadline = time.perf_counter() + 1.0
        for slot, (process, _) in enumerate(self._children):
            if process is not None:
                with contextlib.suppress(Exception):
                    process.join(max(0.0, deadline - time.perf_counter()))
            self._retire(slot)
        self._children = []
        self._busy.clear()
        self._waiting.clear()
