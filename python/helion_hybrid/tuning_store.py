"""The tuning store: every observation of every finished autotune, on disk,
so that a later tuning of the same kernel (at another shape, say) can start
from what earlier ones measured.

At the end of each autotune that returned a config, HybridSearch and
MultiFidelityBayesianSearch write one file: a :class:`Tuning` (where it ran,
what it measured). A search that raised writes nothing; one that ended by
its budget is written (``ended_by_budget``). Only measurements of a real
device are written: a replay's or a test backend's simulated timings are no
data about a device.

**Where.** ``<Helion's cache dir>/helion_hybrid/tunings/`` (Helion's
``get_helion_cache_dir()``, so ``HELION_CACHE_DIR`` moves it too), one
folder per kernel fingerprint::

    tunings/<kernel fingerprint>/<UTC time>-<pid>-<random>.jsonl.gz

The environment variable ``HELION_HYBRID_TUNING_STORE`` (read in one place,
:meth:`TuningStore.from_environment`, when a search is constructed) moves
it to another folder, or turns it off with ``0`` / ``off`` / ``false`` /
``no``; unset, empty, ``1`` / ``on`` / ``true`` / ``yes`` mean the default
folder.

**Format** (``format`` 1; ``docs/tuning_store.md`` lists every field). A
gzip'd JSON Lines file: the first line is the header (the
:class:`Tuning` without its observations, with ``format`` and
``observation_count``), then one line per :class:`StoredObservation`, in
submission order. Numbers that are not finite are written as ``null``.
Readers ignore fields they do not know; a change of meaning raises
``format``, and a reader skips a file of a format it does not know.

**Identity.** The kernel fingerprint hashes what Helion's own best-config
cache uses to tell kernels apart (``LooseAutotuneCacheKey``: the sha256 of
the kernel function's source, the backend, the kernel's extra cache key),
but neither the shape nor the config space, which change with the shape:
the shape (Helion's specialization key, plus each argument's shape and
dtype as numbers, :class:`ShapeKey`) and the config space
(:class:`ConfigSpace`) are fields of the record. :meth:`TuningStore.tunings`
returns only records of the same fingerprint, device and Helion version.

**Safety.** A file is written to a temporary name in its folder, flushed to
disk (fsync) and renamed into place (``os.replace``): a reader sees a whole
file or none. Every tuning gets a file of its own (time, process id and a
random suffix in its name) and no file is ever rewritten, so concurrent
autotunes in several processes cannot corrupt one another. Writing never
aborts a search: a failure is one :class:`TuningStoreWarning` and the
autotune returns its config. Reading never raises either: an unreadable or
corrupt file (truncated gzip, bad JSON, unknown format, missing fields,
permission error) is skipped, with one warning per read naming the files.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import gzip
import hashlib
import json
import math
import os
import secrets
import string
import tempfile
import types
import typing
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, Union

from .evaluation import OK_STATUSES

if TYPE_CHECKING:
    from helion.runtime.config import Config

    from ._search_base import MultiFidelitySearchBase
    from .evaluation import Observation

#: Moves the store (a folder) or turns it off (``0``, ``off``, ``false``, ``no``).
ENVIRONMENT_VARIABLE = "HELION_HYBRID_TUNING_STORE"
#: The on-disk format this module writes and reads.
FORMAT_VERSION = 1
SUFFIX = ".jsonl.gz"
_OFF = frozenset({"0", "off", "false", "no"})
_DEFAULT = frozenset({"", "1", "on", "true", "yes"})
#: Unreadable files a warning names (the count is always given).
_NAMED_PROBLEMS = 5
T = TypeVar("T")


class TuningStoreWarning(UserWarning):
    """A tuning could not be written, or stored files could not be read."""


class CorruptTuningError(ValueError):
    """A stored file that is not a valid tuning (say why)."""


# ----------------------------------------------------------------------------- records
@dataclasses.dataclass(frozen=True)
class KernelIdentity:
    """Which kernel was tuned.

    Attributes:
        name: the kernel function's name.
        fingerprint: :func:`kernel_fingerprint` of the three fields below;
            the store's folder for this kernel.
        source_hash: sha256 of the kernel function's dedented source
            (Helion's ``kernel_source_hash``).
        backend: Helion's backend (``triton``, ``pallas``, ...).
        extra_cache_key: the kernel's extra cache key (e.g. a fusion
            context), empty for most kernels.
    """

    name: str
    fingerprint: str
    source_hash: str
    backend: str
    extra_cache_key: str


@dataclasses.dataclass(frozen=True)
class ArgumentShape:
    """One kernel argument, as numbers.

    Attributes:
        kind: ``tensor``, ``int``, ``float``, ``bool``, or another type's name.
        shape: a tensor's sizes.
        dtype: a tensor's dtype without ``torch.`` (e.g. ``float16``).
        value: a number's value.
    """

    kind: str
    shape: tuple[int, ...] = ()
    dtype: str | None = None
    value: float | None = None

    @classmethod
    def of(cls, argument: object) -> ArgumentShape:
        """Describe one argument (a tensor, a number, anything else)."""
        if hasattr(argument, "shape") and hasattr(argument, "dtype"):
            return cls("tensor", tuple(int(s) for s in argument.shape), str(argument.dtype).removeprefix("torch."))
        if isinstance(argument, (bool, int, float)):
            return cls(type(argument).__name__, value=_finite_or_none(float(argument)))
        return cls(type(argument).__name__)


@dataclasses.dataclass(frozen=True)
class ShapeKey:
    """The shape a tuning was made for.

    Attributes:
        specialization_key: Helion's specialization key, as text (as its
            ``.best_config`` files store it).
        extra_results: Helion's ``hl.specialize`` decisions, as text.
        arguments: every argument, in order.
    """

    specialization_key: str
    extra_results: str
    arguments: tuple[ArgumentShape, ...]

    @property
    def signature(self) -> str:
        """Kind, rank and dtype of every argument: two keys' ``features``
        line up (same length, same meaning) when their signatures are equal."""
        return ",".join(f"{a.kind}{len(a.shape) if a.kind == 'tensor' else ''}:{a.dtype or ''}" for a in self.arguments)

    @property
    def features(self) -> tuple[float, ...]:
        """The shape as numbers (e.g. model inputs): every tensor's sizes
        and every number's value, in argument order."""
        values: list[float] = []
        for argument in self.arguments:
            values += [float(s) for s in argument.shape]
            if argument.value is not None:
                values.append(argument.value)
        return tuple(values)


