"""The Gaussian-process models the searches steer by, fitted on the
engine's observations:

* objective: log of the median kernel time of every config that ran, with
  the number of samples as repetitions (a 5-sample median counts less than
  a 50-sample one);
* feasibility: 1 for configs that ran, 0 for those that failed to compile,
  timed out, failed the accuracy check or gave no valid timing (cancelled
  configs teach nothing and are left out);
* compile cost: log of the seconds a compile occupied its worker, plus one
  typical compile (the fixed cost every config pays), so that a config
  predicted to compile 10x slower than its peers must promise
  correspondingly more to be chosen. A timeout counts at the seconds it ran.

While configs are in flight, :meth:`SearchModels.believer` gives the
objective model conditioned on their predicted means too (kriging believer),
so new proposals spread out instead of piling onto the ideas in flight.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .acquisition import FEASIBILITY_FLOOR
from .gp import GaussianProcess

if TYPE_CHECKING:
    from .evaluation import Counters, Observation
    from .space import DiscreteSpace
    from .warm_start import PriorData


class SearchModels:
    """Objective, feasibility and compile-cost models over one space.

    Args:
        space: the discrete space the observations' points live in.
        seed: derives each model's seed.
        counters: where fits and model seconds are counted.
        clock: seconds, for the counters.
    """

    def __init__(
        self, space: DiscreteSpace, seed: int, counters: Counters, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.space = space
        self.seed = seed
        self.counters = counters
        self.clock = clock
        self.objective: GaussianProcess | None = None
        self.feasibility: GaussianProcess | None = None
        self.cost: GaussianProcess | None = None
        self.fitted_on = 0  # finished observations at the last fit
        #: an accepted warm-start prior (:mod:`helion_hybrid.warm_start`): extra data for every model
        self.prior: PriorData | None = None

    def _features(self, observations: Sequence[Observation]) -> npt.NDArray[np.float64]:
        return self.space.features(np.stack([o.point for o in observations]))

    def fit(self, observations: Sequence[Observation], *, with_cost: bool = False) -> GaussianProcess | None:
        """Refit on everything finished. Returns the objective model, or None
        with fewer than two configs that ran."""
        start = self.clock()
        ok = sorted((o for o in observations if o.ok), key=lambda o: o.index)
        failed = sorted((o for o in observations if o.failed), key=lambda o: o.index)
        self.fitted_on = len(observations)
        if len(ok) < 2:
            return None
        if self.objective is None:
            self.objective = GaussianProcess(seed=_derive(self.seed, 1), restarts=2)
        X, y, reps = self._objective_data(ok)
        self.objective.fit(X, y, repetitions=reps)
        prior_failed = 0 if self.prior is None else len(self.prior.failed_points)
        if failed or prior_failed:
            if self.feasibility is None:
                self.feasibility = GaussianProcess(seed=_derive(self.seed, 2), restarts=1)
            self.feasibility.fit(*self._feasibility_data(ok, failed))
        if with_cost:
            self._fit_cost(ok + failed)
        self.counters.model_fits += 1
        self.counters.seconds["model"] += self.clock() - start
        return self.objective

    def _objective_data(
        self, ok: Sequence[Observation]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Features, log-times and repetitions of the configs that ran,
        with the prior's after them."""
        X = self._features(ok)
        y = np.log([o.median for o in ok])
        reps = np.array([o.timed_repetitions for o in ok], dtype=np.float64)
        if self.prior is None or not len(self.prior.ok_points):
            return X, y, reps
        return (
            np.concatenate([X, self.space.features(self.prior.ok_points)]),
            np.concatenate([y, self.prior.ok_log_ms]),
            np.concatenate([reps, self.prior.repetitions]),
        )

    def _feasibility_data(
        self, ok: Sequence[Observation], failed: Sequence[Observation]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        X = self._features([*ok, *failed])
        labels = np.array([1.0] * len(ok) + [0.0] * len(failed))
        if self.prior is None:
            return X, labels
        prior_points = [p for p in (self.prior.ok_points, self.prior.failed_points) if len(p)]
        if not prior_points:
            return X, labels
        prior_labels = [1.0] * len(self.prior.ok_points) + [0.0] * len(self.prior.failed_points)
        return (
            np.concatenate([X, self.space.features(np.concatenate(prior_points))]),
            np.concatenate([labels, prior_labels]),
        )

    def _fit_cost(self, observations: Sequence[Observation]) -> None:
        timed = [o for o in observations if o.compile_s is not None and o.compile_s >= 0]
        seconds = [o.compile_s for o in timed]
        X = self._features(timed) if timed else None
        if self.prior is not None and len(self.prior.cost_points):
            prior_X = self.space.features(self.prior.cost_points)
            X = prior_X if X is None else np.concatenate([X, prior_X])
            seconds += list(self.prior.compile_s)
        if len(seconds) < 4 or X is None:
            self.cost = None
            return
        typical = statistics.median(seconds)
        y = np.log(np.asarray(seconds) + typical)
        if self.cost is None:
            self.cost = GaussianProcess(seed=_derive(self.seed, 3), restarts=1)
        self.cost.fit(X, y)

    def predict(self, points: npt.NDArray[np.int32]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Objective posterior (log ms) at ``points``."""
        assert self.objective is not None, "fit() first"
        start = self.clock()
        result = self.objective.predict(self.space.features(points))
        self.counters.seconds["model"] += self.clock() - start
        return result

    def feasible(self, points: npt.NDArray[np.int32], floor: float = FEASIBILITY_FLOOR) -> npt.NDArray[np.float64]:
        """Probability that each config at ``points`` runs: the feasibility
        model's mean clipped to [``floor``, 1] (as the acquisition clips it);
        ones before any config failed."""
        if self.feasibility is None:
            return np.ones(len(points))
        start = self.clock()
        mean = self.feasibility.predict_mean(self.space.features(points))
        self.counters.seconds["model"] += self.clock() - start
        return np.clip(mean, floor, 1.0)

    @contextlib.contextmanager
    def charged(self, activity: str = "acquisition") -> Iterator[None]:
        """Count the block's seconds on the search's thread as ``activity``
        (the acquisition's maximisation is model work the fits and
        predictions do not include: 2.9 s of an 18 s H200 softmax run,
        ``bench/results/h200/softmax_4096_fp16/runs/HybridSearch-sampled_seed2.samples.txt``)."""
        start = self.clock()
        try:
            yield
        finally:
            self.counters.seconds[activity] += self.clock() - start

    def believer(self, observations: Sequence[Observation], pending: Sequence[Observation]) -> GaussianProcess:
        """The objective model with the configs in flight fantasised at
        their posterior means (same hyperparameters, no refit)."""
        assert self.objective is not None, "fit() first"
        if not pending:
            return self.objective
        start = self.clock()
        ok = sorted((o for o in observations if o.ok), key=lambda o: o.index)
        pending_points = np.stack([o.point for o in pending])
        fantasy, _ = self.objective.predict(self.space.features(pending_points))
        known_X, known_y, known_reps = self._objective_data(ok)
        X = np.concatenate([known_X, self.space.features(pending_points)])
        y = np.concatenate([known_y, fantasy])
        reps = np.concatenate([known_reps, [float(o.repetitions) for o in pending]])
        model = GaussianProcess(hyperparameters=self.objective.hyperparameters)
        model.fit(X, y, repetitions=reps)
        self.counters.seconds["model"] += self.clock() - start
        return model


def _derive(seed: int, salt: int) -> int:
    return (seed * 1_000_003 + salt + 1) % (2**62)
