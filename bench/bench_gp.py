#!/usr/bin/env python3
"""Gaussian-process engine benchmark: helion_hybrid's C++ core against
scikit-learn's GaussianProcessRegressor, side by side in one run.

Workload (FACTS.md section 4): D=20 mixed features -- ordinals as scaled log2
of powers of two, booleans, one-hot categoricals -- Matern-5/2 ARD, the same
number of optimiser starts on both sides. For each N and M it times

* the hyperparameter fit,
* exact posterior mean + variance for M candidates,
* selecting a top-16 log-EI batch from a pool of M candidates (ours: the
  pruned, diversified maximiser; scikit-learn: predict + EI + sort),

single-threaded and on all cores, and the GEMM rate of the same OpenBLAS in
the same run, so the predict GFLOP/s can be read against it. Prints a table
of ratios and writes JSON.

Example:
    python bench/bench_gp.py --quick
    python bench/bench_gp.py --sizes 200 1000 3000 --pools 10000 100000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import norm
from threadpoolctl import threadpool_limits

import helion_hybrid as hh

BATCH = 16


def make_space() -> hh.DiscreteSpace:
    """20 features: 8 ordinals, 4 booleans, 2 categoricals of 4 levels."""
    dims: list[hh.Ordinal | hh.Boolean | hh.Categorical] = []
    dims += [hh.Ordinal(tuple(float(v) for v in range(4, 12)), name=f"block{i}") for i in range(4)]
    dims += [hh.Ordinal(tuple(float(v) for v in range(0, 6)), name=f"warps{i}") for i in range(4)]
    dims += [hh.Boolean(name=f"flag{i}") for i in range(4)]
    dims += [hh.Categorical(4, name=f"choice{i}") for i in range(2)]
    space = hh.DiscreteSpace(dims)
    assert space.num_features == 20
    return space


def objective(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A log-kernel-time-like surface: a bowl over the ordinals, interactions,
    categorical offsets and noise."""
    bowl = ((X[:, :8] - 0.6) ** 2).sum(axis=1)
    inter = 0.5 * X[:, 0] * X[:, 4] - 0.3 * X[:, 8] * X[:, 1] + 0.2 * np.sin(6 * X[:, 2])
    cat = X[:, 12:16] @ np.array([0.0, 0.3, -0.2, 0.5]) + X[:, 16:20] @ np.array([0.1, 0.0, 0.4, -0.1])
    return -4.0 + bowl + inter + cat + 0.03 * rng.normal(size=X.shape[0])


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def gemm_gflops(threads: int) -> float:
    a = np.random.default_rng(0).normal(size=(2000, 2000))
    with threadpool_limits(threads, user_api="blas"):
        a @ a
        seconds, _ = timed(lambda: a @ a, repeat=3)
    return 2 * 2000**3 / seconds / 1e9


def sklearn_model(restarts: int, seed: int):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    kernel = ConstantKernel(1.0, (1e-3, 1e2)) * Matern(np.full(20, 0.5), (1e-2, 1e2), nu=2.5) + WhiteKernel(
        1e-2, (1e-8, 10.0)
    )
    return GaussianProcessRegressor(kernel, n_restarts_optimizer=restarts, normalize_y=True, random_state=seed)


def sklearn_topq(model, pool_features: np.ndarray, best: float) -> np.ndarray:
    mean, std = model.predict(pool_features, return_std=True)
    std = np.maximum(std, 1e-12)
    z = (best - mean) / std
    ei = std * (z * norm.cdf(z) + norm.pdf(z))
    return np.argsort(-ei)[:BATCH]