@dataclasses.dataclass(frozen=True)
class ConfigSpace:
    """The config space a tuning searched, so that a reader can tell
    whether a stored config fits its own.

    Attributes:
        config_spec_hash: Helion's ``ConfigSpec.cache_fingerprint_hash``
            (the knobs, their ranges and the compiler's seed configs).
        flat_spec: each of Helion's flat config slots as JSON (its fragment
            class and fields: ``helion_space.describe_fragment``).
        overridden_flat_indices: slots fixed by ``autotune_config_overrides``.
        dimensions: names of the searched dimensions (the coordinates of a
            stored observation's ``point``).
    """

    config_spec_hash: str
    flat_spec: tuple[Any, ...]
    overridden_flat_indices: tuple[int, ...]
    dimensions: tuple[str, ...]

    def same_layout(self, other: ConfigSpace) -> bool:
        """Whether flat configs of ``other`` have the same slots, slot by
        slot of the same kind (the ranges may differ: a block size's upper
        bound follows the shape)."""
        kinds = [_fragment_kind(f) for f in self.flat_spec]
        return kinds == [_fragment_kind(f) for f in other.flat_spec]


def _fragment_kind(fragment: Any) -> Any:
    return fragment.get("kind") if isinstance(fragment, dict) else type(fragment).__name__


@dataclasses.dataclass(frozen=True)
class TuningContext:
    """Where a tuning ran: the kernel, shape, device, versions and space.

    Attributes:
        kernel: the kernel's identity.
        shape: its shape / specialization.
        device: Helion's name of the hardware (e.g. ``NVIDIA H200``,
            ``pallas_interpret``).
        runtime: Helion's runtime name there (the CUDA or ROCm version,
            ``interpret``, ...).
        space: the config space.
        helion_version: Helion's package version.
        helion_hybrid_version: this package's version.
        helion_cache_key: the stable hash of Helion's best-config cache key
            for this kernel and shape (the name of its ``.best_config`` file).
    """

    kernel: KernelIdentity
    shape: ShapeKey
    device: str
    runtime: str
    space: ConfigSpace
    helion_version: str
    helion_hybrid_version: str
    helion_cache_key: str


