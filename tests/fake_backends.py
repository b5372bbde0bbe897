"""Backends for testing the evaluation engine without Helion.

* :class:`ScriptedBackend` -- compiles take scripted simulated seconds on a
  :class:`~helion_hybrid.evaluation.SimulatedClock` (``inf``: a hang; a
  negative number: a crash after that many seconds), timings are scripted
  too. Fully deterministic.
* :class:`ProcessBackend` -- each compile is a real process that sleeps,
  hangs or crashes, for what only real processes show: nothing is left
  behind after a search, an exception or an interrupt.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable, Sequence
from typing import Any

from helion_hybrid.evaluation import Observation, SimulatedClock, WallClock
from helion_hybrid.timing import TimingRecord


class _NoDeviceTime:
    """What both fakes share: no code generation step, no device time."""

    def begin_codegen(self, obs: Observation) -> bool:
        return False

    def codegen_done(self, obs: Observation) -> bool:
        return True

    def prepare(self, obs: Observation) -> str | None:
        return None

    def device_time(self, obs: Observation, calls: int | None = None) -> float | None:
        return None

    def uses_device_time(self) -> bool:
        return False


class ScriptedBackend(_NoDeviceTime):
    """Simulated compiles and timings, keyed by config.

    Args:
        compile_seconds: seconds each config's compile takes (inf hangs;
            negative: fails after abs(value) seconds).
        timing_ms: the kernel time each config reads (0 or negative reads
            as a broken timer).
        timing_cost_s: simulated seconds one timed repetition costs.
    """

    def __init__(
        self, compile_seconds: Callable[[Any], float], timing_ms: Callable[[Any], float], timing_cost_s: float = 0.001
    ) -> None:
        self.clock = SimulatedClock()
        self.compile_seconds = compile_seconds
        self.timing_ms = timing_ms
        self.timing_cost_s = timing_cost_s
        self.started: dict[int, float] = {}
        self.killed: list[Any] = []
        self.running_at_wait: list[tuple[int, int]] = []  # (running, queued) at each wait
        self.cutoffs: list[float | None] = []  # the early-stop threshold each first timing got
        self.engine: Any = None

    def start(self, obs: Observation) -> bool:
        self.started[obs.index] = self.clock.now()
        return True

    def _done_at(self, obs: Observation) -> float:
        return self.started[obs.index] + abs(self.compile_seconds(obs.config))

    def poll_compile(self, obs: Observation) -> bool | None:
        if self.clock.now() < self._done_at(obs):
            return None
        return self.compile_seconds(obs.config) >= 0

    def wait(self, running: Sequence[Observation], timeout: float) -> None:
        queued = len(self.engine._queue) if self.engine is not None else 0
        self.running_at_wait.append((len(running), queued))
        next_done = min((self._done_at(o) for o in running), default=math.inf)
        step = min(timeout, max(0.0, next_done - self.clock.now()))
        if math.isfinite(step):
            self.clock.advance(step)

    def kill(self, obs: Observation) -> None:
        self.killed.append(obs.config)

    def first_timing(self, obs: Observation, repetitions: int, cutoff_ms: float | None = None) -> TimingRecord:
        self.cutoffs.append(cutoff_ms)
        self.clock.advance(self.timing_cost_s * repetitions)
        value = self.timing_ms(obs.config)
        return TimingRecord(samples=[value] * repetitions, repetitions=repetitions)

    def sample(self, obs: Observation, repetitions: int) -> list[float]:
        self.clock.advance(self.timing_cost_s * repetitions)
        return [self.timing_ms(obs.config)] * repetitions

    def close(self) -> None:
        pass


def _compile_job(seconds: float) -> None:
    if seconds < 0:
        time.sleep(-seconds)
        os._exit(3)  # a compiler crash
    time.sleep(seconds if math.isfinite(seconds) else 10**6)


class ProcessBackend(_NoDeviceTime):
    """Each compile is a real (forked) process sleeping for the scripted
    seconds (inf: forever; negative: then it crashes)."""

    def __init__(
        self,
        compile_seconds: Callable[[Any], float],
        timing_ms: Callable[[Any], float],
        interrupt_at: int | None = None,
    ) -> None:
        self.clock = WallClock()
        self.compile_seconds = compile_seconds
        self.timing_ms = timing_ms
        self.interrupt_at = interrupt_at
        self.processes: dict[int, Any] = {}
        self.all_pids: list[int] = []
        self.timed = 0

    def start(self, obs: Observation) -> bool:
        process = mp.get_context("fork").Process(target=_compile_job, args=(self.compile_seconds(obs.config),))
        process.start()
        self.processes[obs.index] = process
        self.all_pids.append(process.pid)
        return True

    def poll_compile(self, obs: Observation) -> bool | None:
        process = self.processes[obs.index]
        if process.is_alive():
            return None
        process.join()
        return process.exitcode == 0

    def wait(self, running: Sequence[Observation], timeout: float) -> None:
        from multiprocessing import connection

        sentinels = [self.processes[o.index].sentinel for o in running if o.index in self.processes]
        if sentinels:
            connection.wait(sentinels, timeout)

    def kill(self, obs: Observation) -> None:
        process = self.processes.get(obs.index)
        if process is not None and process.is_alive():
            os.kill(process.pid, signal.SIGKILL)

    def first_timing(self, obs: Observation, repetitions: int, cutoff_ms: float | None = None) -> TimingRecord:
        self.timed += 1
        if self.interrupt_at is not None and self.timed >= self.interrupt_at:
            raise KeyboardInterrupt
        return TimingRecord(samples=[self.timing_ms(obs.config)] * repetitions, repetitions=repetitions)

    def sample(self, obs: Observation, repetitions: int) -> list[float]:
        return [self.timing_ms(obs.config)] * repetitions

    def close(self) -> None:
        for process in self.processes.values():
            if process.is_alive():
                os.kill(process.pid, signal.SIGKILL)
            process.join(5)

    def alive(self) -> list[int]:
        """Pids of compile processes still running (zombies count as gone)."""
        out = []
        for pid in self.all_pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    state = f.read().split(")")[-1].split()[0]
            except FileNotFoundError:
                continue
            if state != "Z":
                out.append(pid)
        return out
