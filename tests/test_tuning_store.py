"""The tuning store: a written tuning reads back intact, only compatible
records are returned, corrupt files and failed writes cost one warning and
never an exception, several processes write at once without harm, and the
searches record every finished autotune (not one that raised)."""

from __future__ import annotations

import dataclasses
import errno
import gzip
import json
import multiprocessing as mp
import time
import warnings
from pathlib import Path

import pytest

from helion_hybrid import tuning_store
from helion_hybrid.tuning_store import (
    ENVIRONMENT_VARIABLE,
    FORMAT_VERSION,
    ArgumentShape,
    ConfigSpace,
    KernelIdentity,
    ShapeKey,
    StoredObservation,
    Tuning,
    TuningContext,
    TuningStore,
    TuningStoreWarning,
    kernel_fingerprint,
)

FINGERPRINT = kernel_fingerprint("source-a", "pallas", "")
DEVICE = "NVIDIA H200"
HELION = "1.5.1"


def make_context(fingerprint: str = FINGERPRINT, device: str = DEVICE, helion_version: str = HELION) -> TuningContext:
    space = ConfigSpace(
        config_spec_hash="c0ffee",
        flat_spec=(
            {"kind": "BlockSizeFragment", "low": 16, "high": 256, "default_val": 64},
            {"kind": "BooleanFragment"},
        ),
        overridden_flat_indices=(),
        dimensions=("block_sizes[0]", "flag"),
    )
    shape = ShapeKey(
        specialization_key="((torch.float16, torch.Size([1024, 1024])),)",
        extra_results="()",
        arguments=(ArgumentShape("tensor", (1024, 1024), "float16"), ArgumentShape("int", value=3.0)),
    )
    kernel = KernelIdentity("matmul", fingerprint, "source-a", "pallas", "")
    return TuningContext(kernel, shape, device, "12.8", space, helion_version, "0.1.0", "cafe")