@dataclasses.dataclass(frozen=True)
class StoredObservation:
    """One config a tuning tried: an :class:`~helion_hybrid.evaluation.Observation`
    as stored. Times (``*_s``) are seconds since the search's start.

    Attributes:
        index: submission order.
        config: the Helion config as JSON (``Config.from_json`` reads it).
        flat: Helion's flat form of the config (its slots in ``flat_spec``
            order), or None.
        point: its level indices in the searched dimensions.
        phase: the search phase that submitted it.
        status: ``ok``, ``deduplicated``, a failure (``error``, ``timeout``,
            ``accuracy_error``, ``bad_timing``) or ``cancelled``.
        repetitions: timed repetitions asked for at its first timing.
        timed_repetitions: repetitions behind its median (the fidelity reached).
        samples_ms: every finite timing sample, all fidelities (ms).
        median_ms: median of the samples for a config that ran, else None.
        shootout_ms: its figure in the final shootout, or None.
        device_ms: CUDA-graph device time, or None.
        compile_s: seconds its compile ran (until stopped, for a timeout).
        check_s: seconds of its first call and accuracy check.
        timing_s: seconds of its timed repetitions.
        submitted_s, started_s, compiled_s, finished_s: when it was
            submitted, started compiling, compiled and was finished.
    """

    index: int
    config: dict[str, Any]
    flat: tuple[Any, ...] | None
    point: tuple[int, ...]
    phase: str
    status: str
    repetitions: int
    timed_repetitions: int
    samples_ms: tuple[float, ...]
    median_ms: float | None
    shootout_ms: float | None
    device_ms: float | None
    compile_s: float | None
    check_s: float | None
    timing_s: float | None
    submitted_s: float | None
    started_s: float | None
    compiled_s: float | None
    finished_s: float | None

    @property
    def ok(self) -> bool:
        """It ran and was timed."""
        return self.status in OK_STATUSES and self.median_ms is not None

    def helion_config(self) -> Config:
        """The config as a Helion ``Config``."""
        from helion.runtime.config import Config

        return Config.from_json(json.dumps(self.config))

    @classmethod
    def of(cls, obs: Observation, start: float) -> StoredObservation:
        """``obs`` as stored; ``start`` is the search's start (clock time)."""
        record = obs.record
        flat = getattr(obs.member, "flat_values", None)
        return cls(
            index=int(obs.index),
            config=_config_json(obs.config),
            flat=None if flat is None else tuple(_jsonable(list(flat))),
            point=tuple(int(level) for level in obs.point),
            phase=str(obs.phase),
            status=str(obs.status),
            repetitions=int(obs.repetitions),
            timed_repetitions=int(obs.timed_repetitions),
            samples_ms=tuple(float(s) for s in obs.samples if math.isfinite(s)),
            median_ms=_finite_or_none(obs.median),
            shootout_ms=_finite_or_none(obs.shootout_ms),
            device_ms=_finite_or_none(obs.device_ms),
            compile_s=_finite_or_none(obs.compile_s),
            check_s=None if record is None else _finite_or_none(record.check_seconds),
            timing_s=None if record is None else _finite_or_none(record.timing_seconds),
            submitted_s=_since(obs.submitted_at, start),
            started_s=_since(obs.started_at, start),
            compiled_s=_since(obs.compiled_at, start),
            finished_s=_since(obs.finished_at, start),
        )


@dataclasses.dataclass(frozen=True)
class Tuning:
    """One finished autotune: where it ran and everything it measured.

    Attributes:
        context: kernel, shape, device, versions, config space.
        search: the search's class name.
        effort: Helion's ``autotune_effort``.
        options: the search's options (its options dataclass as a dict).
        seed: the search's random seed.
        date: when it finished (ISO 8601, UTC).
        wall_s: seconds from the search's start to its end.
        budget_s: ``autotune_budget_seconds``, or None.
        ended_by_budget: the budget was spent when it ended.
        best_index: the index of the observation it returned (None if the
            returned config was not one it timed).
        counters: the search's counters (``counters_dict()``).
        observations: every config it tried, in submission order.
        source: the file it was read from (not stored).
    """

    context: TuningContext
    search: str
    effort: str
    options: dict[str, Any]
    seed: int
    date: str
    wall_s: float
    budget_s: float | None
    ended_by_budget: bool
    best_index: int | None
    counters: dict[str, Any]
    observations: tuple[StoredObservation, ...]
    source: str | None = dataclasses.field(default=None, compare=False)

    @property
    def best(self) -> StoredObservation | None:
        """The observation of the config the search returned."""
        return next((o for o in self.observations if o.index == self.best_index), None)


