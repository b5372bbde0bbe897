"""Replay: autotuners run against recorded GPU measurements, on the CPU.

A dataset (``bench/build_dataset.py`` writes it) holds every config one GPU
measured for one workload: status, compile seconds, every timing sample (or
Helion's 50 ms-window aggregate), device times, and the costs calibrated from
the recordings. A replay runs a search's own code unchanged on a
:class:`~helion_hybrid.evaluation.SimulatedClock` that charges

* the recorded compile seconds of each config on the GPU host's compile
  workers, with the same timeout rules (Helion's batch barrier and compile
  timeout for Helion's searches, the engine's straggler policy for ours);
* timing by the repetitions requested (kernel time plus the calibrated
  per-call overhead), or Helion's ~50 ms window per first timing;
* the recorded code generation, baseline and rebenchmark costs (code
  generation and compile start per config where its trace recorded
  them, ``prepare_s``: results then arrive in the recorded order); for
  helion_hybrid's searches with codegen processes (their default on
  CUDA), code generation runs on simulated processes and the search's
  thread pays the dataset's ``code_load_s`` per config, where a recorded
  run measured it (else code is generated on the search's thread, as in
  the runs recorded before those processes existed);
* the search's own work (models, bookkeeping) in real seconds, as it runs
  here (outside ``clock.simulating()`` blocks).

So a replayed wall time means what it meant on the GPU: seconds from the
start of ``autotune()`` to its answer.

Answers: the recorded status of a config (one of its recorded first timings,
drawn at random), timing samples drawn from its own recorded samples, and
for a kind of timing it was never measured with (per-call samples of a
config Helion timed in windows, or the reverse), its recorded centre
converted by the dataset-wide ratio between the two kinds, with the noise
pooled over all configs measured that way (relative residuals). A config
never measured is answered by the **surrogate** (:class:`Surrogate`): the
``k`` nearest recorded configs in Helion's own encoding
(``ConfigGeneration.encode_config``, each dimension scaled to its range and
weighted by the share of the recorded times' variance it explains) give
the probability that it runs, its compile seconds and its centre (the
geometric median of theirs, perturbed by their recorded spread and kept
within their range). The surrogate is not HybridSearch's GP, so it favours
no search; each run reports the share of its evaluations it answered.

The config space is the GPU's: :func:`gpu_space` makes Helion on the CPU
build exactly the flat spec recorded on the GPU (capability queries answer
as an sm_90 device does while the kernel is bound and searched).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import json
import math
import random
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .evaluation import Observation, SimulatedClock
from .helion_space import describe_fragment
from .timing import BASELINE_EVERY, CALLS_PER_GRAPH, PROBE_REPETITIONS, TimingRecord, graph_calls

if TYPE_CHECKING:
    from helion.autotuner.config_generation import ConfigGeneration

#: A replay whose share of surrogate answers is above this is flagged.
SURROGATE_FLAG_SHARE = 0.25
#: Nearest recorded configs behind a surrogate answer.
SURROGATE_NEIGHBOURS = 5
#: CUDA-graph device timing (timing.GraphDeviceTimer): replays of a measurement's graph,
#: counted as 6 launches of each of its (L2 flush, call) pairs.
DEVICE_TIME_REPLAYS = 6


def device_time_launches(calls: int | None = None) -> tuple[int, int]:
    """(launches, kernel calls among them) of one CUDA-graph device time
    with ``calls`` pairs asked for (``timing.graph_calls``, as
    ``GraphDeviceTimer.measure`` counts them), its share
    of the flushes-only graph that BASELINE_EVERY measurements share
    included. Traces before commit 28eedc7 replayed a flushes-only graph
    per measurement; they are counted the same way."""
    kernel_calls = DEVICE_TIME_REPLAYS * graph_calls(calls)
    return kernel_calls + math.ceil(DEVICE_TIME_REPLAYS * CALLS_PER_GRAPH / BASELINE_EVERY), kernel_calls


def config_key(config: Any) -> str:
    """The canonical key of a Helion Config or config dict."""
    data = dict(config.config if hasattr(config, "config") else config)
    return json.dumps(_plain(data), sort_keys=True)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# ----------------------------------------------------------------------------- the dataset
@dataclasses.dataclass
class Measured:
    """What a dataset row says about one config.

    Attributes:
        config: the config dict.
        firsts: its recorded first timings (status, compile_s, check_s, values).
        window_ms: Helion's first-timing window aggregates (ms).
        rebench_ms: Helion's rebenchmark figures (ms; read apart from
            first timings, on a quieter machine).
        first_groups: per-call sample groups of its first timings.
        calls_ms: every per-call sample (first timings after their first
            call, and re-timings).
        device_ms: CUDA-graph device times.
        retimed: the side-by-side re-timing where it was a run's answer.
    """

    config: dict[str, Any]
    firsts: list[dict[str, Any]]
    window_ms: list[float]
    rebench_ms: list[float]
    first_groups: list[list[float]]
    calls_ms: list[float]
    device_ms: list[float]
    retimed: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Measured:
        window = [v for f in row["first"] if f["aggregate"] for v in f["values"] if _positive(v)]
        rebench = [r["value"] for r in row["rebenchmark"] if _positive(r["value"])]
        groups = [f["values"] for f in row["first"] if not f["aggregate"] and f["values"]]
        calls = [v for g in groups for v in g[1:]] + [v for r in row["retime"] for v in r["values"]]
        return cls(
            row["config"],
            row["first"],
            window,
            rebench,
            groups,
            [v for v in calls if _positive(v)],
            [v for v in row["device_ms"] if _positive(v)],
            row.get("retimed"),
        )

    @property
    def ever_ran(self) -> bool:
        return any(f["status"] in ("ok", "deduplicated") for f in self.firsts) or bool(
            self.window_ms or self.calls_ms or self.rebench_ms
        )

    def centre_window(self) -> float | None:
        return statistics.median(self.window_ms) if self.window_ms else None

    def centre_calls(self) -> float | None:
        return statistics.median(self.calls_ms) if self.calls_ms else None


#: Pooled residuals beyond these percentiles are cut: they come from configs
#: whose runs disagree systematically (a quiet machine vs one busy
#: compiling), not from one timing's noise.
NOISE_TRIM = (2.5, 97.5)


def _trimmed(values: list[float]) -> list[float]:
    if len(values) < 20:
        return values
    low, high = np.percentile(values, NOISE_TRIM)
    return [v for v in values if low <= v <= high]


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


class Dataset:
    """A replay dataset: its meta line and one :class:`Measured` per config.

    Attributes:
        meta: the meta line (space, workers, costs, runs).
        rows: config key -> what was measured.
        calls_per_window: per-call median over window median, over configs
            measured both ways (converts one kind into the other).
        device_per_window: device time over window median (None without device times).
        window_noise, call_noise, first_call_noise: relative residuals
            (log) pooled over configs: of window figures, of per-call samples,
            of the first call of a first timing.
    """

    def __init__(self, meta: dict[str, Any], rows: list[dict[str, Any]], path: Path | None = None) -> None:
        self.meta = meta
        self.path = path
        self.rows: dict[str, Measured] = {}
        for row in rows:
            self.rows[config_key(row["config"])] = Measured.from_row(row)
        self.costs: dict[str, float] = meta["costs"]
        self.calls_per_window = self._ratio(lambda m: m.centre_calls(), 1.0)
        self.rebench_per_window = self._ratio(lambda m: statistics.median(m.rebench_ms) if m.rebench_ms else None, 1.0)
        self.device_per_window = self._ratio(lambda m: statistics.median(m.device_ms) if m.device_ms else None, None)
        self.window_noise = self._residuals(lambda m: m.window_ms)
        self.call_noise = self._residuals(lambda m: m.calls_ms)
        self.first_call_noise = [
            math.log(g[0] / c)
            for m in self.rows.values()
            if (c := m.centre_calls())
            for g in m.first_groups
            if _positive(g[0])
        ] or [0.0]

    @classmethod
    def load(cls, path: str | Path) -> Dataset:
        """Read a ``.jsonl.gz`` dataset."""
        path = Path(path)
        with gzip.open(path, "rt") as stream:
            lines = [json.loads(line) for line in stream]
        if not lines or lines[0].get("kind") != "meta":
            raise ValueError(f"{path}: not a replay dataset (no meta line)")
        return cls(lines[0], lines[1:], path)

    def _ratio(self, other: Callable[[Measured], float | None], default: float | None) -> float | None:
        ratios = [o / w for m in self.rows.values() if (w := m.centre_window()) and (o := other(m))]
        return statistics.median(ratios) if ratios else default

    def _residuals(self, values: Callable[[Measured], list[float]]) -> list[float]:
        out = []
        for m in self.rows.values():
            vs = values(m)
            if len(vs) >= 2:
                centre = statistics.median(vs)
                out += [math.log(v / centre) for v in vs]
        return _trimmed(out) or [0.0]

    @property
    def has_device_time(self) -> bool:
        return self.device_per_window is not None

    def centre(self, m: Measured) -> float | None:
        """A config's centre in window (do_bench) units: the median of its
        window figure, per-call median and rebenchmark median, each
        converted by the dataset-wide ratio between the kinds."""
        parts = []
        if m.window_ms:
            parts.append(statistics.median(m.window_ms))
        if m.calls_ms:
            parts.append(statistics.median(m.calls_ms) / self.calls_per_window)
        if m.rebench_ms:
            parts.append(statistics.median(m.rebench_ms) / self.rebench_per_window)
        return statistics.median(parts) if parts else None

    def reference_ms(self, config: Any) -> float | None:
        """The figure a config's quality is judged by: its centre in window
        units (None if it never ran or was never measured)."""
        m = self.rows.get(config_key(config))
        return self.centre(m) if m is not None and m.ever_ran else None

    def best(self) -> tuple[dict[str, Any], float]:
        """The dataset's best config and its reference figure, among configs
        measured more than once (a single lucky window is not a best)."""
        scored = [
            (self.centre(m), m)
            for m in self.rows.values()
            if m.ever_ran and len(m.window_ms) + len(m.calls_ms) + len(m.rebench_ms) >= 2
        ]
        value, m = min(((c, m) for c, m in scored if c is not None), key=lambda cm: cm[0])
        return m.config, value


# ----------------------------------------------------------------------------- the GPU's space
#: Config keys and the Helion version that introduced them: a dataset recorded
#: by an older Helion has no slot for them (helion 1.5.1 added
#: ``reduction_fusion``, one boolean slot in kernels with two or more
#: reductions over one dimension, e.g. softmax and cross-entropy).
KEYS_SINCE: dict[str, tuple[int, ...]] = {"reduction_fusion": (1, 5, 1)}


def recorded_helion(meta: dict[str, Any]) -> tuple[int, ...] | None:
    """The version of Helion that recorded a dataset (None if unknown)."""
    version = (meta["space"].get("versions") or {}).get("helion") or meta.get("helion")
    if not version:
        return None
    parts = []
    for part in str(version).split("+")[0].split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts) or None


def keys_newer_than(version: tuple[int, ...] | None) -> set[str]:
    """Config keys a Helion of ``version`` did not have (none if unknown)."""
    if version is None:
        return set()
    return {key for key, since in KEYS_SINCE.items() if version < since}


@contextlib.contextmanager
def gpu_space(meta: dict[str, Any]) -> Iterator[None]:
    """Helion on the CPU builds and normalises configs as on the recorded
    GPU (an sm_90 device: tensor descriptors, maxnreg, host descriptors and
    NVIDIA's minimum dot sizes), for kernels bound and searched inside.

    Why patching: Helion derives these options from capability queries
    (``supports_tensor_descriptor``, ``supports_maxnreg``, the device's
    compute capability and minimum dot size); the CPU answers no to all of
    them, which removes slots and choices the GPU had. Only queries are
    patched: every config still goes through Helion's own normalisation.
    Config keys newer than the Helion that recorded the dataset
    (:data:`KEYS_SINCE`) are answered as unsupported, as that Helion had
    no such slot.

    Raises:
        ValueError: for a recorded device this does not know how to emulate.
    """
    device = str(meta["space"].get("recorded_on") or meta.get("device") or "")
    if not any(name in device for name in ("H100", "H200")):
        raise ValueError(f"no capability profile for {device!r} (known: H100, H200, both sm_90)")
    from unittest import mock

    import helion._compat as compat
    import helion._compiler.compile_environment as compile_environment
    import helion.autotuner.config_spec as config_spec
    from triton.backends.compiler import GPUTarget
    from triton.backends.nvidia.compiler import min_dot_size

    target = GPUTarget("cuda", 90, 32)

    def dot_size(device: Any, lhs: Any, rhs: Any) -> tuple[int, int, int]:
        return tuple(min_dot_size(target)(compat.torch_dtype_to_tl(lhs), compat.torch_dtype_to_tl(rhs)))

    supports_key = config_spec.ConfigSpec.supports_config_key
    absent = keys_newer_than(recorded_helion(meta))

    def supports_config_key(self: Any, key: str) -> bool:
        if key in absent:
            return False
        # host descriptors need a CUDA device >= sm_90; the bound arguments live on the CPU here
        if key == "host_tensor_descriptors":
            return bool(self.backend.supports_config_key(key))
        return bool(supports_key(self, key))

    patches = [
        (config_spec, "supports_tensor_descriptor", lambda: True),
        (config_spec, "supports_maxnreg", lambda: True),
        (config_spec, "_regs_per_block", lambda: 65536),  # sm_90: 64K registers per SM
        (config_spec, "get_target_device_capability", lambda *a, **k: (9, 0)),
        (compile_environment, "target_device_capability", lambda *a, **k: (9, 0)),
        (compat, "_min_dot_size", dot_size),
        (compat, "supports_tensor_descriptor", lambda: True),
        (compat, "supports_maxnreg", lambda: True),
        (config_spec.ConfigSpec, "supports_config_key", supports_config_key),
    ]
    with contextlib.ExitStack() as stack:
        for owner, name, value in patches:
            stack.enter_context(mock.patch.object(owner, name, value))
        yield


def check_space(config_gen: ConfigGeneration, meta: dict[str, Any]) -> None:
    """Raise unless ``config_gen`` has exactly the recorded flat spec."""
    built = json.loads(json.dumps([describe_fragment(f) for f in config_gen.flat_spec]))
    recorded = meta["space"]["flat_spec"]
    if built != recorded:
        diff = [i for i, (a, b) in enumerate(zip(built, recorded)) if a != b]
        raise ValueError(
            f"the replayed space differs from the GPU's: {len(built)} vs {len(recorded)} slots, slots {diff} differ"
        )
    if sorted(config_gen.overridden_flat_indices) != meta["space"]["overridden_flat_indices"]:
        raise ValueError("the replayed space overrides other slots than the GPU's")


# ----------------------------------------------------------------------------- the surrogate
class Surrogate:
    """Answers for configs never measured, from the nearest recorded ones in
    Helion's encoding (see the module docstring).

    Each encoded dimension, scaled to its range, is weighted by how much of
    the recorded configs' log-time variance it explains on its own
    (:func:`relevance_weights`), so that dimensions the kernel's time does
    not depend on do not decide which configs are near. Held out with
    ``bench/surrogate_check.py`` on four datasets, this moved the median
    answer, the share within 25% of the best and the rank correlation
    towards the measured ones on all four
    (``bench/results/replay-h200/surrogate_metric_ab.json``).

    Args:
        dataset: the recorded configs.
        config_gen: the replayed space's ConfigGeneration (to encode).
        k: neighbours per answer.
    """

    def __init__(self, dataset: Dataset, config_gen: ConfigGeneration, k: int = SURROGATE_NEIGHBOURS) -> None:
        import helion

        self.dataset = dataset
        self.config_gen = config_gen
        self.k = k
        self.members = list(dataset.rows.values())
        # encoding thousands of configs takes seconds (Helion normalises each): once per dataset
        encoded = getattr(dataset, "_encoded", None)
        if encoded is None:
            encoded = np.array([self._encode(helion.Config(**m.config)) for m in self.members], dtype=np.float64)
            dataset._encoded = encoded
        span = encoded.max(axis=0) - encoded.min(axis=0)
        scale = np.where(span > 0, 1.0 / np.where(span > 0, span, 1.0), 0.0)
        centres = [dataset.centre(m) if m.ever_ran else None for m in self.members]
        ran = [i for i, c in enumerate(centres) if c is not None]
        log_centres = np.log([centres[i] for i in ran])
        #: per encoded dimension: the share of the recorded log times' variance it explains
        self.relevance = relevance_weights((encoded * scale)[ran], log_centres)
        self.scale = scale * np.sqrt(self.relevance)
        self.points = encoded * self.scale

    def _encode(self, config: Any) -> list[float]:
        return list(self.config_gen.encode_config(self.config_gen.flatten(config)))

    def neighbours(self, config: Any) -> list[Measured]:
        """The ``k`` nearest recorded configs (Euclidean, scaled encoding)."""
        point = np.asarray(self._encode(config), dtype=np.float64) * self.scale
        distance = np.sum((self.points - point) ** 2, axis=1)
        order = np.argsort(distance, kind="stable")[: self.k]
        return [self.members[int(i)] for i in order]


#: Dimensions with more distinct values are grouped into this many quantile bins.
RELEVANCE_BINS = 16


def relevance_weights(points: npt.NDArray[np.float64], values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per column of ``points``: the share of ``values``' variance explained
    by the column's groups (its distinct values, or quantile bins where it
    has more than :data:`RELEVANCE_BINS`), i.e. the correlation ratio
    squared; all ones when ``values`` do not vary (nothing to tell apart)."""
    total = float(np.var(values)) if len(values) > 1 else 0.0
    if total <= 0.0:
        return np.ones(points.shape[1])
    weights = np.zeros(points.shape[1])
    for column in range(points.shape[1]):
        groups = points[:, column]
        if len(np.unique(groups)) > RELEVANCE_BINS:
            edges = np.quantile(groups, np.linspace(0, 1, RELEVANCE_BINS + 1)[1:-1])
            groups = np.searchsorted(edges, groups)
        _, labels = np.unique(groups, return_inverse=True)
        means = np.bincount(labels, weights=values) / np.bincount(labels)
        weights[column] = float(np.var(means[labels])) / total
    return weights


# ----------------------------------------------------------------------------- answers
@dataclasses.dataclass
class Answer:
    """How one config behaves in this replay (fixed once drawn).

    Attributes:
        key: its config key.
        source: ``recorded`` or ``surrogate``.
        status: ``ok``, ``error`` (fails at its first run) or ``timeout``
            (its compile never ends).
        compile_s: seconds its compile takes.
        check_s: first call and accuracy check.
        prepare_s: the search's thread generating its code and starting
            its compile, where the recording measured it per config (None:
            the dataset's per-config costs).
        centre_ms: its centre in window units (None if it does not run).
        measured: its dataset row (None for a surrogate answer).
    """

    key: str
    source: str
    status: str
    compile_s: float
    check_s: float
    centre_ms: float | None
    measured: Measured | None
    prepare_s: float | None = None

    @property
    def runs(self) -> bool:
        return self.status == "ok" and self.centre_ms is not None


class ReplaySession:
    """One replayed search: the dataset, the simulated clock, the random
    draws, the answers given (and their sources) and the trace.

    Args:
        dataset: what was recorded.
        seed: seeds the draws (timing noise, which recorded first timing).
        charge_real_time: charge the search's own real seconds (False: a
            fully deterministic clock for tests).
    """

    def __init__(self, dataset: Dataset, seed: int, charge_real_time: bool = True) -> None:
        self.dataset = dataset
        self.clock = SimulatedClock(charge_real_time=charge_real_time)
        self.rng = random.Random(seed)
        self.costs = dataset.costs
        self.workers = int(dataset.meta["compile_workers"])
        self.surrogate: Surrogate | None = None
        self.answers: dict[str, Answer] = {}
        self.sources: dict[str, int] = {"recorded": 0, "surrogate": 0}
        self.trace: list[dict[str, Any]] = []
        self.best_ms = math.inf
        self.started = 0.0
        #: simulated codegen processes of the search's backend (:class:`ReplayBackend`)
        self.codegen_workers = 0

    # -- answers --------------------------------------------------------------------
    def answer(self, config: Any) -> Answer:
        """The config's behaviour, drawn once per replay; each evaluation
        that asks counts towards its source."""
        key = config_key(config)
        answer = self.answers.get(key)
        if answer is None:
            measured = self.dataset.rows.get(key)
            answer = self._recorded(key, measured) if measured is not None else self._surrogate(key, config)
            self.answers[key] = answer
            self.sources[answer.source] += 1
        return answer

    def _recorded(self, key: str, m: Measured) -> Answer:
        first = self.rng.choice(m.firsts) if m.firsts else {}
        status = first.get("status", "ok")
        status = "ok" if status in ("ok", "deduplicated") else ("timeout" if status == "timeout" else "error")
        centre = self.dataset.centre(m)
        if status == "ok" and centre is None:
            status = "error"
        compile_s = first.get("compile_s")
        if compile_s is None:
            compile_s = self._compile_estimate(m)
        return Answer(
            key,
            "recorded",
            status,
            math.inf if status == "timeout" else float(compile_s),
            float(first.get("check_s") or self.costs["check_s"]),
            centre,
            m,
            first.get("prepare_s"),
        )

    def _compile_estimate(self, m: Measured) -> float:
        """Compile seconds for a recorded first timing without them (a
        profiled run's, a hung compile's): the median of the config's other
        recorded compiles, else of its nearest recorded configs', else 1 s."""
        own = [f["compile_s"] for f in m.firsts if f.get("compile_s")]
        if own:
            return float(statistics.median(own))
        if self.surrogate is not None:
            import helion

            near = self.surrogate.neighbours(helion.Config(**m.config))
            compiles = [c for n in near for f in n.firsts if (c := f.get("compile_s"))]
            if compiles:
                return float(statistics.median(compiles))
        return 1.0

    def _surrogate(self, key: str, config: Any) -> Answer:
        assert self.surrogate is not None, "the session has no surrogate (bind the space first)"
        near = self.surrogate.neighbours(config)
        # the same unmeasured config gets the same answer in every replay: its draws hang on its key
        rng = random.Random(int(hashlib.sha256(key.encode()).hexdigest()[:16], 16))
        runs = rng.random() < sum(m.ever_ran for m in near) / len(near)
        centres = [c for m in near if m.ever_ran and (c := self.dataset.centre(m)) is not None]
        compiles = [c for m in near for f in m.firsts if (c := f.get("compile_s"))]
        centre = None
        if runs and centres:
            logs = [math.log(c) for c in centres]
            spread = statistics.pstdev(logs) if len(logs) > 1 else 0.0
            value = statistics.median(logs) + rng.gauss(0.0, spread)
            centre = math.exp(min(max(logs), max(min(logs), value)))
        return Answer(
            key,
            "surrogate",
            "ok" if centre is not None else "error",
            statistics.median(compiles) if compiles else 1.0,
            self.costs["check_s"],
            centre,
            None,
        )

    @property
    def surrogate_share(self) -> float:
        total = sum(self.sources.values())
        return self.sources["surrogate"] / total if total else 0.0

    # -- timing draws ---------------------------------------------------------------
    def rebench_ms(self, answer: Answer) -> float:
        """One Helion rebenchmark figure."""
        own = answer.measured.rebench_ms if answer.measured is not None else []
        if len(own) >= 2:
            return self.rng.choice(own)
        return self.window_ms(answer) * self.dataset.rebench_per_window

    def window_ms(self, answer: Answer) -> float:
        """One Helion window figure (a ~50 ms window's median)."""
        assert answer.centre_ms is not None
        own = answer.measured.window_ms if answer.measured is not None else []
        if len(own) >= 2:
            return self.rng.choice(own)
        return answer.centre_ms * math.exp(self.rng.choice(self.dataset.window_noise))

    def call_samples(self, answer: Answer, count: int, first: bool) -> list[float]:
        """``count`` per-call samples (ms); ``first``: a first timing (its
        first call carries the recorded cold-call excess)."""
        assert answer.centre_ms is not None
        m = answer.measured
        if first and m is not None and m.first_groups:
            group = list(self.rng.choice(m.first_groups))
            if len(group) >= count:
                return group[:count]
            return group + self._more_calls(answer, count - len(group))
        samples = self._more_calls(answer, count)
        if first and samples:
            centre = (
                m.centre_calls() if m is not None and m.calls_ms else answer.centre_ms * self.dataset.calls_per_window
            )
            samples[0] = centre * math.exp(self.rng.choice(self.dataset.first_call_noise))
        return samples

    def _more_calls(self, answer: Answer, count: int) -> list[float]:
        m = answer.measured
        if m is not None and len(m.calls_ms) >= 5:
            return [self.rng.choice(m.calls_ms) for _ in range(count)]
        assert answer.centre_ms is not None
        centre = answer.centre_ms * self.dataset.calls_per_window
        if m is not None and m.calls_ms:
            centre = statistics.median(m.calls_ms)
        return [centre * math.exp(self.rng.choice(self.dataset.call_noise)) for _ in range(count)]

    def device_ms(self, answer: Answer) -> float | None:
        if answer.centre_ms is None or self.dataset.device_per_window is None:
            return None
        m = answer.measured
        if m is not None and m.device_ms:
            return self.rng.choice(m.device_ms)
        return answer.centre_ms * self.dataset.device_per_window

    def codegen_s(self, answer: Answer) -> float:
        """Seconds generating the answer's code takes: its recorded
        preparation less the compile's start where recorded, else the
        dataset's per-config cost."""
        if answer.prepare_s is not None:
            return max(0.0, answer.prepare_s - self.costs.get("compile_start_s", 0.0))
        return float(self.costs["codegen_s"])

    def _kernel_s(self, answer: Answer) -> float:
        """Seconds one call of the answer's kernel runs."""
        return (answer.centre_ms or 0.0) * self.dataset.calls_per_window / 1000.0

    def call_cost_s(self, answer: Answer, count: int) -> float:
        """Seconds ``count`` timed calls take (kernel and per-call overhead)."""
        return count * (self._kernel_s(answer) + self.costs["per_call_s"])

    def graph_cost_s(self, answer: Answer, calls: int | None = None) -> float:
        """Seconds one CUDA-graph device time takes (``device_time_launches``)."""
        launches, kernel_calls = device_time_launches(calls)
        return launches * self.costs["per_call_s"] + kernel_calls * self._kernel_s(answer)

    # -- trace ----------------------------------------------------------------------
    def elapsed(self) -> float:
        return self.clock.now() - self.started

    def record(self, event: dict[str, Any]) -> None:
        """A trace event at the replay clock's time (``runlog`` format, plus
        the answer's source)."""
        if (
            event.get("event") == "first_timing"
            and event.get("status") in ("ok", "deduplicated")
            and _positive(event.get("perf_ms"))
        ):
            self.best_ms = min(self.best_ms, event["perf_ms"])
        event.setdefault("t", self.elapsed())
        event["best_so_far_ms"] = self.best_ms if math.isfinite(self.best_ms) else None
        self.trace.append(event)


# ----------------------------------------------------------------------------- the engine's backend
class ReplayBackend:
    """The evaluation engine's :class:`~helion_hybrid.evaluation.Backend`,
    answering from a :class:`ReplaySession` (HybridSearch,
    MultiFidelityBayesianSearch).

    Args:
        session: the replay.
        codegen_workers: simulated codegen processes
            (:mod:`helion_hybrid.forked_pool`): a config's code generation
            then runs on the first process free, in submission order, and
            the search's thread pays only the dataset's ``code_load_s``
            (0: generated on the search's thread). Contention for the host's
            cores with the compile workers is not simulated.
    """

    def __init__(self, session: ReplaySession, codegen_workers: int = 0) -> None:
        if codegen_workers and "code_load_s" not in session.costs:
            raise ValueError("the dataset has no code_load_s: no recorded run measured loading served code")
        self.session = session
        self.clock = session.clock
        self.codegen_workers = codegen_workers
        self.codegen_offloaded = 0
        self._done_at: dict[int, float] = {}
        self._codegen_free_at = [0.0] * codegen_workers
        self._generated_at: dict[int, float] = {}

    def _answer(self, obs: Observation) -> Answer:
        return self.session.answer(obs.config)

    @property
    def codegen_failures(self) -> dict[str, dict[str, int]]:
        """As :attr:`HelionBackend.codegen_failures`: simulated processes never fail."""
        return {"failed": {}, "retried": {}} if self.codegen_workers else {}

    def begin_codegen(self, obs: Observation) -> bool:
        if not self.codegen_workers:
            return False
        # first free process, configs in submission order: the pool's own queue
        slot = min(range(self.codegen_workers), key=self._codegen_free_at.__getitem__)
        begins = max(self.clock.now(), self._codegen_free_at[slot])
        self._generated_at[obs.index] = begins + self.session.codegen_s(self._answer(obs))
        self._codegen_free_at[slot] = self._generated_at[obs.index]
        return True

    def codegen_done(self, obs: Observation) -> bool:
        return self.clock.now() >= self._generated_at[obs.index]

    def _served(self, obs: Observation) -> bool:
        return obs.index in self._generated_at

    def prepare(self, obs: Observation) -> str | None:
        with self.clock.simulating():
            obs.handle = answer = self._answer(obs)
            if self._served(obs):
                self.codegen_offloaded += 1
                self.clock.advance(self.session.costs["code_load_s"])
            else:
                # a recorded per-config cost covers the compile's start too (see start)
                self.clock.advance(
                    answer.prepare_s if answer.prepare_s is not None else self.session.costs["codegen_s"]
                )
        return None

    def start(self, obs: Observation) -> bool:
        with self.clock.simulating():
            answer = self._answer(obs)
            if answer.prepare_s is None or self._served(obs):
                # the search's thread starting the compile (Helion's precompiler and fork)
                self.clock.advance(self.session.costs.get("compile_start_s", 0.0))
            self._done_at[obs.index] = self.clock.now() + answer.compile_s
        return True

    def poll_compile(self, obs: Observation) -> bool | None:
        if self.clock.now() < self._done_at[obs.index]:
            return None
        return self._answer(obs).status != "timeout"

    def wait(self, running: Sequence[Observation], timeout: float) -> None:
        with self.clock.simulating():
            next_done = min(
                (self._generated_at[o.index] if o.status == "generating" else self._done_at[o.index] for o in running),
                default=math.inf,
            )
            step = min(timeout, max(0.0, next_done - self.clock.now()))
            if math.isfinite(step):
                # at least one ulp: a step too small to move the clock (a deadline 1e-15 s
                # ahead) would have the engine wait for it forever on a deterministic clock
                self.clock.advance(max(step, math.ulp(self.clock.now())))

    def kill(self, obs: Observation) -> None:
        self._done_at[obs.index] = math.inf

    def first_timing(self, obs: Observation, repetitions: int, cutoff_ms: float | None = None) -> TimingRecord:
        with self.clock.simulating():
            answer = self._answer(obs)
            self.clock.advance(answer.check_s)
            if not answer.runs:
                return TimingRecord(status="error", check_seconds=answer.check_s)
            if cutoff_ms is not None and answer.centre_ms is not None and answer.centre_ms > cutoff_ms:
                # helion_hybrid's timer stops after its probe calls (timing.PROBE_REPETITIONS)
                repetitions = min(repetitions, PROBE_REPETITIONS)
            cost = self.session.call_cost_s(answer, repetitions)
            self.clock.advance(cost)
            samples = self.session.call_samples(answer, repetitions, first=True)
            return TimingRecord(
                samples=samples, repetitions=repetitions, check_seconds=answer.check_s, timing_seconds=cost
            )

    def sample(self, obs: Observation, repetitions: int) -> list[float]:
        with self.clock.simulating():
            answer = self._answer(obs)
            if not answer.runs:
                return []
            self.clock.advance(self.session.call_cost_s(answer, repetitions))
            return self.session.call_samples(answer, repetitions, first=False)

    def device_time(self, obs: Observation, calls: int | None = None) -> float | None:
        with self.clock.simulating():
            answer = self._answer(obs)
            if not self.uses_device_time() or not answer.runs:
                return None
            self.clock.advance(self.session.graph_cost_s(answer, calls))
            return self.session.device_ms(answer)

    def uses_device_time(self) -> bool:
        return self.session.dataset.has_device_time

    def close(self) -> None:
        self._done_at.clear()
        self._generated_at.clear()


# ----------------------------------------------------------------------------- Helion's provider
class ReplayFn:
    """What a replayed BenchmarkResult holds as its compiled function: the
    config (a replay never runs a kernel)."""

    def __init__(self, config: Any) -> None:
        self.config = config

    def __call__(self, *args: object) -> object:
        raise RuntimeError("a replayed config cannot run")


def provider_class(session: ReplaySession) -> type:
    """A benchmark provider class answering from ``session`` (a search's
    ``_benchmark_provider_cls``; Helion constructs it in ``_prepare``)."""
    from helion.autotuner.benchmark_provider import LocalBenchmarkProvider

    class ReplayBenchmarkProvider(LocalBenchmarkProvider):
        """Helion's batch semantics on the replay clock: serial code
        generation, then precompiles on the recorded number of workers
        with the compile timeout in force and a barrier (the batch waits for
        its slowest compile), then one ~50 ms window per config that
        compiled. No baseline is computed (the kernel cannot run here): its
        recorded cost is charged instead."""

        replay = session

        def __init__(
            self, kernel: Any, settings: Any, config_spec: Any, args: Sequence[object], log: Any, autotune_metrics: Any
        ) -> None:
            # LocalBenchmarkProvider's state without its baseline run
            template = object.__new__(LocalBenchmarkProvider)
            self.__dict__.update(template.__dict__)
            self.kernel, self.settings, self.config_spec, self.args = kernel, settings, config_spec, args
            self.log, self._autotune_metrics = log, autotune_metrics
            for name in ("_accuracy_failure_config_ids", "_compile_failure_config_ids", "_worker_failure_config_ids"):
                setattr(self, name, [])
            self._effective_source_hashes: set[str] = set()
            self._effective_source_results: dict[str, Any] = {}
            self._invalid_effective_source_hashes: set[str] = set()
            self._pending_effective_source_failures: dict[str, Any] = {}
            self._effective_source_repairs: dict[Any, Any] = {}
            self._compiler_seed_configs: set[Any] = set()
            self._compiler_seed_source_hashes: set[str] = set()
            self._compiler_seed_timeout_retry_claims: set[Any] = set()
            self._no_viable_config_error = None
            self._last_benchmark_failure_status = None
            self._benchmark_worker = None
            self._precompile_tmpdir = None
            self.mutated_arg_indices: list[int] = []
            self._jobs = session.workers

        def setup(self) -> None:
            pass

        def cleanup(self) -> None:
            pass

        def _decide_num_jobs(self) -> int:
            return self.replay.workers

        def _effective_source_dedup_enabled(self) -> bool:
            return False  # the recorded runs had no source de-duplication

        def benchmark(
            self, configs: list[Any], *, desc: str = "Benchmarking", raise_if_no_viable_config: bool = True
        ) -> list[Any]:
            with self.replay.clock.simulating():
                return replay_batch(
                    self.replay, configs, float(self.settings.autotune_compile_timeout), self._autotune_metrics
                )

        def benchmark_isolated(
            self, fns: list[Any], *, warmup: int, rep: int, desc: str = "Benchmarking", fresh_process: bool = False
        ) -> list[Any] | None:
            with self.replay.clock.simulating():
                out = []
                for fn in fns:
                    answer = self.replay.answer(fn.config)
                    self.replay.clock.advance((warmup + rep) / 1000.0 + self.replay.costs["per_call_s"])
                    out.append(self.replay.rebench_ms(answer) if answer.runs else None)
                return out

    return ReplayBenchmarkProvider


def replay_batch(session: ReplaySession, configs: Sequence[Any], timeout: float, metrics: Any) -> list[Any]:
    """One call of Helion's ``LocalBenchmarkProvider.benchmark`` on the
    replay clock (see :func:`provider_class`)."""
    from helion.autotuner.benchmark_provider import BenchmarkResult

    clock, costs = session.clock, session.costs
    answers = []
    for config in configs:
        clock.advance(costs["codegen_s"])
        answers.append(session.answer(config))
    start = clock.now()
    ends = _precompile_ends([a.compile_s for a in answers], session.workers, timeout)
    clock.advance(max(ends, default=0.0))
    results = []
    for config, answer, end in zip(configs, answers, ends):
        timed_out = answer.compile_s > timeout
        perf, status = math.inf, "timeout" if timed_out else "error"
        if not timed_out:
            metrics.num_configs_tested += 1
            clock.advance(costs["window_timing_s"])
            if answer.runs:
                perf, status = session.window_ms(answer), "ok"
                metrics.num_successful_candidate_measurements += 1
            else:
                metrics.num_compile_failures += 1
        compile_time = min(answer.compile_s, timeout)
        results.append(
            BenchmarkResult(
                config=config,
                fn=ReplayFn(config),
                perf=perf,
                status=status,
                compile_time=compile_time,
                completed_at=clock.now(),
            )
        )
        session.record(
            {
                "event": "first_timing",
                "config": _plain(dict(config.config)),
                "status": status,
                "perf_ms": perf if math.isfinite(perf) else None,
                "compile_s": compile_time,
                "fidelity": "50 ms window",
                "samples": None,
                "source": answer.source,
                "compile_done_s": start + end - session.started,
            }
        )
    return results


def _precompile_ends(seconds: Sequence[float], workers: int, timeout: float) -> list[float]:
    """When each compile ends (from the batch's precompile start): Helion
    starts them in order as workers free up, each killed at ``timeout``."""
    free = [0.0] * max(1, workers)
    ends = []
    for s in seconds:
        index = min(range(len(free)), key=free.__getitem__)
        free[index] += min(s, timeout)
        ends.append(free[index])
    return ends


def replay_rebenchmark(search: Any, session: ReplaySession) -> Callable[..., None]:
    """A replacement for ``search.rebenchmark`` (Helion's re-timing of
    members side by side) that takes the calibrated time per member and
    reports window figures drawn from the dataset."""

    def rebenchmark(
        members: list[Any], *, desc: str = "Rebenchmarking", target_ms: float = 200.0, **_options: Any
    ) -> None:
        if len(members) < 2:
            return
        with session.clock.simulating():
            final = target_ms > 1000.0  # the final verification (5 s target) vs in-search re-timing
            per_member = session.costs["final_rebench_member_s" if final else "rebench_member_s"]
            session.clock.advance(per_member * len(members))
            timings = []
            for member in members:
                answer = session.answer(member.config)
                timings.append(session.rebench_ms(answer) if answer.runs else math.inf)
            search._apply_rebenchmark_timings(members, timings)
            for member, value in zip(members, timings):
                session.record(
                    {
                        "event": "rebenchmark",
                        "config": _plain(dict(member.config.config)),
                        "status": "ok" if math.isfinite(value) else "error",
                        "perf_ms": value if math.isfinite(value) else None,
                        "fidelity": "rebenchmark",
                    }
                )

    return rebenchmark


# ----------------------------------------------------------------------------- one replayed search
def bind_workload(dataset: Dataset) -> tuple[Any, tuple[Any, ...]]:
    """The dataset's workload bound on the CPU in the GPU's space (call
    inside :func:`gpu_space`)."""
    from .workloads import WORKLOADS

    kernel, args, _reference = WORKLOADS[dataset.meta["workload"]].make("cpu")
    # Helion caches bound kernels per argument signature: a CPU-space binding
    # made before (or a GPU-space one made here) must not be handed out
    kernel._bound_kernels.clear()
    bound = kernel.bind(args)
    kernel._bound_kernels.clear()
    # the compiler's seed configs come from device heuristics the CPU does not run
    seeds = dataset.meta["space"].get("compiler_seed_configs")
    if seeds is not None:
        import helion

        bound.config_spec.compiler_seed_configs = [helion.Config(**config) for config in seeds]
    return bound, args


def make_search(
    dataset: Dataset,
    session: ReplaySession,
    algorithm: str,
    seed: int,
    effort: str,
    options: dict[str, Any] | None = None,
) -> Any:
    """A search wired to ``session`` (call inside :func:`gpu_space`): its
    own code, with the replay's provider, backend and re-timing."""
    import logging

    from helion.autotuner import search_algorithms
    from helion.autotuner.effort_profile import get_effort_profile

    from . import registration  # noqa: F401  (registers HybridSearch / MFBO)
    from ._search_base import MultiFidelitySearchBase

    bound, args = bind_workload(dataset)
    bound.settings.autotune_random_seed = seed
    bound.settings.autotune_effort = effort
    bound.settings.autotune_progress_bar = False
    bound.settings.autotune_log_level = logging.ERROR  # its warnings (failed configs) are the recording's
    if "compile_timeout_s" in dataset.meta:
        bound.settings.autotune_compile_timeout = int(dataset.meta["compile_timeout_s"])
    cls = search_algorithms[algorithm]
    if issubclass(cls, MultiFidelitySearchBase):
        cls = type(
            cls.__name__,
            (cls,),
            {
                "backend_factory": staticmethod(lambda search: _replay_backend(session, search)),
                "__module__": cls.__module__,
            },
        )
    import inspect

    parameters = inspect.signature(cls.__init__).parameters
    kwargs = {
        k: v
        for k, v in cls.get_kwargs_from_profile(get_effort_profile(effort), bound.settings).items()
        if k in parameters
    }
    kwargs.update(options or {})
    random.seed(seed)  # RandomSearch draws in its constructor
    search = cls(bound, args, **kwargs)
    search._benchmark_provider_cls = provider_class(session)
    if hasattr(search, "rebenchmark"):
        search.rebenchmark = replay_rebenchmark(search, session)
    if dataset.meta.get("helion", "").startswith("1.5.0") and hasattr(search, "final_selection"):
        # helion 1.5.0 (the recorded runs) ends with one final verification; 1.5.1's final selection is new
        search.final_selection = None
    if hasattr(search, "listeners"):
        search.listeners.append(lambda event: _engine_event(session, event))
    check_space(search.config_gen, dataset.meta)
    session.surrogate = Surrogate(dataset, search.config_gen)
    # the compiler's seed configs import their hardware tables on first use: not the search's work
    list(search.config_gen.seed_flat_config_pairs())
    return search


def _replay_backend(session: ReplaySession, search: Any) -> ReplayBackend:
    """The backend of one of helion_hybrid's searches, with as many
    simulated codegen processes as its ``codegen_workers`` ask for on the
    recorded GPU (a CUDA device with forked compiles); by default none
    where the dataset has no measured ``code_load_s``."""
    from .forked_pool import resolve_workers

    requested = search.options.codegen_workers
    if requested is None and "code_load_s" not in session.costs:
        requested = 0  # no recorded run says what loading served code costs: generated as recorded
    backend = ReplayBackend(session, resolve_workers(requested, on_cuda=True))
    session.codegen_workers = backend.codegen_workers
    return backend


def _engine_event(session: ReplaySession, event: dict[str, Any]) -> None:
    event = dict(event)
    if "config" in event:
        answer = session.answers.get(config_key(event["config"]))
        event["config"] = _plain(dict(event["config"].config))
        event["source"] = answer.source if answer is not None else None
    event.pop("ranking", None)
    session.record(event)


def run_replay(
    dataset: Dataset,
    algorithm: str,
    seed: int,
    effort: str = "full",
    options: dict[str, Any] | None = None,
    charge_real_time: bool = True,
    target_gaps: Sequence[float] = (0.02, 0.05, 0.10),
) -> dict[str, Any]:
    """Replay one search; its result in ``bench/run_search.py``'s form plus
    the replay's own figures (simulated wall, surrogate share, the answer's
    reference figure, the replay seconds until it first timed a config
    within each of ``target_gaps`` of the dataset's best), with the trace
    under ``trace``."""
    session = ReplaySession(dataset, seed=seed * 7919 + 17, charge_real_time=charge_real_time)
    real_start = time.perf_counter()
    with gpu_space(dataset.meta):
        search = make_search(dataset, session, algorithm, seed, effort, options)
        session.started = session.clock.now()
        is_engine = hasattr(search, "listeners")
        with session.clock.simulating():
            session.clock.advance(dataset.costs["engine_start_s" if is_engine else "baseline_s"])
        config = search.autotune(skip_cache=True)
    wall = session.elapsed()
    best = _plain(dict(config.config))
    reference = dataset.reference_ms(best)
    if reference is None:
        answer = session.answer(config)
        reference = answer.centre_ms
    best_ms = dataset.best()[1]
    return {
        "workload": dataset.meta["workload"],
        "algorithm": algorithm,
        "label": algorithm,
        "seed": seed,
        "effort": effort,
        "kwargs": options or {},
        "finished": True,
        "wall_s": wall,
        "best_config": best,
        "replay": {
            "dataset": str(dataset.path) if dataset.path else None,
            "gpu": dataset.meta["gpu"],
            "surrogate_share": session.surrogate_share,
            "answers": dict(session.sources),
            "codegen_workers": session.codegen_workers,
            "flagged": session.surrogate_share > SURROGATE_FLAG_SHARE,
            "best_reference_ms": reference,
            "best_device_ms": _device_reference(dataset, best, reference),
            "best_source": session.answer(config).source,
            "real_s": time.perf_counter() - real_start,
            "dataset_best_ms": best_ms,
            "seconds_to_within": {str(g): seconds_to_within(session, best_ms * (1 + g)) for g in target_gaps},
        },
        "configs_timed": sum(1 for e in session.trace if e.get("event") == "first_timing"),
        "search_best_ms": session.best_ms if math.isfinite(session.best_ms) else None,
        "counters": search.counters_dict() if hasattr(search, "counters_dict") else None,
        "trace": session.trace,
    }


def seconds_to_within(session: ReplaySession, target_ms: float) -> float | None:
    """Replay seconds until the search first timed a config whose
    reference figure is at most ``target_ms`` (None: never)."""
    for event in session.trace:
        if event.get("event") != "first_timing" or event.get("status") not in ("ok", "deduplicated"):
            continue
        answer = session.answers.get(config_key(event["config"]))
        if answer is not None and answer.centre_ms is not None and answer.centre_ms <= target_ms:
            return event["t"]
    return None


def _device_reference(dataset: Dataset, config: dict[str, Any], reference: float | None) -> float | None:
    m = dataset.rows.get(config_key(config))
    if m is not None and m.device_ms:
        return statistics.median(m.device_ms)
    if reference is None or dataset.device_per_window is None:
        return None
    return reference * dataset.device_per_window