def make_observation(index: int) -> StoredObservation:
    ok = index % 7 != 3
    samples = tuple(0.1 + 0.001 * (index % 13) + 0.0001 * r for r in range(5 if index % 2 else 25)) if ok else ()
    return StoredObservation(
        index=index,
        config={"block_sizes": [16 << (index % 5)], "flag": bool(index % 2)},
        flat=(16 << (index % 5), bool(index % 2)),
        point=(index % 5, index % 2),
        phase="explore" if index > 32 else "initial",
        status="ok" if ok else "error",
        repetitions=5,
        timed_repetitions=len(samples) or 1,
        samples_ms=samples,
        median_ms=sorted(samples)[len(samples) // 2] if ok else None,
        shootout_ms=None,
        device_ms=None,
        compile_s=1.5 + index % 3,
        check_s=0.01,
        timing_s=0.02,
        submitted_s=0.1 * index,
        started_s=0.1 * index + 0.01,
        compiled_s=0.1 * index + 1.5,
        finished_s=0.1 * index + 1.6,
    )


def make_tuning(count: int = 300, seed: int = 0, **context: str) -> Tuning:
    return Tuning(
        context=make_context(**context),
        search="HybridSearch",
        effort="quick",
        options={"initial_design": 12, "pipelined": True},
        seed=seed,
        date="2026-01-02T03:04:05+00:00",
        wall_s=61.5,
        budget_s=None,
        ended_by_budget=False,
        best_index=0,
        counters={"configs_timed_total": count},
        observations=tuple(make_observation(i) for i in range(count)),
    )


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# ----------------------------------------------------------------------------- round trip
def test_a_written_tuning_reads_back_equal(tmp_path):
    store = TuningStore(tmp_path / "store")
    tuning = make_tuning()
    path = store.write(tuning)
    assert path is not None and path.parent == store.folder(FINGERPRINT) and path.name.endswith(".jsonl.gz")
    [read] = store.tunings(FINGERPRINT, DEVICE, HELION)
    assert read == tuning and read.source == str(path)
    assert read.best == tuning.observations[0] and read.best.ok
    assert files_in(tmp_path) == [path]  # no temporary file is left behind
    assert path.stat().st_mode & 0o777 == 0o644  # not private: whoever shares the cache reads it
    with gzip.open(path, "rt") as lines:
        header = json.loads(next(lines))
        assert next(iter(header)) == "format" and header["format"] == FORMAT_VERSION
        assert header["observation_count"] == 300 and len(list(lines)) == 300


def test_non_finite_numbers_are_written_as_null(tmp_path):
    obs = dataclasses.replace(make_observation(0), compile_s=float("inf"), device_ms=float("nan"))
    tuning = dataclasses.replace(make_tuning(1), observations=(obs,), wall_s=float("nan"))
    store = TuningStore(tmp_path)
    with pytest.warns(TuningStoreWarning, match="wall_s"):
        assert store.write(tuning) is None  # wall_s must be a number: what a reader would skip is not written
    tuning = dataclasses.replace(tuning, wall_s=1.0)
    store.write(tuning)
    [read] = store.tunings(FINGERPRINT, DEVICE, HELION)
    assert read.observations[0].compile_s is None and read.observations[0].device_ms is None


def test_a_typical_write_takes_milliseconds(tmp_path):
    store = TuningStore(tmp_path)
    tuning = make_tuning(300)
    store.write(tuning)  # warm up (imports, folder creation)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        store.write(tuning)
        times.append(time.perf_counter() - start)
    assert sorted(times)[2] < 0.5, times


# ----------------------------------------------------------------------------- compatibility
def test_only_tunings_of_the_same_kernel_device_and_helion_version_are_returned(tmp_path):
    store = TuningStore(tmp_path)
    other_kernel = kernel_fingerprint("source-b", "pallas", "")
    store.write(make_tuning(3, seed=1))
    store.write(make_tuning(3, seed=2, fingerprint=other_kernel))
    store.write(make_tuning(3, seed=3, device="NVIDIA H100"))
    store.write(make_tuning(3, seed=4, helion_version="1.6.0"))
    # a file of another kernel copied into this kernel's folder is not this kernel's either
    moved = store.folder(other_kernel)
    [stray] = moved.iterdir()
    stray.rename(store.folder(FINGERPRINT) / stray.name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # incompatible is not unreadable: no warning
        assert [t.seed for t in store.tunings(FINGERPRINT, DEVICE, HELION)] == [1]
        assert [t.seed for t in store.tunings(FINGERPRINT, "NVIDIA H100", HELION)] == [3]
        assert [t.seed for t in store.tunings(FINGERPRINT, DEVICE, "1.6.0")] == [4]
        assert store.tunings(other_kernel, DEVICE, HELION) == []
        assert store.tunings(kernel_fingerprint("never", "tuned", ""), DEVICE, HELION) == []


def test_newest_first_and_limit(tmp_path):
    store = TuningStore(tmp_path)
    for seed in range(4):
        store.write(make_tuning(2, seed=seed))
    assert [t.seed for t in store.tunings(FINGERPRINT, DEVICE, HELION)] == [3, 2, 1, 0]
    assert [t.seed for t in store.tunings_for(make_context(), limit=2)] == [3, 2]


def test_kernels_of_another_source_have_another_fingerprint():
    assert kernel_fingerprint("a", "triton", "") != kernel_fingerprint("b", "triton", "")
    assert kernel_fingerprint("a", "triton", "") != kernel_fingerprint("a", "pallas", "")
    assert kernel_fingerprint("a", "triton", "") != kernel_fingerprint("a", "triton", "fusion")
    assert kernel_fingerprint("a", "triton", "") == kernel_fingerprint("a", "triton", "")


# ----------------------------------------------------------------------------- corrupt files
def _write_raw(folder: Path, name: str, payload: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(payload)
    return path


def _gzip_lines(*lines: object) -> bytes:
    return gzip.compress("".join(json.dumps(line) + "\n" for line in lines).encode())


def test_corrupt_and_unreadable_files_are_skipped_with_one_warning(tmp_path, monkeypatch):
    store = TuningStore(tmp_path)
    good = store.write(make_tuning(20, seed=7))
    folder = store.folder(FINGERPRINT)
    valid = good.read_bytes()
    with gzip.open(good, "rt") as lines:
        header, *observations = (json.loads(line) for line in lines)
    corrupt = {
        "truncated": valid[: len(valid) // 2],
        "not_gzip": b"this is not gzip",
        "bad_json": gzip.compress(b"{not json\n"),
        "empty": gzip.compress(b""),
        "format": _gzip_lines({**header, "format": FORMAT_VERSION + 1}, *observations),
        "no_format": _gzip_lines({k: v for k, v in header.items() if k != "format"}, *observations),
        "missing_field": _gzip_lines(header, *observations[:-1], {"index": 19}),
        "wrong_type": _gzip_lines(header, *observations[:-1], {**observations[-1], "samples_ms": "fast"}),
        "lost_lines": _gzip_lines(header, *observations[:-2]),
        "bad_context": _gzip_lines({**header, "context": {"kernel": 3}}, *observations),
        "unreadable": valid,
    }
    for i, (name, payload) in enumerate(corrupt.items()):
        _write_raw(folder, f"2000010{i}T000000Z-1-{name}.jsonl.gz", payload)
    real_open = gzip.open

    def refuse(path, *args, **kwargs):
        if "unreadable" in Path(path).name:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(gzip, "open", refuse)
    monkeypatch.setattr(tuning_store, "_NAMED_PROBLEMS", len(corrupt))
    with pytest.warns(TuningStoreWarning) as caught:
        tunings = store.tunings(FINGERPRINT, DEVICE, HELION)
    assert [t.seed for t in tunings] == [7]
    assert len(caught) == 1
    message = str(caught[0].message)
    assert f"skipped {len(corrupt)} unreadable tuning file(s)" in message
    assert all(f"-{name}.jsonl.gz" in message for name in corrupt)
    assert "EOFError" in message and "PermissionError" in message and "format 2" in message


def test_an_unreadable_folder_is_one_warning_and_no_tunings(tmp_path, monkeypatch):
    store = TuningStore(tmp_path)
    store.write(make_tuning(2))

    def refuse(self):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", refuse)
    with pytest.warns(TuningStoreWarning, match="the folder itself") as caught:
        assert store.tunings(FINGERPRINT, DEVICE, HELION) == []
    assert len(caught) == 1


# ----------------------------------------------------------------------------- failed writes
def _fail_with(code: int):
    def fail(*args, **kwargs):
        raise OSError(code, "simulated")

    return fail


@pytest.mark.parametrize(
    ("what", "code"),
    [("fsync", errno.ENOSPC), ("replace", errno.ENOSPC), ("mkstemp", errno.EROFS), ("mkdir", errno.EACCES)],
)
def test_a_failed_write_is_one_warning_and_leaves_nothing_behind(tmp_path, monkeypatch, what, code):
    store = TuningStore(tmp_path / "store")
    target = {
        "fsync": (tuning_store.os, "fsync"),
        "replace": (tuning_store.os, "replace"),
        "mkstemp": (tuning_store.tempfile, "mkstemp"),
        "mkdir": (Path, "mkdir"),
    }[what]
    monkeypatch.setattr(*target, _fail_with(code))
    with pytest.warns(TuningStoreWarning, match="was not written") as caught:
        assert store.write(make_tuning(300)) is None
    assert len(caught) == 1
    assert files_in(tmp_path) == []


def test_a_store_below_a_file_fails_to_write_with_one_warning(tmp_path):
    (tmp_path / "file").write_text("")
    store = TuningStore(tmp_path / "file" / "store")  # nothing says so until it writes
    with pytest.warns(TuningStoreWarning) as caught:
        assert store.write(make_tuning(3)) is None
    assert len(caught) == 1


# ----------------------------------------------------------------------------- the setting and bad input
def test_the_setting_moves_or_disables_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(tmp_path / "elsewhere"))
    assert TuningStore.from_environment().root == tmp_path / "elsewhere"
    for off in ("0", "off", "OFF", "false", "no"):
        monkeypatch.setenv(ENVIRONMENT_VARIABLE, off)
        assert TuningStore.from_environment() is None
    pytest.importorskip("helion")
    monkeypatch.setenv("HELION_CACHE_DIR", str(tmp_path / "helion_cache"))
    for default in ("", "1", "on"):
        monkeypatch.setenv(ENVIRONMENT_VARIABLE, default)
        assert TuningStore.from_environment().root == tmp_path / "helion_cache" / "helion_hybrid" / "tunings"
    monkeypatch.delenv(ENVIRONMENT_VARIABLE)
    assert TuningStore.from_environment().root == tmp_path / "helion_cache" / "helion_hybrid" / "tunings"


def test_bad_input_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        TuningStore(tmp_path / "file")
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(tmp_path / "file"))
    with pytest.raises(ValueError, match=ENVIRONMENT_VARIABLE):
        TuningStore.from_environment()
    with pytest.raises(TypeError):
        TuningStore(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        TuningStore("  ")
    store = TuningStore(tmp_path / "store")
    with pytest.raises(ValueError, match="hex"):
        store.tunings("../elsewhere", DEVICE, HELION)
    with pytest.raises(TypeError):
        store.tunings(3, DEVICE, HELION)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.tunings(FINGERPRINT, None, HELION)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.tunings(FINGERPRINT, DEVICE, HELION, limit=-1)
    with pytest.raises(TypeError):
        store.write({"not": "a tuning"})  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- records
def test_shape_features_and_signature():
    shape = make_context().shape
    assert shape.features == (1024.0, 1024.0, 3.0)
    assert shape.signature == "tensor2:float16,int:"
    torch = pytest.importorskip("torch")
    described = [ArgumentShape.of(a) for a in (torch.zeros(2, 3, dtype=torch.bfloat16), 4, 0.5, True, "x")]
    assert described == [
        ArgumentShape("tensor", (2, 3), "bfloat16"),
        ArgumentShape("int", value=4.0),
        ArgumentShape("float", value=0.5),
        ArgumentShape("bool", value=1.0),
        ArgumentShape("str"),
    ]


def test_config_spaces_of_two_shapes_share_their_layout():
    space = make_context().space
    wider = dataclasses.replace(
        space, flat_spec=({**space.flat_spec[0], "high": 1024}, *space.flat_spec[1:]), config_spec_hash="other"
    )
    assert space.same_layout(wider) and space != wider
    assert not space.same_layout(dataclasses.replace(space, flat_spec=space.flat_spec[:1]))


# ----------------------------------------------------------------------------- several processes at once
PROCESSES, TUNINGS_PER_PROCESS = 6, 4


def _write_many(root: str, worker: int, barrier: mp.synchronize.Barrier) -> None:
    store = TuningStore(root)
    barrier.wait()  # every process writes at the same moment
    for i in range(TUNINGS_PER_PROCESS):
        assert store.write(make_tuning(300, seed=worker * 100 + i)) is not None


def test_processes_writing_at_once_leave_every_tuning_intact(tmp_path):
    # spawn, not fork: the test process may run JAX's threads, and a forked
    # child of a threaded process can deadlock (children get this sys.path)
    context = mp.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    workers = [context.Process(target=_write_many, args=(str(tmp_path), w, barrier)) for w in range(PROCESSES)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tunings = TuningStore(tmp_path).tunings(FINGERPRINT, DEVICE, HELION)
    expected = {w * 100 + i for w in range(PROCESSES) for i in range(TUNINGS_PER_PROCESS)}
    assert sorted(t.seed for t in tunings) == sorted(expected)
    reference = make_tuning(300)
    assert all(t.observations == reference.observations for t in tunings)
    assert len(files_in(tmp_path)) == len(expected)  # no temporary files