def run(args: argparse.Namespace) -> dict[str, Any]:
    all_threads = os.cpu_count() or 1
    space = make_space()
    rng = np.random.default_rng(args.seed)
    results: dict[str, Any] = {
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": all_threads},
        "settings": vars(args),
        "gemm_gflops": {1: gemm_gflops(1), all_threads: gemm_gflops(all_threads)},
        "rows": [],
    }
    print(
        f"GEMM (OpenBLAS via NumPy, 2000^3): 1 thread {results['gemm_gflops'][1]:.1f} GFLOP/s, "
        f"{all_threads} threads {results['gemm_gflops'][all_threads]:.1f} GFLOP/s",
        flush=True,
    )
    for n in args.sizes:
        points = space.sample(n, seed=args.seed + n)
        X = space.features(points)
        y = objective(X, rng)
        row: dict[str, Any] = {"n": n, "restarts": args.restarts}
        # -- fit ------------------------------------------------------------------
        for threads in (1, all_threads):
            hh.set_num_threads(threads)
            seconds, gp = timed(lambda: hh.GaussianProcess(seed=args.seed, restarts=args.restarts).fit(X, y))
            row[f"ours_fit_s_{threads}t"] = seconds
            row["ours_fit_evaluations"] = gp.fit_evaluations_
            row["ours_lml"] = gp.log_marginal_likelihood
        reference = None
        if n <= args.sklearn_max_fit_n:
            with threadpool_limits(1, user_api="blas"):
                seconds, reference = timed(lambda: sklearn_model(args.restarts, args.seed).fit(X, y))
            row["sklearn_fit_s_1t"] = seconds
            row["sklearn_lml_normalized"] = float(reference.log_marginal_likelihood_value_)
        else:
            # Predict/acquisition timings only need a fitted sklearn model:
            # give it our hyperparameters so no optimisation runs.
            from sklearn.gaussian_process import GaussianProcessRegressor
            from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

            hp = gp.hyperparameters
            kernel = ConstantKernel(hp.signal_variance, "fixed") * Matern(
                np.array(hp.lengthscales), "fixed", nu=2.5
            ) + WhiteKernel(hp.noise_variance + hp.noise_floor, "fixed")
            reference = GaussianProcessRegressor(kernel, optimizer=None).fit(X, y - hp.mean)
        print(_fit_line(row), flush=True)
        hh.set_num_threads(all_threads)
        for m in args.pools:
            pool = space.sample(m, seed=args.seed + 7 * m)
            pool_features = space.features(pool)
            prow: dict[str, Any] = {"n": n, "m": m}
            for threads in (1, all_threads):
                gp.threads = threads
                seconds, _ = timed(lambda: gp.predict(pool_features))
                prow[f"ours_predict_s_{threads}t"] = seconds
                prow[f"ours_predict_gflops_{threads}t"] = m * n * n / seconds / 1e9
                seconds, result = timed(
                    lambda: hh.maximize_acquisition(
                        space, gp, best=float(y.min()), batch_size=BATCH, pool_size=m, seed=args.seed, threads=threads
                    )
                )
                prow[f"ours_topq_s_{threads}t"] = seconds
                prow["ours_topq_exact_evaluations"] = result.exact_evaluations
                with threadpool_limits(threads, user_api="blas"):
                    seconds, _ = timed(lambda: reference.predict(pool_features, return_std=True))
                    prow[f"sklearn_predict_s_{threads}t"] = seconds
                    seconds, _ = timed(lambda: sklearn_topq(reference, pool_features, float(y.min())))
                    prow[f"sklearn_topq_s_{threads}t"] = seconds
            gp.threads = None
            print(_pool_line(prow, all_threads), flush=True)
            row.setdefault("pools", []).append(prow)
        results["rows"].append(row)
    return results


def _fit_line(row: dict[str, Any]) -> str:
    line = f"N={row['n']:5d} fit: ours {row['ours_fit_s_1t']:.2f}s (1t, {row['ours_fit_evaluations']} evals)"
    if "sklearn_fit_s_1t" in row:
        line += f"  sklearn {row['sklearn_fit_s_1t']:.2f}s  ratio {row['sklearn_fit_s_1t'] / row['ours_fit_s_1t']:.1f}x"
    return line


