// Timing of maximize_acquisition (not a ctest: the name is not test_*).
// Build, after the core library (build/acq), with
//   LIBDIR=$(python -c "import scipy_openblas32 as s; print(s.get_lib_dir())")
//   g++ -O3 -DNDEBUG -std=c++17 -Icsrc/core csrc/tests/bench_acq_core.cpp
//       build/acq/libhh_core.a -L$LIBDIR -lscipy_openblas -pthread
//       -Wl,-rpath,$LIBDIR -o build/acq/bench_acq_core
// (one command line). Add -DHH_ACQ_PROFILE and compile the core sources
// instead of linking the library for a per-phase breakdown.
// Usage: bench_acq_core [N=1000] [pool=100000] [batch=16] [lengthscale=0.7]
//                       [fit=0] [repeats=3]
// Reports the best of `repeats` wall times for 1 and 2 threads, the floor
// (GaussianProcess::predict_mean over the same pool: cross-covariance plus
// GEMV) and the pruning diagnostics.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "acquisition.hpp"
#include "gp.hpp"
#include "space.hpp"

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

hh::Dimension dim(hh::DimensionKind kind, int levels) {
  if (kind == hh::DimensionKind::Categorical) return hh::Dimension::categorical(levels);
  if (kind == hh::DimensionKind::Boolean) return hh::Dimension::boolean();
  std::vector<double> values;
  for (int l = 0; l < levels; ++l) values.push_back(l);
  return hh::Dimension::ordinal(values);
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int pool = argc > 2 ? std::atoi(argv[2]) : 100000;
  const int batch = argc > 3 ? std::atoi(argv[3]) : 16;
  const double lengthscale = argc > 4 ? std::atof(argv[4]) : 0.7;
  const bool fit = argc > 5 && std::atoi(argv[5]) != 0;
  const int repeats = argc > 6 ? std::atoi(argv[6]) : 3;

  // 12 ordinals (4..10 levels, like log2 block sizes / num_warps / stages),
  // 2 categoricals of 3, 2 booleans: 12 + 6 + 2 = 20 features.
  std::vector<hh::Dimension> dims;
  for (int j = 0; j < 12; ++j) dims.push_back(dim(hh::DimensionKind::Ordinal, 4 + j % 7));
  dims.push_back(dim(hh::DimensionKind::Categorical, 3));
  dims.push_back(dim(hh::DimensionKind::Categorical, 3));
  dims.push_back(dim(hh::DimensionKind::Boolean, 2));
  dims.push_back(dim(hh::DimensionKind::Boolean, 2));
  const hh::DiscreteSpace space(dims);
  const int nd = space.num_dims(), nf = space.num_features();

  std::vector<std::int32_t> train(static_cast<std::size_t>(n) * nd);
  space.sample(777, n, train.data());
  std::vector<double> x(static_cast<std::size_t>(n) * nf), y(n);
  space.features(train.data(), n, x.data());
  double mean = 0.0;
  for (int i = 0; i < n; ++i) {
    const double* f = x.data() + static_cast<std::size_t>(i) * nf;
    double v = 0.0;
    for (int k = 0; k < nf; ++k)
      v += (1.0 + (k % 4)) * (f[k] - 0.3 - 0.1 * (k % 5)) * (f[k] - 0.3 - 0.1 * (k % 5));
    y[i] = std::log(1.0 + v) + 0.05 * std::sin(17.0 * i);
    mean += y[i] / n;
  }
  hh::PointSet exclude(nd);
  for (int i = 0; i < n; ++i) exclude.insert(train.data() + static_cast<std::size_t>(i) * nd);

  hh::GaussianProcess gp(nf);
  hh::Hyperparameters hp;
  hp.lengthscales.assign(nf, lengthscale);
  hp.signal_variance = 0.5;
  hp.noise_variance = 1e-3;
  hp.noise_floor = 1e-6;
  hp.mean = mean;
  gp.set_hyperparameters(hp);
  gp.set_data(x.data(), y.data(), nullptr, n);
  if (fit) {
    hh::FitOptions fo;
    fo.restarts = 0;
    const double t0 = now();
    gp.fit(fo);
    const auto& h = gp.hyperparameters();
    double lmin = 1e300, lmax = 0;
    for (double l : h.lengthscales) lmin = std::min(lmin, l), lmax = std::max(lmax, l);
    std::printf("fit %.2fs: lengthscales [%.3g, %.3g], s2 %.3g, noise %.3g\n", now() - t0, lmin, lmax,
                h.signal_variance, h.noise_variance);
  }
  const double best = *std::min_element(y.begin(), y.end());

  std::vector<std::int32_t> pts(static_cast<std::size_t>(pool) * nd);
  space.sample(1, pool, pts.data());
  std::vector<double> feats(static_cast<std::size_t>(pool) * nf), mu(pool);
  space.features(pts.data(), pool, feats.data());

  std::printf("N=%d pool=%d batch=%d features=%d lengthscale=%g\n", n, pool, batch, nf, lengthscale);
  for (int threads : {1, 2}) {
    double floor = 1e300;
    for (int r = 0; r < repeats; ++r) {
      const double t0 = now();
      gp.predict_mean(feats.data(), pool, mu.data(), threads);
      floor = std::min(floor, now() - t0);
    }
    hh::AcquisitionModels models;
    models.objective = &gp;
    hh::AcquisitionOptions opt;
    opt.kind = hh::AcquisitionKind::LogEI;
    opt.best = best;
    opt.batch_size = batch;
    opt.pool_size = pool;
    opt.seed = 1;
    opt.threads = threads;
    double t = 1e300;
    hh::AcquisitionResult res;
    for (int r = 0; r < repeats; ++r) {
      const double t0 = now();
      res = hh::maximize_acquisition(space, models, opt, &exclude, train.data(), 1);
      t = std::min(t, now() - t0);
    }
    std::printf(
        "threads=%d  maximize %.3fs  (predict_mean floor %.3fs)  scored %lld  exact %lld (%.2f%%)  "
        "first score %.6g  last %.6g\n",
        threads, t, floor, res.candidates_scored, res.exact_evaluations,
        100.0 * res.exact_evaluations / std::max(1LL, res.candidates_scored), res.scores.front(),
        res.scores.back());
  }
  return 0;
}
