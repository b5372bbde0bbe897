"""The pipelined evaluation engine on scripted backends: workers kept busy,
stragglers abandoned without blocking, results in the right records, bad
timings counted as failures, no process left behind."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from fake_backends import ProcessBackend, ScriptedBackend

from helion_hybrid.evaluation import EvaluationEngine, SimulatedClock, StragglerPolicy


def _engine(backend, workers=4, **policy):
    engine = EvaluationEngine(
        backend, workers=workers, stragglers=StragglerPolicy(**{"floor_s": 1.0, "ceiling_s": 60.0, **policy})
    )
    backend.engine = engine
    return engine


def _submit(engine, configs, repetitions=5, phase="test"):
    return engine.submit([(c, None, np.zeros(1, dtype=np.int32)) for c in configs], repetitions, phase)


def _run(engine):
    done = []
    while engine.in_flight:
        done += engine.step()
    return done


def _skewed(seed):
    rng = random.Random(seed)
    return {i: rng.lognormvariate(-1.0, 0.8) for i in range(40)}


def test_every_worker_is_busy_while_configs_wait():
    seconds = _skewed(0)
    backend = ScriptedBackend(seconds.__getitem__, lambda c: 1.0 + c)
    engine = _engine(backend, workers=4)
    _submit(engine, list(seconds))
    done = _run(engine)
    assert sorted(o.config for o in done) == list(seconds)
    # whenever the engine waited with configs still queued, all 4 workers were compiling
    assert all(running == 4 for running, queued in backend.running_at_wait if queued)
    # total time close to the ideal: sum of compiles / workers (+ the last compile's tail)
    ideal = sum(seconds.values()) / 4
    assert backend.clock.now() < ideal + max(seconds.values()) + 1


def test_results_land_in_the_right_records():
    backend = ScriptedBackend(lambda c: 0.1 * (c + 1), lambda c: 2.0 * c + 1)
    engine = _engine(backend)
    _submit(engine, range(10), repetitions=7)
    _run(engine)
    for config, obs in engine.observations.items():
        assert obs.status == "ok" and obs.samples == [2.0 * config + 1] * 7
        assert obs.compile_s == pytest.approx(0.1 * (config + 1), abs=1e-9)
    assert engine.counters.as_dict()["configs_timed"] == {"test": {7: 10}}


class _CostlyMainThread(ScriptedBackend):
    """Code generation and starting a compile take main-thread time, as
    Helion's codegen and fork do."""

    def prepare(self, obs):
        self.clock.advance(0.02)
        return None

    def start(self, obs):
        self.clock.advance(0.05)
        return super().start(obs)


def test_main_thread_seconds_are_counted_per_activity():
    backend = _CostlyMainThread(lambda c: 0.5, lambda c: 1.0)
    engine = _engine(backend)
    _submit(engine, range(10))
    _run(engine)
    seconds = engine.counters.as_dict()["seconds"]
    assert seconds["codegen"] == pytest.approx(10 * 0.02)
    assert seconds["compile_start"] == pytest.approx(10 * 0.05)


def test_a_hang_is_abandoned_at_the_straggler_limit_without_blocking_the_rest():
    seconds = {i: 0.5 for i in range(20)}
    seconds[3] = math.inf  # never finishes
    backend = ScriptedBackend(seconds.__getitem__, lambda c: 1.0)
    engine = _engine(backend, workers=4, factor=4.0, floor_s=1.0, min_samples=4)
    _submit(engine, list(seconds))
    done = _run(engine)
    by_config = {o.config: o for o in done}
    assert by_config[3].status == "timeout" and backend.killed == [3]
    limit = engine.stragglers.limit([0.5] * 19)
    assert limit == 2.0
    assert by_config[3].compile_s == pytest.approx(limit, abs=1e-6)
    # the other 19 compiled on the 3 free workers meanwhile; nothing waited on the hang
    finished_others = max(o.finished_at for c, o in by_config.items() if c != 3)
    assert finished_others < 19 * 0.5 / 3 + 1
    assert engine.counters.stragglers_killed == 1
    assert engine.counters.failures["timeout"] == 1