def _pool_line(p: dict[str, Any], t: int) -> str:
    return (
        f"  M={p['m']:7d} predict 1t: ours {p['ours_predict_s_1t']:.2f}s "
        f"({p['ours_predict_gflops_1t']:.1f} GFLOP/s) sklearn {p['sklearn_predict_s_1t']:.2f}s "
        f"ratio {p['sklearn_predict_s_1t'] / p['ours_predict_s_1t']:.1f}x | top-{BATCH} {t}t: ours "
        f"{p[f'ours_topq_s_{t}t']:.3f}s sklearn {p[f'sklearn_topq_s_{t}t']:.2f}s "
        f"ratio {p[f'sklearn_topq_s_{t}t'] / p[f'ours_topq_s_{t}t']:.0f}x"
    )


def markdown(results: dict[str, Any]) -> str:
    t = results["machine"]["cpus"]
    g1 = results["gemm_gflops"][1]
    lines = [
        f"GEMM rate in this run: {g1:.1f} GFLOP/s (1 thread), {results['gemm_gflops'][t]:.1f} ({t} threads)",
        "",
        "| N | fit ours 1t (s) | fit sklearn 1t (s) | fit ratio |",
        "|---|---|---|---|",
    ]
    for row in results["rows"]:
        sk = row.get("sklearn_fit_s_1t")
        ours = row["ours_fit_s_1t"]
        sk_text = "not run" if sk is None else f"{sk:.2f}"
        ratio = "-" if sk is None else f"{sk / ours:.1f}x"
        lines.append(f"| {row['n']} | {ours:.2f} | {sk_text} | {ratio} |")
    lines += [
        "",
        f"| N | M | predict ours 1t (s) | GFLOP/s (of {g1:.0f} GEMM) | predict sklearn 1t (s) | ratio | "
        f"predict ours {t}t | sklearn {t}t | top-{BATCH} ours 1t | top-{BATCH} ours {t}t | sklearn {t}t | "
        f"ratio {t}t | exact evals |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        for p in row.get("pools", []):
            lines.append(
                f"| {p['n']} | {p['m']} | {p['ours_predict_s_1t']:.3f} | {p['ours_predict_gflops_1t']:.1f} | "
                f"{p['sklearn_predict_s_1t']:.3f} | {p['sklearn_predict_s_1t'] / p['ours_predict_s_1t']:.1f}x | "
                f"{p[f'ours_predict_s_{t}t']:.3f} | {p[f'sklearn_predict_s_{t}t']:.3f} | "
                f"{p['ours_topq_s_1t']:.3f} | {p[f'ours_topq_s_{t}t']:.3f} | {p[f'sklearn_topq_s_{t}t']:.3f} | "
                f"{p[f'sklearn_topq_s_{t}t'] / p[f'ours_topq_s_{t}t']:.0f}x | {p['ours_topq_exact_evaluations']} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000, 3000], help="training set sizes N")
    parser.add_argument("--pools", type=int, nargs="+", default=[10_000, 100_000], help="candidate pool sizes M")
    parser.add_argument("--restarts", type=int, default=1, help="optimiser restarts, both engines")
    parser.add_argument(
        "--sklearn-max-fit-n",
        type=int,
        default=1000,
        help="largest N at which scikit-learn's fit is timed (N=3000 takes ~10 min)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="N=200 and 1000, M=1e4 only (about a minute)")
    parser.add_argument("--output", type=Path, default=Path("bench/results/gp"), help="folder for JSON + Markdown")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.pools = [200, 1000], [10_000]
    results = run(args)
    table = markdown(results)
    print()
    print(table)
    args.output.mkdir(parents=True, exist_ok=True)
    name = "bench_gp_quick" if args.quick else "bench_gp"
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in results["settings"].items()}
    results["settings"] = settings
    (args.output / f"{name}.json").write_text(json.dumps(results, indent=2, default=float))
    (args.output / f"{name}.md").write_text(table + "\n")
    print(f"\nwrote {args.output / (name + '.json')} and .md")


if __name__ == "__main__":
    main()
