"""The searches survive any timing, any failure and a tight budget; options
are checked at construction; no compile process outlives a search."""

from __future__ import annotations

import math
import time

import pytest

helion = pytest.importorskip("helion")
from helion import exc  # noqa: E402
from synthetic_objective import SMALL_MFBO, Problem, SlowKernel, autotune_problem  # noqa: E402

import helion_hybrid  # noqa: E402,F401  (registers the searches)


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("HELION_AUTOTUNE_PROGRESS_BAR", "0")
    monkeypatch.setenv("HELION_AUTOTUNE_FINAL_REBENCHMARK_TOP_K", "3")


class BrokenTimer(Problem):
    """Configs with ``stages == 3`` (about one in eight) read 0 ms, a negative
    time or NaN (a coarse or broken timer)."""

    def __init__(self, bad_value: float) -> None:
        super().__init__()
        self.bad_value = bad_value
        self.last_stages = 0

    def compile_fn(self, config):
        run, stages = super().compile_fn(config), config.config["stages"]

        def timed(x):
            self.last_stages = stages
            return run(x)

        return timed

    def do_bench(self, fn, *args, **kwargs) -> float:
        fn()
        return self.bad_value if self.last_stages == 3 else self.last_cost


@pytest.mark.parametrize("algorithm", ["HybridSearch", "MultiFidelityBayesianSearch"])
@pytest.mark.parametrize("bad_value", [0.0, -1.0, math.nan])
def test_a_timing_that_is_not_positive_never_aborts_the_search(monkeypatch, algorithm, bad_value):
    problem = BrokenTimer(bad_value)
    kwargs = SMALL_MFBO if algorithm == "MultiFidelityBayesianSearch" else {}
    best = autotune_problem(monkeypatch, problem, algorithm, **kwargs)
    search = helion_hybrid.last_search()
    assert search.counters_dict()["failures"].get("bad_timing", 0) >= 1
    chosen = search.observations[best]
    assert chosen.ok and all(s > 0 for s in chosen.samples)


class NothingWorks(Problem):
    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how

    def compile_fn(self, config):
        # Helion compiles the default config once for its accuracy baseline
        # before any search runs; every compile after that fails
        if self.how == "compile" and self.compiled:
            raise RuntimeError("every compile fails")
        return super().compile_fn(config)

    def do_bench(self, fn, *args, **kwargs) -> float:
        fn()
        return math.nan if self.how == "nan" else math.inf


@pytest.mark.parametrize("algorithm", ["HybridSearch", "MultiFidelityBayesianSearch"])
@pytest.mark.parametrize("how", ["compile", "nan", "inf"])
def test_nothing_working_raises_helions_no_config_found_with_a_summary(monkeypatch, algorithm, how):
    kwargs = SMALL_MFBO if algorithm == "MultiFidelityBayesianSearch" else {}
    with pytest.raises(exc.NoConfigFound) as raised:
        autotune_problem(monkeypatch, NothingWorks(how), algorithm, **kwargs)
    assert "configs tried" in str(raised.value)
    assert ("error" if how == "compile" else "bad_timing") in str(raised.value)


@pytest.mark.parametrize(("budget", "kernel_s"), [(3, 0.1), (6, 0.3)])
def test_the_budget_is_a_hard_limit_once_a_config_ran(monkeypatch, budget, kernel_s):
    problem = SlowKernel(kernel_s)
    start = time.perf_counter()
    autotune_problem(monkeypatch, problem, "HybridSearch", autotune_budget_seconds=budget)
    elapsed = time.perf_counter() - start
    counters = helion_hybrid.last_search().counters_dict()
    # at most one timing call past the budget, plus Helion's own start-up
    assert elapsed < budget + 1.5 * kernel_s + 1.0, (elapsed, counters)
    # configs cut off by the budget are cancelled, not failures the model learns from:
    # every failure recorded is a config that really fails to compile
    from synthetic_objective import fails

    failed = [o for o in helion_hybrid.last_search().observations.values() if o.failed]
    assert all(o.status == "error" and fails(dict(o.config.config)) for o in failed)


BAD_OPTIONS = [
    ("HybridSearch", {"initial_design": 2.5}, TypeError),
    ("HybridSearch", {"initial_design": math.inf}, TypeError),
    ("HybridSearch", {"initial_design": True}, TypeError),
    ("HybridSearch", {"shootout_candidates": 2.5}, TypeError),
    ("HybridSearch", {"screen_max_neighbours": 1.5}, TypeError),
    ("HybridSearch", {"pool_size": 2**31}, ValueError),
    ("HybridSearch", {"initial_design": 2**31}, ValueError),
    ("HybridSearch", {"compile_timeout_floor": "abc"}, TypeError),
    ("HybridSearch", {"compile_timeout_floor": math.nan}, ValueError),
    ("HybridSearch", {"compile_timeout_floor": -5}, ValueError),
    ("HybridSearch", {"explore_budget_fraction": 0}, ValueError),
    ("HybridSearch", {"pipelined": 1}, TypeError),
    ("HybridSearch", {"no_such_option": 1}, TypeError),
    ("MultiFidelityBayesianSearch", {"n_ultra": 2.5}, TypeError),
    ("MultiFidelityBayesianSearch", {"n_low": 30.5}, TypeError),
    ("MultiFidelityBayesianSearch", {"ucb_beta": math.inf}, ValueError),
    ("MultiFidelityBayesianSearch", {"n_low": 10, "n_medium": 20}, ValueError),
]


@pytest.mark.parametrize(("algorithm", "options", "error"), BAD_OPTIONS)
def test_options_are_checked_at_construction(algorithm, options, error):
    from helion_kernels import bound_cpu_kernels

    bound = bound_cpu_kernels()["matmul"]
    search_cls = helion.autotuner.search_algorithms[algorithm]
    with pytest.raises(error):
        search_cls(bound, (), **options)


# -- compile processes ------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
@pytest.mark.parametrize("interrupt", [False, True])
def test_no_compile_process_outlives_a_search(monkeypatch, interrupt):
    from fake_backends import ProcessBackend
    from synthetic_objective import cost_ms

    from helion_hybrid import HybridSearch

    backends = []

    def factory(search):
        # every fifth config hangs, every seventh crashes; the rest compile in 20 ms
        def seconds(config):
            key = hash(tuple(sorted(dict(config.config).items())))
            return math.inf if key % 5 == 0 else (-0.02 if key % 7 == 0 else 0.02)

        backends.append(
            ProcessBackend(seconds, lambda c: cost_ms(dict(c.config)), interrupt_at=25 if interrupt else None)
        )
        return backends[-1]

    monkeypatch.setattr(HybridSearch, "backend_factory", staticmethod(factory))
    monkeypatch.setattr(
        "helion_hybrid._search_base.MultiFidelitySearchBase._make_engine", _with_workers(4, HybridSearch._make_engine)
    )
    problem = Problem()
    if interrupt:
        with pytest.raises(KeyboardInterrupt):
            autotune_problem(monkeypatch, problem, "HybridSearch", compile_timeout_floor=0.3)
    else:
        autotune_problem(monkeypatch, problem, "HybridSearch", compile_timeout_floor=0.3)
        counters = helion_hybrid.last_search().counters_dict()
        assert counters["failures"].get("timeout", 0) >= 1 and counters["stragglers_killed"] >= 1
    assert backends and backends[0].alive() == []


def _with_workers(workers, make_engine):
    def patched(self):
        engine = make_engine(self)
        engine.workers = workers
        return engine

    return patched
