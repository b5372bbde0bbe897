"""Stateful fuzzing of the engine: random sequences of fit / update / predict /
maximize_acquisition with extreme values, some from several threads at once.
Every call either raises a clean exception (and then changes nothing) or
returns finite output; the interpreter never crashes."""

from __future__ import annotations

import threading

import numpy as np
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import helion_hybrid as hh

CLEAN_ERRORS = (ValueError, TypeError, hh.NotFittedError)
SPACE = hh.DiscreteSpace([hh.Ordinal((0.0, 1.0, 2.0, 3.0)), hh.Categorical(3), hh.Boolean()])
DIM = SPACE.num_features
PROBE = SPACE.features(SPACE.sample(6, seed=99))

# Magnitudes from tiny to overflowing, for targets and for injected features.
# Magnitudes from subnormal to 1e308: ordinary ones most often (so that fits
# succeed and later rules see a fitted model), the edges of what the model
# represents (1e+-150) and far beyond them.
scales = st.one_of(
    st.just(1.0),
    st.sampled_from([1e-13, -3.0, 0.0, 1e-149, 1e149, 1e-160, 1e160, 1e200, 5e-324]),
    st.builds(lambda e, sign: sign * float(f"1e{e}"), st.integers(-323, 308), st.sampled_from([1.0, -1.0])),
)


def _finite(*arrays: np.ndarray) -> bool:
    return all(np.all(np.isfinite(a)) for a in arrays)


class EngineMachine(RuleBasedStateMachine):
    @initialize(seed=st.integers(0, 2**32 - 1))
    def setup(self, seed: int) -> None:
        self.gp = hh.GaussianProcess(seed=seed, restarts=0, max_iterations=15)
        self.rng = np.random.default_rng(seed)
        self.tried = hh.PointSet(SPACE.num_dims)

    def _probe(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The posterior at PROBE, or None where PROBE is too far from the
        data for the kernel (a ValueError by design: e.g. after fitting a
        single row at 1e150)."""
        try:
            mean, var = self.gp.predict(PROBE)
        except ValueError as e:
            assert "overflows the kernel" in str(e)
            return None
        assert _finite(mean, var) and np.all(var > 0)
        return mean, var

    def _snapshot(self) -> tuple | None:
        if self.gp.n_observations == 0:
            return None
        probe = self._probe()
        values = None if probe is None else (probe[0].tobytes(), probe[1].tobytes())
        return self.gp.n_observations, self.gp.log_marginal_likelihood, self.gp.hyperparameters, values

    def _rows(self, count: int, scale: float, extreme: bool) -> tuple[np.ndarray, np.ndarray]:
        points = SPACE.sample(count, seed=int(self.rng.integers(0, 2**31)))
        X = SPACE.features(points)
        if extreme:
            X[self.rng.integers(0, count), self.rng.integers(0, DIM)] = scale
        y = scale * np.sin(3 * X[:, 0] + X[:, 1]) if not extreme else np.sin(X[:, 0])
        return X, y

    def _mutate(self, fn, name: str) -> None:
        """Call fn; on a clean error the model must be exactly as before."""
        before = self._snapshot()
        try:
            fn()
        except CLEAN_ERRORS as e:
            event(f"{name} rejected: {type(e).__name__}")
            assert self._snapshot() == before
            return
        event(f"{name} done")
        self.tried.add(SPACE.sample(2, seed=int(self.rng.integers(0, 2**31))))

    @rule(count=st.integers(1, 25), scale=scales, extreme=st.booleans(), constant=st.booleans())
    def fit(self, count: int, scale: float, extreme: bool, constant: bool) -> None:
        X, y = self._rows(count, scale, extreme)
        if constant:
            y = np.full(count, scale)
        self._mutate(lambda: self.gp.fit(X, y, repetitions=self.rng.uniform(1, 50, size=count)), "fit")

    @rule(count=st.integers(1, 5), scale=scales, extreme=st.booleans())
    def update(self, count: int, scale: float, extreme: bool) -> None:
        X, y = self._rows(count, scale, extreme)
        self._mutate(lambda: self.gp.update(X, y), "update")

    @rule(scale=scales)
    def predict(self, scale: float) -> None:
        X = np.vstack([PROBE, np.full((1, DIM), scale)])
        try:
            mean, var = self.gp.predict(X)
        except CLEAN_ERRORS:
            return
        assert _finite(mean, var) and np.all(var > 0)

    @precondition(lambda self: self.gp.n_observations > 0)
    @rule(best=st.floats(-1e300, 1e300), batch=st.integers(1, 6), kind=st.sampled_from(["log_ei", "ei", "ucb"]))
    def maximize(self, best: float, batch: int, kind: str) -> None:
        try:
            result = hh.maximize_acquisition(
                SPACE,
                self.gp,
                best=best,
                batch_size=batch,
                pool_size=64,
                acquisition=kind,
                exclude=self.tried,
                local_starts=2,
                local_max_steps=3,
            )
        except CLEAN_ERRORS:
            return
        assert _finite(result.means, result.variances) and np.all(result.variances > 0)
        assert not np.any(np.isnan(result.scores)) and not np.any(result.scores == np.inf)
        SPACE.validate(result.points)

    @precondition(lambda self: self.gp.n_observations > 0)
    @rule(count=st.integers(1, 25), scale=scales, extreme=st.booleans())
    def concurrent(self, count: int, scale: float, extreme: bool) -> None:
        """A refit in one thread while two others predict and maximise."""
        X, y = self._rows(count, scale, extreme)
        bad: list[str] = []

        def read() -> None:
            for _ in range(3):
                try:
                    mean, var = self.gp.predict(PROBE)
                    result = hh.maximize_acquisition(SPACE, self.gp, best=0.0, batch_size=2, pool_size=32)
                except CLEAN_ERRORS:
                    continue
                if not (_finite(mean, var, result.means, result.variances) and np.all(var > 0)):
                    bad.append("non-finite")

        def write() -> None:
            try:
                self.gp.fit(X, y)
            except CLEAN_ERRORS:
                pass

        threads = [threading.Thread(target=f) for f in (write, read, read)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not bad

    @invariant()
    def fitted_model_is_finite(self) -> None:
        if self.gp.n_observations:
            assert np.isfinite(self.gp.log_marginal_likelihood)
            self._probe()


EngineMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestEngineStateful = EngineMachine.TestCase
