"""Code generation in forked processes: results come back by token, a
failing, dying or hanging child costs only its config (generated on the
search's thread instead), and no child outlives the pool. The engine holds
a worker for a config whose code is being generated elsewhere."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from fake_backends import ScriptedBackend

from helion_hybrid.codegen_pool import MAX_FAILURES_WITHOUT_SUCCESS, CodegenPool
from helion_hybrid.evaluation import EvaluationEngine, StragglerPolicy


def _generate(config):
    if config == "raise":
        raise ValueError("no code for this one")
    if config == "die":
        os._exit(3)
    if config == "hang":
        time.sleep(60)
    return f"source of {config} from {os.getpid()}"


def _collect(pool, tokens, timeout=20.0):
    deadline = time.perf_counter() + timeout
    while not set(tokens) <= set(pool.results) and time.perf_counter() < deadline:
        pool.poll()
        time.sleep(0.01)
    return {t: pool.results[t] for t in tokens}


def _children(pool):
    return [process for process, _ in pool._children if process is not None]


def test_results_come_back_by_token_from_other_processes():
    pool = CodegenPool(_generate, processes=2)
    try:
        assert pool.submit(1, "a") and pool.submit(2, "b")
        assert not pool.submit(3, "c")  # both children busy: generate it yourself
        results = _collect(pool, [1, 2])
        assert results[1][0] and results[1][1].startswith("source of a from ")
        assert results[2][0] and results[2][1].startswith("source of b from ")
        assert str(os.getpid()) not in results[1][1]
        assert pool.submit(3, "c")  # free again
        assert _collect(pool, [3])[3][1].startswith("source of c")
        assert pool.generated == 3
    finally:
        pool.close()


@pytest.mark.parametrize("config", ["raise", "die", "hang"])
def test_a_failing_child_costs_only_its_config(config):
    pool = CodegenPool(_generate, processes=1, timeout_s=1.0)
    try:
        assert pool.submit("bad", config)
        ok, reason = _collect(pool, ["bad"])["bad"]
        assert not ok and reason
        if config == "raise":
            assert "ValueError: no code for this one" in reason
            assert pool.submit("next", "d")  # the child serves on
            assert _collect(pool, ["next"])["next"][0]
        else:  # the child was retired; with none left the caller generates
            assert not pool.submit("next", "d")
    finally:
        pool.close()


def test_a_pool_that_keeps_failing_is_not_used():
    pool = CodegenPool(_generate, processes=1)
    try:
        for index in range(MAX_FAILURES_WITHOUT_SUCCESS):
            assert pool.submit(index, "raise")
            _collect(pool, [index])
        assert not pool.usable and not pool.submit("more", "a")
    finally:
        pool.close()


def test_no_child_outlives_the_pool():
    pool = CodegenPool(_generate, processes=3, timeout_s=30.0)
    pool.submit(0, "hang")
    pool.submit(1, "a")
    children = _children(pool)
    assert len(children) == 3
    pool.close()
    assert all(not process.is_alive() for process in children)


def test_bad_pool_sizes_are_refused():
    for processes in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="processes"):
            CodegenPool(_generate, processes=processes)


class _CodegenElsewhere(ScriptedBackend):
    """Code generation takes 0.3 simulated seconds elsewhere, off the
    engine's thread."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.generated_at: dict[int, float] = {}
        self.prepared: list[int] = []

    def begin_codegen(self, obs):
        self.generated_at[obs.index] = self.clock.now() + 0.3
        return True

    def codegen_done(self, obs):
        return self.clock.now() >= self.generated_at[obs.index]

    def wait(self, running, timeout):
        self.running_at_wait.append((len(running), len(self.engine._queue)))
        ends = [self.generated_at[o.index] if o.status == "generating" else self._done_at(o) for o in running]
        self.clock.advance(min(timeout, max(0.0, min(ends, default=timeout) - self.clock.now())))

    def prepare(self, obs):
        assert self.clock.now() >= self.generated_at[obs.index]  # only once its code exists
        self.prepared.append(obs.index)
        return None


def test_the_engine_holds_a_worker_while_code_is_generated_elsewhere():
    backend = _CodegenElsewhere(lambda c: 1.0, lambda c: 1.0 + c)
    engine = EvaluationEngine(backend, workers=4, stragglers=StragglerPolicy(floor_s=5.0, ceiling_s=60.0))
    backend.engine = engine
    engine.submit([(c, None, np.zeros(1, dtype=np.int32)) for c in range(8)], 5, "test")
    done = []
    while engine.in_flight:
        done += engine.step()
    assert sorted(o.config for o in done) == list(range(8)) and all(o.ok for o in done)
    assert sorted(backend.prepared) == list(range(8))
    # compile seconds start at the compile, not at code generation
    assert all(o.compile_s == pytest.approx(1.0) for o in done)
    # two waves of 4 workers, each 0.3 s of codegen + 1 s of compile
    assert backend.clock.now() == pytest.approx(2 * 1.3, abs=0.1)
    # while code was generated elsewhere, no more than 4 configs were in hand
    assert all(running <= 4 for running, _ in backend.running_at_wait)
