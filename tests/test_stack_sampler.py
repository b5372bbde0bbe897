"""bench/stack_sampler.py: the sampled seconds of the searching thread go
to the function it was in, waiting or computing, and add up to no more
than the time sampled."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from stack_sampler import StackSampler  # noqa: E402


def _waits(seconds: float) -> None:
    time.sleep(seconds)


def _computes(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        sum(range(1000))


def test_sampled_seconds_go_to_the_function_the_thread_was_in():
    start = time.perf_counter()
    with StackSampler(interval_s=0.005) as sampler:
        _waits(0.4)
        _computes(0.4)
    elapsed = time.perf_counter() - start
    innermost = sampler.counts["anywhere"]
    assert innermost["test_stack_sampler.py:_waits"] > 0.2
    assert innermost["test_stack_sampler.py:_computes"] > 0.2
    assert sum(innermost.values()) <= elapsed + 0.05
    assert sampler.counts["helion_hybrid"]["(outside)"] == sum(innermost.values())  # no package frame here
    report = sampler.report()
    assert "==== seconds by innermost frame (anywhere)" in report and "_waits" in report