# ----------------------------------------------------------------------------- the store
class TuningStore:
    """A folder of finished tunings (see the module docstring).

    Args:
        root: the folder (created on the first write).

    Raises:
        TypeError: ``root`` is not a str or path.
        ValueError: ``root`` is empty or an existing file.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"a tuning store's root must be a path, got {root!r} ({type(root).__name__})")
        if not str(root).strip():
            raise ValueError("a tuning store's root must not be empty")
        path = Path(root).expanduser().absolute()
        if path.exists() and not path.is_dir():
            raise ValueError(f"the tuning store {path} is a file, not a folder")
        self.root = path

    def __repr__(self) -> str:
        return f"TuningStore({str(self.root)!r})"

    @classmethod
    def from_environment(cls) -> TuningStore | None:
        """The store ``HELION_HYBRID_TUNING_STORE`` asks for (None: off).

        Raises:
            ValueError: the variable names a file.
        """
        value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
        if value.lower() in _OFF:
            return None
        if value.lower() in _DEFAULT:
            return cls(default_root())
        try:
            return cls(value)
        except ValueError as error:
            raise ValueError(f"{ENVIRONMENT_VARIABLE}={value!r}: {error}") from None

    def folder(self, kernel_fingerprint: str) -> Path:
        """The folder of one kernel's tunings.

        Raises:
            TypeError, ValueError: ``kernel_fingerprint`` is not a hex string.
        """
        if not isinstance(kernel_fingerprint, str):
            raise TypeError(f"a kernel fingerprint is a str, got {type(kernel_fingerprint).__name__}")
        if not kernel_fingerprint or not set(kernel_fingerprint) <= set(string.hexdigits):
            raise ValueError(f"a kernel fingerprint is a hex string, got {kernel_fingerprint!r}")
        return self.root / kernel_fingerprint.lower()

    # -- writing ------------------------------------------------------------------
    def write(self, tuning: Tuning) -> Path | None:
        """Write ``tuning`` atomically to a file of its own; its path, or
        None (with one :class:`TuningStoreWarning`) if it could not be written.

        Raises:
            TypeError: ``tuning`` is not a :class:`Tuning`.
        """
        if not isinstance(tuning, Tuning):
            raise TypeError(f"expected a Tuning, got {type(tuning).__name__}")
        temporary: str | None = None
        try:
            folder = self.folder(tuning.context.kernel.fingerprint)
            folder.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
            with os.fdopen(descriptor, "wb") as raw:
                # mkstemp makes it private (0600); a tuning is no secret, and
                # whoever shares the cache should be able to read it
                os.fchmod(raw.fileno(), 0o644)
                # mtime 0: the bytes depend on the tuning only
                with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as compressed:
                    for line in _lines(tuning):
                        compressed.write(line.encode("utf-8"))
                raw.flush()
                os.fsync(raw.fileno())
            path = folder / _file_name()
            os.replace(temporary, path)
            temporary = None
            _fsync_folder(folder)
            return path
        except (OSError, ValueError, TypeError) as error:
            # a full disk, a read-only folder, a value JSON cannot hold
            _warn(f"this tuning was not written to {self.root}: {type(error).__name__}: {error}")
            return None
        finally:
            if temporary is not None:
                _remove_quietly(temporary)

    # -- reading ------------------------------------------------------------------
    def tunings(
        self, kernel_fingerprint: str, device: str, helion_version: str, *, limit: int | None = None
    ) -> list[Tuning]:
        """The stored tunings of this kernel on this device under this
        Helion version, newest first (at most ``limit``). Tunings of another
        kernel source, device or Helion version are never returned;
        unreadable files are skipped with one :class:`TuningStoreWarning`.

        Raises:
            TypeError, ValueError: an argument of the wrong type or value.
        """
        folder = self.folder(kernel_fingerprint)
        for name, value in (("device", device), ("helion_version", helion_version)):
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a str, got {type(value).__name__}")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise ValueError(f"limit must be None or an int >= 0, got {limit!r}")

        def compatible(context: TuningContext) -> bool:
            return (
                context.kernel.fingerprint == kernel_fingerprint.lower()
                and context.device == device
                and context.helion_version == helion_version
            )

        found: list[Tuning] = []
        problems: list[str] = []
        for path in self._files(folder, problems):
            if limit is not None and len(found) >= limit:
                break
            try:
                tuning = read_tuning(path, compatible)
            except (OSError, EOFError, ValueError, zlib.error) as error:
                problems.append(f"{path.name} ({type(error).__name__}: {error})")
                continue
            if tuning is not None:
                found.append(tuning)
        if problems:
            shown = "; ".join(problems[:_NAMED_PROBLEMS]) + (" ..." if len(problems) > _NAMED_PROBLEMS else "")
            _warn(f"skipped {len(problems)} unreadable tuning file(s) in {folder}: {shown}")
        return found

    def tunings_for(self, context: TuningContext, *, limit: int | None = None) -> list[Tuning]:
        """:meth:`tunings` of the kernel, device and Helion version of ``context``."""
        return self.tunings(context.kernel.fingerprint, context.device, context.helion_version, limit=limit)

    @staticmethod
    def _files(folder: Path, problems: list[str]) -> list[Path]:
        """The folder's tuning files, newest first (names start with the time)."""
        try:
            names = [p for p in folder.iterdir() if p.name.endswith(SUFFIX) and not p.name.startswith(".")]
        except FileNotFoundError:
            return []
        except OSError as error:
            problems.append(f"the folder itself ({type(error).__name__}: {error})")
            return []
        return sorted(names, key=lambda p: p.name, reverse=True)