def test_before_any_compile_finishes_only_helions_ceiling_applies():
    policy = StragglerPolicy(factor=4, floor_s=5, ceiling_s=60)
    assert policy.limit([]) == 60
    assert policy.limit([0.2]) == 5  # the floor
    assert policy.limit([3.0] * 20) == 12
    assert policy.limit([30.0] * 20) == 60
    assert StragglerPolicy(ceiling_until_min_samples=True, min_samples=8).limit([0.2] * 7) == 60


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_a_timing_that_is_not_a_positive_number_is_a_failure(bad):
    backend = ScriptedBackend(lambda c: 0.1, lambda c: bad if c == 2 else 1.0)
    engine = _engine(backend)
    _submit(engine, range(5))
    _run(engine)
    assert engine.observations[2].status == "bad_timing" and not engine.observations[2].ok
    assert engine.counters.failures["bad_timing"] == 1
    assert len(engine.successful()) == 4


def test_a_crash_is_an_error_and_the_rest_go_on():
    backend = ScriptedBackend(lambda c: -0.2 if c % 3 == 0 else 0.3, lambda c: 1.0)
    engine = _engine(backend)
    _submit(engine, range(9))
    _run(engine)
    assert [engine.observations[c].status for c in range(9)] == ["error", "ok", "ok"] * 3


def test_cancelled_configs_are_not_failures():
    backend = ScriptedBackend(lambda c: 1.0, lambda c: 1.0)
    engine = _engine(backend, workers=2)
    _submit(engine, range(6))
    finished = engine.step()  # the first timing returns at once
    assert [o.status for o in finished] == ["ok"]
    stopped = engine.cancel_pending("budget")
    assert {o.status for o in stopped} == {"cancelled"} and len(stopped) == 5
    assert engine.counters.cancelled == 5 and not engine.counters.failures
    assert engine.in_flight == 0


def test_same_script_same_order_of_results():
    def order():
        seconds = _skewed(3)
        backend = ScriptedBackend(seconds.__getitem__, lambda c: 1.0)
        engine = _engine(backend)
        _submit(engine, list(seconds))
        return [o.config for o in _run(engine)]

    assert order() == order()


def test_simulated_clock_charges_real_time_only_outside_simulation():
    clock = SimulatedClock(charge_real_time=True)
    with clock.simulating():
        clock.advance(5.0)
    assert 5.0 <= clock.now() < 5.5
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_first_timings_may_stop_early_above_ten_times_the_best_so_far():
    backend = ScriptedBackend(lambda c: 0.1 * (c + 1), lambda c: 1.0 + c)
    engine = _engine(backend, workers=1)
    _submit(engine, range(3))
    _run(engine)
    assert backend.cutoffs == [None, 10.0, 10.0]  # nothing ran before the first; then 10 x 1.0 ms


def test_the_provider_stops_a_first_timing_after_its_probe_when_far_too_slow(monkeypatch):
    pytest.importorskip("helion")
    from helion_hybrid import timing

    provider = object.__new__(timing.MultiFidelityBenchmarkProvider)
    provider.repetitions = 50
    monkeypatch.setattr(provider, "_aggregate_timer", lambda: None, raising=False)
    monkeypatch.setattr(provider, "_time", lambda fn, args, n: [7.0] * n, raising=False)
    provider.cutoff_ms = 5.0
    assert provider._first_samples(None, ()) == ([7.0] * timing.PROBE_REPETITIONS, timing.PROBE_REPETITIONS)
    provider.cutoff_ms = 8.0
    assert provider._first_samples(None, ()) == ([7.0] * 50, 50)
    provider.cutoff_ms = None
    assert provider._first_samples(None, ()) == ([7.0] * 50, 50)


# -- real processes -------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
def test_no_compile_process_outlives_the_engine():
    seconds = {0: 0.05, 1: math.inf, 2: -0.05, 3: 0.05, 4: math.inf, 5: 0.05}
    backend = ProcessBackend(seconds.__getitem__, lambda c: 1.0)
    engine = _engine(backend, workers=3, floor_s=0.5, factor=2.0, min_samples=2)
    _submit(engine, list(seconds))
    _run(engine)
    engine.close()
    assert {c: o.status for c, o in engine.observations.items()} == {
        0: "ok",
        1: "timeout",
        2: "error",
        3: "ok",
        4: "timeout",
        5: "ok",
    }
    assert backend.alive() == []


