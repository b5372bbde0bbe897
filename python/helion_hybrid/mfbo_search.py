"""MultiFidelityBayesianSearch: the seed study's multi-fidelity Bayesian
optimisation, on the C++ engine and the pipelined evaluation engine.

The study (600 configs at 5 repetitions, 300 at 15, 80 at 50 and 20 at
50 more) ran 6.5x faster than PatternSearch with a 37% slower kernel. It
keeps its row in every comparison. Stages:

1. **low** -- ``n_low`` configs at ``low_fidelity`` repetitions: a
   space-filling start (10%), then configs chosen by a GP and log EI as
   compile workers free up (at most ``batch_size`` per proposal).
2. **medium** -- the ``n_medium`` low-fidelity configs with the best
   optimistic estimate (mean - ``ucb_beta`` * sd, UCB for minimisation) are
   re-timed up to ``medium_fidelity`` repetitions.
3. **high** -- the ``n_high`` best by posterior mean, up to ``high_fidelity``.
4. **ultra** -- the ``n_ultra`` best by posterior mean get ``ultra_fidelity``
   more repetitions.

Then Helion's shared final re-timing and selection (``_finalize``), as in
the study.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._search_base import MultiFidelitySearchBase
from .acquisition import maximize_acquisition
from .evaluation import Observation
from .hybrid_search import resolve_options
from .options import check_bool, check_float, check_int


@dataclasses.dataclass(frozen=True)
class MultiFidelityOptions:
    """Stage sizes and fidelities (repetitions) of one effort level
    (:data:`FULL`, :data:`QUICK`); every field is a keyword of
    :class:`MultiFidelityBayesianSearch`. The engine fields
    (``compile_timeout_floor`` ... ``compile_pool``) mean what they mean for
    HybridSearch (:class:`~helion_hybrid.hybrid_search.HybridSearchOptions`)."""

    n_low: int = 600
    n_medium: int = 300
    n_high: int = 80
    n_ultra: int = 20
    low_fidelity: int = 5
    medium_fidelity: int = 15
    high_fidelity: int = 50
    ultra_fidelity: int = 50
    batch_size: int = 50
    ucb_beta: float = 2.0
    pool_size: int = 50_000
    compile_timeout_floor: float = 10.0
    straggler_factor: float = 4.0
    pipelined: bool = True
    codegen_workers: int | None = None
    compile_pool: bool = True
    initial_design: int = 60
    helion_final_selection: bool = True
    final_candidates: int = 8

    def __post_init__(self) -> None:
        owner = "MultiFidelityBayesianSearch"
        for name in (
            "n_low",
            "low_fidelity",
            "medium_fidelity",
            "high_fidelity",
            "ultra_fidelity",
            "batch_size",
            "initial_design",
            "final_candidates",
        ):
            check_int(owner, name, getattr(self, name), 1, 10**6)
        for name in ("n_medium", "n_high", "n_ultra"):
            check_int(owner, name, getattr(self, name), 0, 10**6)
        check_int(owner, "pool_size", self.pool_size, 1, 10**7)
        if self.codegen_workers is not None:
            check_int(owner, "codegen_workers", self.codegen_workers, 0, 64)
        if not self.n_low >= self.n_medium >= self.n_high >= self.n_ultra:
            raise ValueError(f"{owner} needs n_low >= n_medium >= n_high >= n_ultra")
        check_float(owner, "ucb_beta", self.ucb_beta, 0)
        check_float(owner, "compile_timeout_floor", self.compile_timeout_floor, 0, low_open=True)
        check_float(owner, "straggler_factor", self.straggler_factor, 1)
        check_bool(owner, "pipelined", self.pipelined)
        check_bool(owner, "compile_pool", self.compile_pool)
        check_bool(owner, "helion_final_selection", self.helion_final_selection)


# The seed study's settings; the initial design is its 10% space-filling start.
FULL = MultiFidelityOptions()
QUICK = dataclasses.replace(
    FULL, n_low=120, n_medium=60, n_high=16, n_ultra=4, batch_size=24, pool_size=20_000, initial_design=12
)
PROFILES = {"full": FULL, "quick": QUICK}


class MultiFidelityBayesianSearch(MultiFidelitySearchBase):
    """The seed study's MFBO (see the module docstring).

    Args:
        kernel: the bound kernel to tune.
        args: its arguments.
        effort: ``quick`` or ``full``: which of :data:`PROFILES` to start from.
        options: a full :class:`MultiFidelityOptions` (instead of a profile).
        **overrides: any :class:`MultiFidelityOptions` field.
    """

    def __init__(
        self,
        kernel: Any,
        args: Sequence[object],
        *,
        effort: str | None = None,
        options: MultiFidelityOptions | None = None,
        **overrides: Any,
    ) -> None:
        effort = effort or str(kernel.settings.autotune_effort)
        resolved = resolve_options(PROFILES, effort, options, overrides, "MultiFidelityBayesianSearch")
        if resolved.initial_design > resolved.n_low:
            resolved = dataclasses.replace(resolved, initial_design=max(2, resolved.n_low // 10))
        super().__init__(kernel, args, resolved)
        self.options: MultiFidelityOptions = resolved

    def search(self) -> Any:
        o = self.options
        self.log(
            f"Starting MultiFidelityBayesianSearch (seed {self.seed}): {o.n_low}@{o.low_fidelity}, "
            f"{o.n_medium}@{o.medium_fidelity}, {o.n_high}@{o.high_fidelity}, {o.n_ultra}+{o.ultra_fidelity}"
        )
        self.enter_phase("low")
        self._low_stage()
        self.engine.cancel_pending("the low-fidelity stage has ended")
        for stage, count, fidelity, optimistic in (
            ("medium", o.n_medium, o.medium_fidelity, True),
            ("high", o.n_high, o.high_fidelity, False),
        ):
            self.enter_phase(stage)
            chosen = self._rank(count, optimistic)
            self.engine.retime_to(chosen, fidelity, stage)
            self.log(f"{stage} fidelity: {len(chosen)} configs re-timed to {fidelity} repetitions")
        self.enter_phase("ultra")
        for obs in self._rank(o.n_ultra, optimistic=False):
            self.engine.retime_to([obs], obs.timed_repetitions + o.ultra_fidelity, "ultra")
        self.enter_phase("finish")
        config = self.finish(self.engine.successful())
        self.enter_phase("done")
        return config

    def _low_stage(self) -> None:
        o = self.options
        self.submit_flats(self.initial_design_flats(min(o.initial_design, o.n_low)), o.low_fidelity, "low")

        def propose(count: int) -> list[Any]:
            count = min(count, o.batch_size, o.n_low - len(self.engine.observations))
            if count <= 0:
                return []
            finished = self.refit_models()
            ok = self.engine.successful()
            if self.models.objective is None or len(ok) < 2:
                more = self.initial_design_flats(len(self.engine.observations) + count)
                return more[len(self.engine.observations) :]
            model = self.models.believer(finished, self.engine.pending())
            with self.models.charged():
                result = maximize_acquisition(
                    self.bridge.space,
                    model,
                    best=math.log(ok[0].median),
                    batch_size=count,
                    pool_size=o.pool_size,
                    seed=self.derived_seed(20, len(self.engine.observations)),
                    exclude=self.tried,
                    incumbents=np.stack([x.point for x in ok[:5]]),
                )
            return self.propose(result.points) if len(result.points) else []

        def report(finished: list[Observation]) -> None:
            if len(self.engine.observations) % o.batch_size < len(finished):
                ok = self.engine.successful()
                self.log(
                    f"low fidelity: {len(self.engine.observations)}/{o.n_low} tried, "
                    f"best {ok[0].median if ok else math.inf:.4f} ms"
                )

        self.keep_busy(
            propose,
            o.low_fidelity,
            "low",
            lambda: len(self.engine.observations) >= o.n_low and not self.engine.in_flight,
            report,
            min_proposals=max(1, self.engine.workers // 2),
            batch=o.batch_size,
        )

    def _rank(self, count: int, optimistic: bool) -> list[Observation]:
        """The ``count`` successful configs the model ranks best: by the
        optimistic bound mean - beta*sd, or by the posterior mean."""
        ok = self.engine.successful()
        if count <= 0 or not ok:
            return []
        self.refit_models(force=True)
        if self.models.objective is None:
            return ok[:count]
        mean, variance = self.models.predict(np.stack([obs.point for obs in ok]))
        score = mean - self.options.ucb_beta * np.sqrt(variance) if optimistic else mean
        return [ok[i] for i in np.argsort(score, kind="stable")[:count]]