def default_root() -> Path:
    """``<Helion's cache dir>/helion_hybrid/tunings``."""
    from helion.autotuner.local_cache import get_helion_cache_dir

    return get_helion_cache_dir() / "helion_hybrid" / "tunings"


def kernel_fingerprint(source_hash: str, backend: str, extra_cache_key: str) -> str:
    """sha256 of what tells kernels apart in Helion's cache key, apart from
    the shape and the config space (which follow the shape)."""
    identity = json.dumps({"source": source_hash, "backend": backend, "extra_cache_key": extra_cache_key})
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------- the file format
def _lines(tuning: Tuning) -> Iterator[str]:
    """The file's lines: the header, then one per observation. Each is
    checked as a reader checks it (raising CorruptTuningError), so that
    nothing is written that a reader would skip (a NaN where a number must
    be, say)."""
    header = {name: value for name, value in _fields(tuning).items() if name not in _NOT_IN_HEADER}
    header = {"format": FORMAT_VERSION, **_jsonable(header), "observation_count": len(tuning.observations)}
    _decode(Tuning, {**header, "observations": ()}, "header")
    yield _dumps(header)
    for obs in tuning.observations:
        line = _jsonable(_fields(obs))
        _decode(StoredObservation, line, "observation")
        yield _dumps(line)


_NOT_IN_HEADER = ("observations", "source")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False) + "\n"


def read_tuning(path: str | os.PathLike[str], accept: Callable[[TuningContext], bool] | None = None) -> Tuning | None:
    """Read one stored tuning; None when ``accept(context)`` says no (then
    only the header is read).

    Raises:
        OSError, EOFError, zlib.error: the file cannot be read (a truncated
            gzip raises EOFError).
        CorruptTuningError: it is not a tuning of a format this reader knows.
    """
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        header = json.loads(next(lines, "null"))
        if not isinstance(header, dict):
            raise CorruptTuningError("no header line")
        if header.get("format") != FORMAT_VERSION:
            raise CorruptTuningError(f"format {header.get('format')!r}, this reader knows {FORMAT_VERSION}")
        context = _decode(TuningContext, header.get("context"), "context")
        if accept is not None and not accept(context):
            return None
        observations = tuple(_decode(StoredObservation, json.loads(line), "observation") for line in lines)
    expected = header.get("observation_count")
    if expected != len(observations):
        raise CorruptTuningError(f"{len(observations)} observations, the header says {expected!r}")
    fields = {**header, "context": context, "observations": observations, "source": str(path)}
    return _decode(Tuning, fields, "header")