@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
def test_an_interrupt_leaves_no_process_behind():
    seconds = {i: (math.inf if i % 2 else 0.05) for i in range(8)}
    backend = ProcessBackend(seconds.__getitem__, lambda c: 1.0, interrupt_at=2)
    engine = _engine(backend, workers=4)
    _submit(engine, list(seconds))
    with pytest.raises(KeyboardInterrupt):
        try:
            _run(engine)
        finally:
            engine.close()
    assert backend.alive() == []


class _SlowPrepare(ScriptedBackend):
    """Generating a config's code takes 0.2 simulated seconds on the engine's thread."""

    def prepare(self, obs):
        self.clock.advance(0.2)
        return None


def test_each_first_timing_reports_the_threads_seconds_preparing_it():
    events = []
    backend = _SlowPrepare(lambda c: 1.0, lambda c: 1.0 + c)
    engine = EvaluationEngine(
        backend, workers=2, stragglers=StragglerPolicy(floor_s=5.0, ceiling_s=60.0), listeners=[events.append]
    )
    engine.submit([(c, None, np.zeros(1, dtype=np.int32)) for c in range(4)], 5, "test")
    while engine.in_flight:
        engine.step()
    firsts = [e for e in events if e["event"] == "first_timing"]
    assert len(firsts) == 4 and all(e["prepare_s"] == pytest.approx(0.2) for e in firsts)
    assert engine.counters.seconds["codegen"] == pytest.approx(0.8)


class _CountedWaits(ScriptedBackend):
    """Fails the test instead of spinning: a stuck engine waits without end."""

    def wait(self, running, timeout):
        self.waits = getattr(self, "waits", 0) + 1
        assert self.waits < 1000, "the engine keeps waiting without the clock reaching the deadline"
        super().wait(running, timeout)


@pytest.mark.parametrize("step_timeout", [None, 2.0])
def test_a_hang_is_abandoned_when_the_deadline_sum_rounds(step_timeout):
    # started at 8.84569780422085 with a 10 s limit: the deadline is 18.845697804220848, and
    # 18.845697804220848 - 8.84569780422085 = 9.999999999999998 < 10 (a replayed softmax
    # refinement spun at that deadline for ever)
    start, limit = 8.84569780422085, 10.0
    assert (start + limit) - start < limit
    backend = _CountedWaits(lambda c: math.inf, lambda c: 1.0)
    engine = _engine(backend, workers=2, floor_s=limit, ceiling_s=limit)
    backend.clock.advance(start)
    _submit(engine, [0])
    done = []
    while engine.in_flight:
        done += engine.step(timeout=step_timeout)
    assert [o.status for o in done] == ["timeout"] and backend.killed == [0]
    assert done[0].compile_s == pytest.approx(limit)


class _DeviceTimed(ScriptedBackend):
    """Scripted, with device times (the timing script's) and a record of
    the calls per graph each one asked for."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.device_calls: dict[object, int | None] = {}

    def uses_device_time(self):
        return True

    def device_time(self, obs, calls=None):
        self.device_calls[obs.config] = calls
        return self.timing_ms(obs.config)


@pytest.mark.parametrize(
    ("times", "calls"),
    [
        # short kernels: as many pairs as GRAPH_KERNEL_MS takes (the timer caps them), but the slow ones
        ({0: 0.01, 1: 0.014, 2: 0.016, 3: 0.09}, {0: 200, 1: 143, 2: "cheap", 3: "cheap"}),
        # long kernels: enough pairs for GRAPH_KERNEL_MS, never fewer than the cheap count
        ({0: 0.19, 1: 0.25, 2: 1.0, 3: 0.21}, {0: 11, 1: 8, 2: "cheap", 3: 10}),
    ],
)
def test_a_device_time_spans_about_graph_kernel_ms_and_far_slower_configs_get_a_cheap_one(times, calls):
    from helion_hybrid.evaluation import CHEAP_DEVICE_TIME_CALLS, GRAPH_KERNEL_MS

    assert GRAPH_KERNEL_MS == 2.0  # the expected counts below are for 2 ms
    backend = _DeviceTimed(lambda c: 0.1, times.__getitem__)
    engine = _engine(backend)
    assert engine.compare_by("device_time") == "device_time"
    _submit(engine, list(times))
    _run(engine)
    figures = {c: engine.figure(engine.observations[c]) for c in times}
    assert figures == times  # a device time for each, cheap or not
    expected = {c: CHEAP_DEVICE_TIME_CALLS if n == "cheap" else n for c, n in calls.items()}
    assert backend.device_calls == expected
