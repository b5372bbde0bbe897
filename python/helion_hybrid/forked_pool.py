"""Work off the search's thread, in long-lived forked processes.

A :class:`ForkedPool` runs one function on payloads in a few processes
forked from the search: each child holds what the search held when it was
forked (the bound kernel, its arguments), takes a payload, runs the function
and sends its answer back. HybridSearch runs two such pools on CUDA:

- **Code generation** (:func:`~helion_hybrid.helion_backend._generate_code`).
  On the H200 the search's one thread, not the compile workers, limited a
  pipelined HybridSearch: Helion generates each config's code there, 35-106
  ms per config (``bench/results/h200/suite.md``, "Where HybridSearch's
  time went"). A child generates the code the way ``compile_config`` does
  and sends the source text back; the search then loads that source
  (``PyCodeCache``, milliseconds) instead of generating it.
- **Triton compiles** (:mod:`helion_hybrid.triton_compile`). Helion forks a
  fresh process per compile from the search's thread, and the fork of a
  process holding CUDA costs that thread ~20 ms per config
  (``posix.fork`` in
  ``bench/results/h200/attention_2048_bf16/runs/HybridSearch-profiled_seed0.profile.txt``);
  a child of the compile pool compiles from a description of the Triton
  compile instead, and a killed straggler costs one fork of a replacement.

A payload submitted while every child is busy waits for the next free one
rather than being worked on the search's thread: doing it there holds
everything else up for as long as a child would take (with a config
generated there whenever the 4 children of the H200 ablation were busy,
43% of attention's configs, the search's thread spent as long per config
as without the pool: ``bench/results/h200/suite.md``, HybridSearch-cg4).

A child that fails, dies or takes longer than ``timeout_s`` costs nothing
but the time: the caller does the work its own way. A failed payload is
tried once more in its child before it counts. A child that died or was
killed is replaced by a fresh fork, up to ``max_replacements`` times in all
(by default as many as the pool has children; then its slot stays empty),
so that one slow payload does not take a share of the pool for the rest of
the search. Only a pool that has never succeeded stops being used after
repeated failures (its children cannot do the work here), or one whose
children are all gone: once it has worked, a failure costs its payload and
nothing else. On the H200, a rule that gave up after a few failures in a
row disabled the codegen pool at the start of most runs, whose configs were
then generated on the search's thread ("Codegen processes keep failing" in
``bench/results/h200/*/runs/HybridSearch-4a669eb_seed*.log``; main thread
``codegen`` in ``bench/results/h200/suite.md``). Failures are counted by
reason (:attr:`ForkedPool.failure_reasons`), retried ones apart, so a run's
counters say why. Each child leads its own process group, so that a kill
reaches what it started (Triton's ``ptxas``), and dies with the search's
process however that ends. A child writes nothing to the search's output:
what failed comes back as its error's text, and what Triton's compiler
prints itself (an MLIR reproducer or the PTX of each config that fails to
compile) filled 2-4 MB of an attention run's log
(``bench/results/h200/attention_2048_bf16/runs/HybridSearch-nocost_seed0.log``);
Helion's own compile processes capture it the same way.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import time
import traceback
from collections.abc import Callable
from multiprocessing import connection
from typing import Any

from helion.autotuner.process_utils import signal_process_tree, start_isolated_process_group

#: After this many failures before its first success, the pool is no longer used.
MAX_FAILURES_BEFORE_FIRST_SUCCESS = 8

#: prctl's option: the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1

#: Characters of an error's text kept as its reason in the counts.
REASON_CHARS = 160

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


def _describe(error: BaseException) -> str:
    """``Type (file:line function): message``, the place being the innermost
    frame, so that counts by reason say where codegen failed."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" ({os.path.basename(frames[-1].filename)}:{frames[-1].lineno} {frames[-1].name})" if frames else ""
    return f"{type(error).__name__}{where}: {error}"


def reason(error: BaseException | str) -> str:
    """An error's type and the first line of its text, shortened: the key
    under which failures are counted."""
    text = error if isinstance(error, str) else _describe(error)
    return text.strip().splitlines()[0][:REASON_CHARS] if text.strip() else "(no message)"


def _attempt(work: Callable[[Any], str | None], payload: Any) -> tuple[bool, str | None]:
    try:
        return True, work(payload)
    except Exception as error:  # any codegen failure goes back as text
        return False, _describe(error)