def _decode(hint: Any, value: Any, where: str) -> Any:
    """``value`` (parsed JSON) as type ``hint`` (a record class, ``tuple[X,
    ...]``, ``X | None``, str, int, float, bool, dict or Any).

    Raises:
        CorruptTuningError: a value of another type or a missing field
            (the message says where).
    """
    try:
        return _decoder(hint)(value)
    except CorruptTuningError as error:
        raise CorruptTuningError(f"{where}{error}") from None


#: A decoder: parsed JSON in, the typed value out (CorruptTuningError otherwise).
Decoder = Callable[[Any], Any]


@functools.cache
def _decoder(hint: Any) -> Decoder:
    """The decoder of one type, built once per type: files hold thousands
    of values of a handful of types."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _record_decoder(hint)
    if origin in (Union, types.UnionType):
        return _union_decoder(hint, tuple(_decoder(option) for option in arguments))
    if origin is tuple:
        return _tuple_decoder(_decoder(arguments[0]))
    if origin is dict:
        return _decoder(dict)
    accepted = {float: (int, float), int: (int,), str: (str,), bool: (bool,), dict: (dict,), type(None): (type(None),)}
    if hint is Any:
        return lambda value: value
    if hint not in accepted:
        raise TypeError(f"no decoder for {hint}")  # a record field of a new type: add it above
    types_ = accepted[hint]
    convert = float if hint is float else (lambda value: value)

    def scalar(value: Any) -> Any:
        if type(value) not in types_:  # type(), not isinstance: True is no int here
            raise CorruptTuningError(f": {value!r:.40} is not a {hint.__name__}")
        return convert(value)

    return scalar


def _record_decoder(cls: type[T]) -> Callable[[Any], T]:
    hints = typing.get_type_hints(cls)
    fields = [
        (f.name, _decoder(hints[f.name]), f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
    ]

    def record(value: Any) -> T:
        if isinstance(value, cls):
            return value
        if not isinstance(value, dict):
            raise CorruptTuningError(f": expected an object, got {type(value).__name__}")
        kwargs = {}
        for name, decode, required in fields:
            if name in value:
                try:
                    kwargs[name] = decode(value[name])
                except CorruptTuningError as error:
                    raise CorruptTuningError(f".{name}{error}") from None
            elif required:
                raise CorruptTuningError(f": no field {name}")
        return cls(**kwargs)

    return record


def _union_decoder(hint: Any, options: tuple[Decoder, ...]) -> Decoder:
    def union(value: Any) -> Any:
        for decode in options:
            try:
                return decode(value)
            except CorruptTuningError:
                continue
        raise CorruptTuningError(f": {value!r:.40} is not a {hint}")

    return union


def _tuple_decoder(item: Decoder) -> Decoder:
    def sequence(value: Any) -> tuple[Any, ...]:
        if not isinstance(value, (list, tuple)):
            raise CorruptTuningError(f": expected a list, got {type(value).__name__}")
        return tuple(map(item, value))

    return sequence


def _jsonable(value: Any) -> Any:
    """``value`` with tuples as lists, non-finite floats as None and other
    objects (enums, dtypes) as text, so that strict JSON holds it."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return _finite_or_none(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(_fields(value))
    return str(value)


def _fields(record: Any) -> dict[str, Any]:
    """A record's fields by name, not copied (``dataclasses.asdict`` deep-copies)."""
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def _config_json(config: Any) -> dict[str, Any]:
    """A Helion config as the JSON object ``Config.to_json`` writes."""
    if hasattr(config, "to_json"):
        return json.loads(config.to_json())
    return _jsonable(dict(getattr(config, "config", config)))


