// Timing of the GP core (not a ctest: the name does not start with test_).
// Build against an existing test build, e.g.:
//   g++ -O2 -std=c++17 -Icsrc/core csrc/tests/bench_gp_core.cpp \
//       build/cpp/libhh_core.a $OPENBLAS_LIB -lpthread -Wl,-rpath,$OPENBLAS_DIR
// Usage: bench_gp_core [fit_sizes=200,1000,3000] [predict_m=100000]
//                      [dump_dir]   (dump_dir: writes the data for sklearn)
// Data: D=20 mixed features like a Helion config encoding (10 ordinals as
// scaled log2 levels, 6 booleans, a 4-way one-hot), target = a smooth
// function of a few features + noise.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "gp.hpp"

namespace {

struct Lcg {
  std::uint64_t s;
  explicit Lcg(std::uint64_t seed) : s(seed * 6364136223846793005ULL + 1442695040888963407ULL) {}
  double uniform() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (s >> 11) * 0x1.0p-53;
  }
};

constexpr int kDim = 20;

void make_data(int n, std::uint64_t seed, std::vector<double>* x, std::vector<double>* y) {
  Lcg rng(seed);
  x->assign(static_cast<std::size_t>(n) * kDim, 0.0);
  y->assign(n, 0.0);
  for (int i = 0; i < n; ++i) {
    double* r = x->data() + static_cast<std::size_t>(i) * kDim;
    for (int k = 0; k < 10; ++k) r[k] = std::floor(rng.uniform() * 8.0) / 7.0;
    for (int k = 10; k < 16; ++k) r[k] = rng.uniform() < 0.5 ? 0.0 : 1.0;
    r[16 + static_cast<int>(rng.uniform() * 4.0)] = 1.0;
    (*y)[i] = std::sin(3.0 * r[0]) + (r[1] - 0.4) * (r[1] - 0.4) * 4.0 + 0.5 * r[2] * r[10] + 0.3 * r[17] -
              0.2 * r[3] + 0.05 * (rng.uniform() - 0.5);
  }
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void dump(const std::string& dir, const std::string& name, const std::vector<double>& v) {
  const std::string path = dir + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return;
  std::fwrite(v.data(), sizeof(double), v.size(), f);
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {200, 1000, 3000};
  if (argc > 1) {
    sizes.clear();
    for (char* tok = std::strtok(argv[1], ","); tok; tok = std::strtok(nullptr, ","))
      sizes.push_back(std::atoi(tok));
  }
  const int m = argc > 2 ? std::atoi(argv[2]) : 100000;
  const std::string dump_dir = argc > 3 ? argv[3] : "";

  for (int n : sizes) {
    std::vector<double> x, y;
    make_data(n, 1, &x, &y);
    if (!dump_dir.empty()) {
      dump(dump_dir, "x" + std::to_string(n) + ".bin", x);
      dump(dump_dir, "y" + std::to_string(n) + ".bin", y);
    }
    for (int threads : {1, 2}) {
      hh::GaussianProcess gp(kDim);
      gp.set_data(x.data(), y.data(), nullptr, n);
      // One evaluation, for the per-evaluation cost.
      hh::set_num_threads(threads);
      std::vector<double> grad;
      auto packed = gp.pack(gp.hyperparameters());
      auto t0 = std::chrono::steady_clock::now();
      const int evals = n >= 3000 ? 2 : 5;
      for (int e = 0; e < evals; ++e) gp.lml_and_gradient(packed, &grad);
      const double per_eval = seconds_since(t0) / evals;
      for (int screening : {300, 0}) {
        if (screening == 0 && (threads != 1 || n > 1000)) continue;
        hh::GaussianProcess g2(kDim);
        g2.set_data(x.data(), y.data(), nullptr, n);
        hh::FitOptions o;
        o.threads = threads;
        o.screening_size = screening;
        t0 = std::chrono::steady_clock::now();
        const auto r = g2.fit(o);
        const double fit_s = seconds_since(t0);
        double ym = 0, yv = 0;
        for (double v : y) ym += v;
        ym /= n;
        for (double v : y) yv += (v - ym) * (v - ym);
        const double ys = std::sqrt(yv / n);
        std::printf(
            "fit N=%d D=%d threads=%d screening=%d: %.3f s, %d starts, %d evaluations "
            "(%d on all data; %.1f ms per full-data evaluation incl. gradient), lml %.3f "
            "(standardised-y lml %.3f)\n",
            n, kDim, threads, screening, fit_s, r.starts, r.evaluations, r.full_evaluations, per_eval * 1e3,
            r.log_marginal_likelihood, r.log_marginal_likelihood + n * std::log(ys));
        const auto& hp = g2.hyperparameters();
        std::printf("  s2 %.3g sigma2 %.3g tau2 %.3g mean %.3g l[0..3] %.3g %.3g %.3g %.3g\n",
                    hp.signal_variance, hp.noise_variance, hp.noise_floor, hp.mean, hp.lengthscales[0],
                    hp.lengthscales[1], hp.lengthscales[2], hp.lengthscales[3]);
        if (screening > 0) gp.set_hyperparameters(hp);
        std::fflush(stdout);
      }
      const auto& hp = gp.hyperparameters();
      std::fflush(stdout);
      if (n == 1000 && m > 0) {
        std::vector<double> xc, yc;
        make_data(m, 2, &xc, &yc);
        std::vector<double> mean(m), var(m);
        gp.predict(xc.data(), 1000, mean.data(), var.data(), threads);  // warm up
        t0 = std::chrono::steady_clock::now();
        gp.predict(xc.data(), m, mean.data(), var.data(), threads);
        const double pred_s = seconds_since(t0);
        t0 = std::chrono::steady_clock::now();
        gp.predict_mean(xc.data(), m, mean.data(), threads);
        const double mean_s = seconds_since(t0);
        std::printf("predict N=%d M=%d threads=%d: mean+variance %.3f s, mean only %.3f s\n", n, m, threads,
                    pred_s, mean_s);
        if (!dump_dir.empty() && threads == 1) {
          dump(dump_dir, "xc.bin", xc);
          gp.predict(xc.data(), m, mean.data(), var.data(), threads);
          dump(dump_dir, "mean.bin", mean);
          dump(dump_dir, "var.bin", var);
          std::vector<double> hpv(hp.lengthscales);
          hpv.push_back(hp.signal_variance);
          hpv.push_back(hp.noise_variance + hp.noise_floor);
          hpv.push_back(hp.mean);
          dump(dump_dir, "hp1000.bin", hpv);
        }
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