def _die_with(parent: int) -> None:
    """Have the kernel SIGKILL this process when ``parent`` dies (Linux).
    A child leads its own process group, so a kill of the search's group
    (``compare.py``'s time limit) does not reach it, and children forked
    later hold copies of its pipe, so it would not see the parent go."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the request
        os._exit(0)


def _silence_output() -> None:
    """Point this process's stdout and stderr (the file descriptors, so
    that C++ output goes too) at the null device."""
    null = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(null, fd)
    os.close(null)


def _serve(conn: connection.Connection, work: Callable[[Any], str | None], parent: int) -> None:
    """A child's loop: (token, payload) in, (token, ok, answer or error,
    error of a first attempt that a second one fixed, or None) out."""
    start_isolated_process_group()
    _die_with(parent)
    _silence_output()
    try:
        while True:
            try:
                message = conn.recv()
            except EOFError:
                return
            if message is None:
                return
            token, payload = message
            ok, text = _attempt(work, payload)
            first_error = None
            if not ok:
                first_error = text
                ok, text = _attempt(work, payload)
            conn.send((token, ok, text, first_error if ok else None))
    finally:
        os._exit(0)  # no atexit handlers or buffers of the parent's


class ForkedPool:
    """Runs ``work`` on payloads in ``processes`` forked children.

    Args:
        work: payload -> answer text or None; it runs in the children, and
            an exception it raises is a failure (tried once more).
        processes: children to fork (at the first :meth:`submit`).
        timeout_s: a payload taking longer counts as failed (its child is
            killed); ``math.inf``: the caller decides (:meth:`kill`).
        max_replacements: children forked again, in all, after one died or
            was killed; None: as many as ``processes``.
    """

    def __init__(
        self,
        work: Callable[[Any], str | None],
        processes: int,
        timeout_s: float = 10.0,
        max_replacements: int | None = None,
    ) -> None:
        if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
            raise ValueError(f"processes must be an int >= 1, got {processes!r}")
        self._work = work
        self._processes = processes
        self.timeout_s = timeout_s
        self.max_replacements = processes if max_replacements is None else max_replacements
        self._children: list[tuple[Any, connection.Connection]] = []
        self.replaced = 0  # children forked again after one died or was killed
        self._busy: dict[int, tuple[Any, float]] = {}  # child slot -> (token, started)
        self._waiting: collections.deque[tuple[Any, Any]] = collections.deque()  # (token, payload)
        self.results: dict[Any, tuple[bool, str | None]] = {}
        self.failures = 0
        self.successes = 0
        self.answered = 0  # successes with an answer (not None)
        self.failure_reasons: collections.Counter[str] = collections.Counter()
        self.retried_reasons: collections.Counter[str] = collections.Counter()

    @property
    def processes(self) -> int:
        """Children the pool runs (forked at the first :meth:`submit`)."""
        return self._processes

    @property
    def usable(self) -> bool:
        """False once children have failed repeatedly before any success,
        or none is left."""
        alive = not self._children or any(process is not None for process, _ in self._children)
        return alive and (self.successes > 0 or self.failures < MAX_FAILURES_BEFORE_FIRST_SUCCESS)

    def _start(self) -> None:
        self._children = [self._fork() for _ in range(self._processes)]

    def _fork(self) -> tuple[Any, connection.Connection]:
        context = mp.get_context("fork")
        parent_end, child_end = context.Pipe()
        process = context.Process(target=_serve, args=(child_end, self._work, os.getpid()), daemon=True)
        process.start()
        child_end.close()
        return process, parent_end

    def submit(self, token: Any, payload: Any) -> bool:
        """Work on ``payload`` under ``token`` in the next free child (at
        once where one is free); False when the pool is not usable: do the
        work yourself."""
        if not self.usable:
            return False
        if not self._children:
            self._start()
        self._waiting.append((token, payload))
        self._dispatch()
        return True

    def _dispatch(self) -> None:
        """Hand waiting payloads to free children."""
        for slot, (process, conn) in enumerate(self._children):
            if not self._waiting:
                return
            if slot in self._busy or process is None:
                continue
            token, payload = self._waiting[0]
            try:
                conn.send((token, payload))
            except (OSError, ValueError):
                self._retire(slot)
                continue
            self._waiting.popleft()
            self._busy[slot] = (token, time.perf_counter())

    def poll(self) -> None:
        """Collect finished payloads into :attr:`results`; fail those whose
        child died or ran past ``timeout_s``."""
        now = time.perf_counter()
        for slot, (token, started) in list(self._busy.items()):
            process, conn = self._children[slot]
            try:
                ready = conn.poll()
                message = conn.recv() if ready else None
            except (EOFError, OSError):
                self._fail(token, "the pool's process died")
                self._retire(slot)
                continue
            if message is not None:
                del self._busy[slot]
                self._record(token, *message[1:])
            elif now - started > self.timeout_s:
                self._fail(token, f"ran over {self.timeout_s:.0f}s in the pool's process")
                self._retire(slot)
        if self.usable:
            self._dispatch()
        else:
            while self._waiting:
                self.results[self._waiting.popleft()[0]] = (False, "no usable process in the pool")

    def wait_handles(self) -> list[Any]:
        """What :func:`multiprocessing.connection.wait` can wait on."""
        return [self._children[slot][1] for slot in self._busy]

    def discard(self, token: Any) -> None:
        """Forget ``token`` (a config that was cancelled): its result, or
        its place in the queue."""
        self.results.pop(token, None)
        self._waiting = collections.deque(item for item in self._waiting if item[0] != token)

    def kill(self, token: Any) -> None:
        """Forget ``token`` and kill the child working on it, if one is
        (it is replaced while the pool's replacements last)."""
        self.discard(token)
        for slot, (busy, _) in list(self._busy.items()):
            if busy == token:
                self._retire(slot)

    def _record(self, token: Any, ok: bool, text: str | None, first_error: str | None) -> None:
        self.results[token] = (ok, text)
        if first_error is not None:
            self.retried_reasons[reason(first_error)] += 1
        if not ok:
            self.failures += 1
            self.failure_reasons[reason(text or "")] += 1
            return
        self.successes += 1
        if text is not None:
            self.answered += 1

    def _fail(self, token: Any, why: str) -> None:
        self._record(token, False, why, None)

    def _retire(self, slot: int, replace: bool = True) -> None:
        """Stop the child in ``slot`` (its process group: what it started
        too); fork a new one there while the pool's replacements last
        (``replace``)."""
        process, conn = self._children[slot]
        self._busy.pop(slot, None)
        if process is not None:
            with contextlib.suppress(Exception):
                signal_process_tree(process, signal.SIGKILL)
                process.join(1)
        with contextlib.suppress(Exception):
            conn.close()
        self._children[slot] = (None, conn)
        if replace and self.replaced < self.max_replacements:
            self.replaced += 1
            self._children[slot] = self._fork()

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
            self._retire(slot, replace=False)
        self._children = []
        self._busy.clear()
        self._waiting.clear()