def _finite_or_none(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _since(moment: float | None, start: float) -> float | None:
    return None if moment is None else _finite_or_none(moment - start)


def _file_name() -> str:
    """Unique per tuning: the time first (names sort by it), then the
    process id and a random suffix (processes, even hosts, never collide)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return f"{now:%Y%m%dT%H%M%S%fZ}-{os.getpid()}-{secrets.token_hex(6)}{SUFFIX}"


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable where the file system allows it."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems cannot sync a folder; the file itself is synced
    finally:
        os.close(descriptor)


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _warn(message: str) -> None:
    warnings.warn(f"helion_hybrid tuning store: {message}", TuningStoreWarning, stacklevel=3)


# ----------------------------------------------------------------------------- from a search
def context_of_search(search: MultiFidelitySearchBase) -> TuningContext | None:
    """The :class:`TuningContext` of a search's kernel, shape and device;
    None for a kernel Helion cannot cache (an external kernel has no source
    to identify it) or a multi-shape tuning."""
    key = _helion_cache_key(search)
    if key is None:
        return None
    kernel = KernelIdentity(
        name=str(getattr(getattr(search.kernel, "kernel", None), "name", "")),
        fingerprint=kernel_fingerprint(key.kernel_source_hash, key.backend, key.extra_cache_key),
        source_hash=key.kernel_source_hash,
        backend=key.backend,
        extra_cache_key=key.extra_cache_key,
    )
    shape = ShapeKey(
        specialization_key=str(key.specialization_key),
        extra_results=str(key.extra_results),
        arguments=tuple(ArgumentShape.of(argument) for argument in search.args),
    )
    return TuningContext(
        kernel=kernel,
        shape=shape,
        device=str(key.hardware),
        runtime=str(key.runtime_name),
        space=_config_space(search, key.config_spec_hash),
        helion_version=_package_version("helion"),
        helion_hybrid_version=_package_version("helion-hybrid"),
        helion_cache_key=key.stable_hash(),
    )


def _helion_cache_key(search: MultiFidelitySearchBase) -> Any:
    """Helion's own best-config cache key of the search (its
    ``LooseAutotuneCacheKey``), or None where Helion would not cache."""
    from helion.autotuner.benchmark_provider import _MultiShapeAutotuneArgs
    from helion.autotuner.local_cache import LocalAutotuneCache

    if not search.kernel.is_cacheable() or isinstance(search.args, _MultiShapeAutotuneArgs):
        return None
    return LocalAutotuneCache(search).key


def _config_space(search: MultiFidelitySearchBase, config_spec_hash: str) -> ConfigSpace:
    from .helion_space import describe_fragment

    gen = search.config_gen
    return ConfigSpace(
        config_spec_hash=str(config_spec_hash),
        flat_spec=tuple(_jsonable([describe_fragment(f) for f in gen.flat_spec])),
        overridden_flat_indices=tuple(sorted(int(i) for i in gen.overridden_flat_indices)),
        dimensions=tuple(d.name for d in search.bridge.dimensions),
    )


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:  # a source tree on sys.path, not installed
        return "0+unknown"


def tuning_of_search(search: MultiFidelitySearchBase, config: Config) -> Tuning | None:
    """A finished search as a :class:`Tuning` (None where
    :func:`context_of_search` is None); ``config`` is what it returned."""
    context = context_of_search(search)
    if context is None or search.engine is None:
        return None
    engine = search.engine
    start = search._started
    observations = sorted(engine.observations.values(), key=lambda o: o.index)
    chosen = engine.observations.get(config)
    budget = search.settings.autotune_budget_seconds
    return Tuning(
        context=context,
        search=type(search).__name__,
        effort=str(search.settings.autotune_effort),
        options=_jsonable(dataclasses.asdict(search.options)),
        seed=int(search.seed),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        wall_s=float(engine.clock.now() - start),
        budget_s=None if budget is None else float(budget),
        ended_by_budget=budget is not None and search.budget_left() <= 0,
        best_index=None if chosen is None else int(chosen.index),
        counters=_jsonable(search.counters_dict()),
        observations=tuple(StoredObservation.of(obs, start) for obs in observations),
    )


def record_search(store: TuningStore, search: MultiFidelitySearchBase, config: Config) -> Path | None:
    """Write a finished search to ``store``; the file, or None (not
    recordable, or a :class:`TuningStoreWarning` said why). Never raises:
    a tuning that cannot be recorded must not cost the user its result."""
    try:
        tuning = tuning_of_search(search, config)
        return None if tuning is None else store.write(tuning)
    except Exception as error:  # a bug here must not cost the result either
        _warn(f"this tuning was not recorded: {type(error).__name__}: {error}")
        return None
