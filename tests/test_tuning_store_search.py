"""The searches write their finished tunings to the tuning store: every
observation, the returned config among them; also a search that ended by
its budget, never one that raised; a failed write costs one warning and not
the result. End to end: a real Pallas autotune on the CPU, read back."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
import types
import warnings
from pathlib import Path

import pytest
from pallas_subprocess import run_pallas_autotune

helion = pytest.importorskip("helion")
from helion import exc  # noqa: E402
from synthetic_objective import SMALL_MFBO, Problem, SlowKernel, autotune_problem  # noqa: E402

import helion_hybrid  # noqa: E402  (registers the searches)
from helion_hybrid import tuning_store  # noqa: E402
from helion_hybrid.tuning_store import (  # noqa: E402
    ENVIRONMENT_VARIABLE,
    TuningStore,
    TuningStoreWarning,
    context_of_search,
)

SCRIPT = Path(__file__).with_name("tuning_store_script.py")


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("HELION_AUTOTUNE_PROGRESS_BAR", "0")
    monkeypatch.setenv("HELION_AUTOTUNE_FINAL_REBENCHMARK_TOP_K", "3")


@pytest.fixture
def store(tmp_path, monkeypatch) -> TuningStore:
    """A store of this test's own, and an identity for the synthetic
    kernel: Helion's external API kernels have no source, so Helion does
    not cache them and the store would not record them."""
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(tmp_path / "store"))

    def synthetic_key(search):
        return types.SimpleNamespace(
            kernel_source_hash=hashlib.sha256(b"synthetic objective").hexdigest(),
            backend="triton",
            extra_cache_key="",
            specialization_key="((torch.float32, torch.Size([8])),)",
            extra_results="()",
            hardware="synthetic device",
            runtime_name="none",
            config_spec_hash="synthetic space",
            stable_hash=lambda: "synthetic key",
        )

    monkeypatch.setattr(tuning_store, "_helion_cache_key", synthetic_key)
    return TuningStore(tmp_path / "store")


def _autotune(monkeypatch, problem, algorithm, **kwargs):
    kwargs = {**(SMALL_MFBO if algorithm == "MultiFidelityBayesianSearch" else {}), **kwargs}
    return autotune_problem(monkeypatch, problem, algorithm, **kwargs)


def _stored(store: TuningStore, search) -> list:
    return store.tunings_for(context_of_search(search))


def _store_warnings(caught: list[warnings.WarningMessage]) -> list[warnings.WarningMessage]:
    return [w for w in caught if issubclass(w.category, TuningStoreWarning)]


@pytest.mark.parametrize("algorithm", ["HybridSearch", "MultiFidelityBayesianSearch"])
def test_a_finished_search_records_every_observation(monkeypatch, store, algorithm):
    best = _autotune(monkeypatch, Problem(), algorithm)
    search = helion_hybrid.last_search()
    [tuning] = _stored(store, search)
    observations = sorted(search.observations.values(), key=lambda o: o.index)
    assert [o.index for o in tuning.observations] == [o.index for o in observations]
    assert [o.status for o in tuning.observations] == [o.status for o in observations]
    assert [o.samples_ms for o in tuning.observations] == [tuple(o.samples) for o in observations]
    assert tuning.best.config == json.loads(best.to_json()) and tuning.best.ok
    assert tuning.best.helion_config() == best
    counters = search.counters_dict()
    assert tuning.counters["configs_timed_total"] == counters["configs_timed_total"]
    assert sum(o.ok for o in tuning.observations) == counters["configs_timed_total"]
    assert tuning.search == algorithm and tuning.seed == search.seed and not tuning.ended_by_budget
    assert tuning.context.space.dimensions == tuple(d.name for d in search.bridge.dimensions)
    assert tuning.context.helion_version == importlib.metadata.version("helion")


def test_a_search_ended_by_its_budget_is_recorded(monkeypatch, store):
    _autotune(monkeypatch, SlowKernel(0.1), "HybridSearch", autotune_budget_seconds=3)
    search = helion_hybrid.last_search()
    [tuning] = _stored(store, search)
    assert tuning.ended_by_budget and tuning.budget_s == 3
    assert len(tuning.observations) == len(search.observations)
    assert tuning.counters["cancelled"] == sum(o.status == "cancelled" for o in tuning.observations)


def test_a_search_that_raised_records_nothing(monkeypatch, store):
    class NothingTimes(Problem):
        def do_bench(self, fn, *args, **kwargs) -> float:
            fn()
            return math.nan

    with pytest.raises(exc.NoConfigFound):
        _autotune(monkeypatch, NothingTimes(), "HybridSearch")
    assert not store.root.exists()


def test_a_failed_write_costs_one_warning_and_not_the_result(monkeypatch, store, tmp_path):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(tmp_path / "file" / "store"))  # cannot be created
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # the write alone (a warm start would also read the broken store: its own warning)
        best = _autotune(monkeypatch, Problem(), "HybridSearch", warm_start=False)
    assert helion_hybrid.last_search().observations[best].ok
    assert len(_store_warnings(caught)) == 1


def test_a_bug_while_recording_costs_one_warning_and_not_the_result(monkeypatch, store):
    def broken(search, config):
        raise RuntimeError("a bug")

    monkeypatch.setattr(tuning_store, "tuning_of_search", broken)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        best = _autotune(monkeypatch, Problem(), "MultiFidelityBayesianSearch")
    assert helion_hybrid.last_search().observations[best].ok
    [warning] = _store_warnings(caught)
    assert "a bug" in str(warning.message)


def test_the_store_turned_off_or_simulated_measurements_record_nothing(monkeypatch, store):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "off")
    best = _autotune(monkeypatch, Problem(), "HybridSearch")
    search = helion_hybrid.last_search()
    assert search.tuning_store is None and not store.root.exists()
    # a replay's (or a test's) backend: its timings are no measurements of a device
    search.tuning_store = store
    search.engine.backend = object()
    assert search.record_tuning(best) is None and not store.root.exists()


def test_a_store_that_is_a_file_fails_before_any_tuning(monkeypatch, tmp_path):
    from helion_kernels import bound_cpu_kernels

    from helion_hybrid.hybrid_search import HybridSearch

    (tmp_path / "file").write_text("")
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(tmp_path / "file"))
    bound = bound_cpu_kernels()["matmul"]
    with pytest.raises(ValueError, match=f"{ENVIRONMENT_VARIABLE}.*is a file"):
        HybridSearch(bound, ())


# ----------------------------------------------------------------------------- end to end, on the CPU
def test_a_real_pallas_autotune_is_read_back_from_the_store(tmp_path):
    pytest.importorskip("jax", reason="jax is part of the test install (pip install -e '.[test]')")
    root = tmp_path / "store"
    env = {"HELION_AUTOTUNE_BUDGET_SECONDS": "10", ENVIRONMENT_VARIABLE: str(root)}
    result = run_pallas_autotune(SCRIPT, algorithm="HybridSearch", **env)
    context = result["context"]
    kernel = context["kernel"]
    assert kernel["name"] == "add" and kernel["backend"] == "pallas"
    assert context["device"] == "pallas_interpret" and context["runtime"] == "interpret"
    helion_version = importlib.metadata.version("helion")
    assert context["helion_version"] == helion_version
    assert context["helion_hybrid_version"] == helion_hybrid.__version__
    assert [a["shape"] for a in context["shape"]["arguments"]] == [[32, 32], [32, 32]]
    assert result["other_fingerprint"] != kernel["fingerprint"]  # matmul: another source

    [tuning] = TuningStore(root).tunings(kernel["fingerprint"], "pallas_interpret", helion_version)
    assert TuningStore(root).tunings(result["other_fingerprint"], "pallas_interpret", helion_version) == []
    assert tuning.context.kernel.fingerprint == kernel["fingerprint"]
    assert tuning.context.shape.features == (32.0, 32.0, 32.0, 32.0)
    assert tuning.search == "HybridSearch" and tuning.seed == result["seed"] and tuning.budget_s == 10
    counters = result["counters"]
    assert len(tuning.observations) == result["observations"]
    assert [o.status for o in tuning.observations] == result["statuses"]
    timed, failed = counters["configs_timed_total"], sum(counters["failures"].values())
    assert timed + failed + counters["cancelled"] == len(tuning.observations)
    assert sum(o.ok for o in tuning.observations) == timed
    assert tuning.best is not None and tuning.best.config == result["config"]
    assert tuning.best.ok and result["chosen_status"] == tuning.best.status
    assert all(o.samples_ms and o.median_ms > 0 for o in tuning.observations if o.ok)
