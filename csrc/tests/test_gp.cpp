// Tests of the Gaussian-process engine against naive O(n^3) references.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "gp.hpp"
#include "matern.hpp"
#include "threading.hpp"

namespace {

// Small deterministic generator for test data.
struct TestRng {
  std::uint64_t s;
  explicit TestRng(std::uint64_t seed) : s(seed * 2654435761ULL + 1) {}
  double uniform() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return (s >> 11) * 0x1.0p-53;
  }
  double normal() {  // Box-Muller
    const double u1 = std::max(uniform(), 1e-300), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
};

std::vector<double> random_matrix(TestRng& rng, int rows, int cols) {
  std::vector<double> m(static_cast<std::size_t>(rows) * cols);
  for (double& v : m) v = rng.uniform();
  return m;
}

double naive_kernel(const double* a, const double* b, const hh::Hyperparameters& hp) {
  double r2 = 0.0;
  for (std::size_t k = 0; k < hp.lengthscales.size(); ++k) {
    const double t = (a[k] - b[k]) / hp.lengthscales[k];
    r2 += t * t;
  }
  const double r = std::sqrt(r2), s5 = std::sqrt(5.0);
  return hp.signal_variance * (1.0 + s5 * r + 5.0 / 3.0 * r2) * std::exp(-s5 * r);
}

// Naive Cholesky (lower, row-major); returns false if not PD.
bool naive_cholesky(std::vector<double>& a, int n) {
  for (int j = 0; j < n; ++j) {
    double s = a[j * n + j];
    for (int k = 0; k < j; ++k) s -= a[j * n + k] * a[j * n + k];
    if (!(s > 0.0)) return false;
    a[j * n + j] = std::sqrt(s);
    for (int i = j + 1; i < n; ++i) {
      double t = a[i * n + j];
      for (int k = 0; k < j; ++k) t -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = t / a[j * n + j];
    }
    for (int k = j + 1; k < n; ++k) a[j * n + k] = 0.0;
  }
  return true;
}

void forward(const std::vector<double>& l, int n, std::vector<double>& b) {
  for (int i = 0; i < n; ++i) {
    double s = b[i];
    for (int k = 0; k < i; ++k) s -= l[i * n + k] * b[k];
    b[i] = s / l[i * n + i];
  }
}

struct NaiveGp {
  int n, d;
  std::vector<double> x, l, z;  // z = L^-1 (y - m)
  hh::Hyperparameters hp;
  double lml;
  NaiveGp(const std::vector<double>& x_, const std::vector<double>& y, const std::vector<double>& reps,
          int n_, int d_, const hh::Hyperparameters& hp_)
      : n(n_), d(d_), x(x_), hp(hp_) {
    l.assign(n * n, 0.0);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) l[i * n + j] = naive_kernel(&x[i * d], &x[j * d], hp);
    for (int i = 0; i < n; ++i) l[i * n + i] += hp.noise_variance / reps[i] + hp.noise_floor;
    if (!naive_cholesky(l, n)) throw std::runtime_error("naive chol failed");
    z.resize(n);
    for (int i = 0; i < n; ++i) z[i] = y[i] - hp.mean;
    forward(l, n, z);
    lml = -0.5 * n * std::log(2.0 * M_PI);
    for (int i = 0; i < n; ++i) lml -= 0.5 * z[i] * z[i] + std::log(l[i * n + i]);
  }
  void predict(const double* xc, double* mean, double* var) const {
    std::vector<double> k(n);
    for (int j = 0; j < n; ++j) k[j] = naive_kernel(xc, &x[j * d], hp);
    forward(l, n, k);
    double m = hp.mean, v = hp.signal_variance;
    for (int j = 0; j < n; ++j) {
      m += k[j] * z[j];
      v -= k[j] * k[j];
    }
    *mean = m;
    *var = v;
  }
};

hh::Hyperparameters some_hp(int d) {
  hh::Hyperparameters hp;
  hp.lengthscales.resize(d);
  for (int k = 0; k < d; ++k) hp.lengthscales[k] = 0.3 + 0.2 * k;
  hp.signal_variance = 1.7;
  hp.noise_variance = 0.05;
  hp.noise_floor = 1e-3;
  hp.mean = 0.4;
  return hp;
}

void test_matern_primitives() {
  double worst = 0.0;
  for (double x = -707.0; x <= 0.0; x += 0.0137) {
    const double ref = std::exp(x);
    worst = std::max(worst, std::fabs(hh::matern::exp_nonpositive(x) - ref) / ref);
  }
  HH_CHECK(worst < 2e-15);
  HH_CHECK(hh::matern::exp_nonpositive(0.0) == 1.0);
  HH_CHECK(hh::matern::exp_nonpositive(-800.0) >= 0.0);
  HH_CHECK(hh::matern::exp_nonpositive(-800.0) < 1e-300);
  // Rows against the scalar reference, including r2 = 0 and clamped r2 < 0.
  const int n = 37;
  std::vector<double> sq(n), dot(n), grad(n), dot2(n);
  TestRng rng(3);
  for (int j = 0; j < n; ++j) {
    sq[j] = 4.0 * rng.uniform();
    dot[j] = 2.0 * rng.uniform() - 1.0;
  }
  dot[0] = 0.5 * (1.5 + sq[0]);  // r2 = 0 exactly
  dot[1] = 10.0;                 // r2 < 0 -> clamped to 0
  const std::vector<double> dref = dot;
  dot2 = dot;
  hh::matern::kernel_and_grad_row(1.5, sq.data(), dot.data(), grad.data(), n, 2.0);
  hh::matern::kernel_row(1.5, sq.data(), dot2.data(), n, 2.0);
  worst = 0.0;
  for (int j = 0; j < n; ++j) {
    const double r2 = std::max(1.5 + sq[j] - 2.0 * dref[j], 0.0);
    const double k = hh::matern::kernel_from_r2(r2, 2.0);
    const double r = std::sqrt(r2), s5 = std::sqrt(5.0);
    const double g = 2.0 * 5.0 / 3.0 * (1.0 + s5 * r) * std::exp(-s5 * r);
    worst = std::max(worst, std::fabs(dot[j] - k) / k);
    worst = std::max(worst, std::fabs(dot2[j] - k) / k);
    worst = std::max(worst, std::fabs(grad[j] - g) / g);
  }
  HH_CHECK(worst < 1e-14);
  HH_CHECK(dot[1] == 2.0 || std::fabs(dot[1] - 2.0) < 1e-15);
  // Fused row dot product and max of k^2 w, every tail length, NaN skipped.
  for (int count : {0, 1, 7, 8, 9, 16, 37}) {
    std::vector<double> k(count), a(count), w(count);
    for (int j = 0; j < count; ++j) {
      k[j] = 2.0 * rng.uniform() - 0.5;
      a[j] = rng.uniform() - 0.5;
      w[j] = rng.uniform();
    }
    if (count > 3) w[3] = std::numeric_limits<double>::quiet_NaN();
    double ref_dot = 0.0, ref_abs = 0.0, ref_max = 0.0;
    for (int j = 0; j < count; ++j) {
      ref_dot += k[j] * a[j];
      ref_abs += std::fabs(k[j] * a[j]);
      const double q = k[j] * k[j] * w[j];
      if (q > ref_max) ref_max = q;
    }
    double got_dot = -1.0, got_max = -1.0;
    hh::matern::row_dot_and_max_weighted_square(k.data(), a.data(), w.data(), count, &got_dot, &got_max);
    HH_CHECK(std::fabs(got_dot - ref_dot) <= 1e-15 * (ref_abs + 1.0));
    HH_CHECK(got_max == ref_max);
  }
}

void test_lml_against_naive_and_gradient() {
  const int n = 40, d = 3;
  TestRng rng(11);
  auto x = random_matrix(rng, n, d);
  std::vector<double> y(n), reps(n);
  for (int i = 0; i < n; ++i) {
    y[i] = std::sin(4.0 * x[i * d]) + x[i * d + 1] + 0.1 * rng.normal();
    reps[i] = 1.0 + std::floor(5.0 * rng.uniform());
  }
  hh::GaussianProcess gp(d);
  gp.set_data(x.data(), y.data(), reps.data(), n);
  const hh::Hyperparameters hp = some_hp(d);
  gp.set_hyperparameters(hp);
  NaiveGp naive(x, y, reps, n, d, hp);
  HH_CHECK_NEAR(gp.log_marginal_likelihood(), naive.lml, 1e-11);
  HH_CHECK(gp.jitter() == 0.0);

  auto packed = gp.pack(hp);
  std::vector<double> grad;
  const double lml = gp.lml_and_gradient(packed, &grad);
  HH_CHECK_NEAR(lml, naive.lml, 1e-11);
  HH_CHECK(grad.size() == packed.size());
  const double h = 1e-5;
  for (std::size_t i = 0; i < packed.size(); ++i) {
    auto p = packed, q = packed;
    p[i] += h;
    q[i] -= h;
    const double fd = (gp.lml_and_gradient(p, nullptr) - gp.lml_and_gradient(q, nullptr)) / (2 * h);
    HH_CHECK_NEAR(grad[i], fd, 1e-6);
  }
  // pack/unpack round trip.
  const auto back = gp.unpack(packed);
  for (int k = 0; k < d; ++k) HH_CHECK_NEAR(back.lengthscales[k], hp.lengthscales[k], 1e-14);
  HH_CHECK_NEAR(back.noise_floor, hp.noise_floor, 1e-14);
  HH_CHECK_NEAR(back.mean, hp.mean, 0.0);
}

void test_predict_against_naive() {
  const int n = 60, d = 4, m = 600;  // m spans several chunks
  TestRng rng(5);
  auto x = random_matrix(rng, n, d);
  std::vector<double> y(n), reps(n, 2.0);
  for (int i = 0; i < n; ++i) y[i] = std::cos(3.0 * x[i * d]) * x[i * d + 2] + 5.0;
  hh::GaussianProcess gp(d);
  hh::Hyperparameters hp = some_hp(d);
  hp.mean = 5.0;
  gp.set_hyperparameters(hp);  // before data: allowed
  gp.set_data(x.data(), y.data(), reps.data(), n);
  NaiveGp naive(x, y, reps, n, d, hp);
  auto xc = random_matrix(rng, m, d);
  std::copy(x.begin(), x.begin() + d, xc.begin());  // a training point
  std::vector<double> mean(m), var(m), mean2(m), var2(m), mean3(m);
  gp.predict(xc.data(), m, mean.data(), var.data(), 1);
  gp.predict(xc.data(), m, mean2.data(), var2.data(), 2);
  gp.predict_mean(xc.data(), m, mean3.data(), 2);
  for (int i = 0; i < m; ++i) {
    double mr, vr;
    naive.predict(&xc[i * d], &mr, &vr);
    HH_CHECK_NEAR(mean[i], mr, 1e-10);
    HH_CHECK(std::fabs(var[i] - vr) <= 1e-10);
    HH_CHECK(var[i] > 0.0);
    HH_CHECK(mean2[i] == mean[i] && var2[i] == var[i]);  // thread count invariant
    HH_CHECK(mean3[i] == mean[i]);
  }
  // cross_covariance + solve_lower_rows reproduce the variance.
  std::vector<double> kc(3 * n);
  gp.cross_covariance(xc.data(), 3, kc.data());
  for (int j = 0; j < n; ++j) HH_CHECK_NEAR(kc[n + j], naive_kernel(&xc[d], &x[j * d], hp), 1e-13);
  gp.solve_lower_rows(kc.data(), 3);
  for (int i = 0; i < 3; ++i) {
    double s = 0.0;
    for (int j = 0; j < n; ++j) s += kc[i * n + j] * kc[i * n + j];
    HH_CHECK_NEAR(std::max(hp.signal_variance - s, 1e-12 * hp.signal_variance), var[i], 1e-12);
  }
  // alpha = K^-1 (y - m): check K alpha = y - m.
  const auto& alpha = gp.alpha();
  for (int i = 0; i < n; i += 7) {
    double s = (hp.noise_variance / reps[i] + hp.noise_floor) * alpha[i];
    for (int j = 0; j < n; ++j) s += naive_kernel(&x[i * d], &x[j * d], hp) * alpha[j];
    HH_CHECK_NEAR(s, y[i] - hp.mean, 1e-10);
  }
}

void test_prior_before_data() {
  hh::GaussianProcess gp(2);
  hh::Hyperparameters hp = some_hp(2);
  gp.set_hyperparameters(hp);
  const double xc[4] = {0.1, 0.2, 0.3, 0.4};
  double mean[2], var[2];
  gp.predict(xc, 2, mean, var);
  for (int i = 0; i < 2; ++i) {
    HH_CHECK(mean[i] == hp.mean);
    HH_CHECK(var[i] == hp.signal_variance);
  }
  HH_CHECK(gp.size() == 0);
  HH_CHECK(gp.log_marginal_likelihood() == 0.0);
  HH_CHECK_THROWS(gp.fit(hh::FitOptions()));
}

void test_add_points_matches_refactor() {
  const int n = 50, k = 7, d = 3, m = 40;
  TestRng rng(21);
  auto x = random_matrix(rng, n + k, d);
  std::vector<double> y(n + k), reps(n + k);
  for (int i = 0; i < n + k; ++i) {
    y[i] = std::sin(5.0 * x[i * d]) + rng.normal() * 0.05;
    reps[i] = 1.0 + (i % 3);
  }
  const hh::Hyperparameters hp = some_hp(d);
  hh::GaussianProcess a(d), b(d), c(d);
  a.set_hyperparameters(hp);
  b.set_hyperparameters(hp);
  c.set_hyperparameters(hp);
  a.set_data(x.data(), y.data(), reps.data(), n);
  a.add_points(&x[n * d], &y[n], &reps[n], k);
  c.set_data(x.data(), y.data(), reps.data(), n);
  for (int i = n; i < n + k; ++i) c.add_points(&x[i * d], &y[i], &reps[i], 1);
  b.set_data(x.data(), y.data(), reps.data(), n + k);
  HH_CHECK(a.size() == n + k && c.size() == n + k);
  HH_CHECK_NEAR(a.log_marginal_likelihood(), b.log_marginal_likelihood(), 1e-10);
  HH_CHECK_NEAR(c.log_marginal_likelihood(), b.log_marginal_likelihood(), 1e-10);
  for (int i = 0; i < n + k; ++i) {
    HH_CHECK(std::fabs(a.alpha()[i] - b.alpha()[i]) < 1e-10);
    HH_CHECK(std::fabs(c.alpha()[i] - b.alpha()[i]) < 1e-10);
  }
  for (std::size_t i = 0; i < b.cholesky().size(); ++i)
    HH_CHECK(std::fabs(a.cholesky()[i] - b.cholesky()[i]) < 1e-10);
  auto xc = random_matrix(rng, m, d);
  std::vector<double> ma(m), va(m), mb(m), vb(m);
  a.predict(xc.data(), m, ma.data(), va.data(), 1);
  b.predict(xc.data(), m, mb.data(), vb.data(), 1);
  for (int i = 0; i < m; ++i) {
    HH_CHECK(std::fabs(ma[i] - mb[i]) < 1e-10);
    HH_CHECK(std::fabs(va[i] - vb[i]) < 1e-10);
  }
  // add_points on an empty model is set_data.
  hh::GaussianProcess e(d);
  e.set_hyperparameters(hp);
  e.add_points(x.data(), y.data(), reps.data(), n + k);
  HH_CHECK_NEAR(e.log_marginal_likelihood(), b.log_marginal_likelihood(), 1e-12);
  // Adding an exact duplicate with zero noise must not break anything.
  hh::Hyperparameters hp0 = hp;
  hp0.noise_variance = 0.0;
  hp0.noise_floor = 0.0;
  hh::GaussianProcess z(d);
  z.set_hyperparameters(hp0);
  z.set_data(x.data(), y.data(), nullptr, n);
  z.add_points(x.data(), y.data(), nullptr, 1);
  HH_CHECK(std::isfinite(z.log_marginal_likelihood()));
  HH_CHECK(z.size() == n + 1);
}

void test_degenerate_data() {
  const int d = 3;
  TestRng rng(8);
  // Duplicate rows with tiny noise.
  {
    const int n = 30;
    auto x = random_matrix(rng, n, d);
    for (int i = 15; i < n; ++i) std::copy(&x[(i - 15) * d], &x[(i - 15) * d] + d, &x[i * d]);
    std::vector<double> y(n);
    for (int i = 0; i < n; ++i) y[i] = x[i * d] + 0.01 * rng.normal();
    hh::GaussianProcess gp(d);
    hh::Hyperparameters hp = some_hp(d);
    hp.noise_variance = 0.0;
    hp.noise_floor = 0.0;
    gp.set_hyperparameters(hp);
    gp.set_data(x.data(), y.data(), nullptr, n);
    HH_CHECK(gp.jitter() > 0.0);
    HH_CHECK(std::isfinite(gp.log_marginal_likelihood()));
    std::vector<double> g;
    HH_CHECK(std::isfinite(gp.lml_and_gradient(gp.pack(hp), &g)));
    for (double v : g) HH_CHECK(std::isfinite(v));
    auto r = gp.fit(hh::FitOptions());
    HH_CHECK(std::isfinite(r.log_marginal_likelihood));
    double mean[1], var[1];
    gp.predict(x.data(), 1, mean, var);
    HH_CHECK(std::isfinite(mean[0]) && var[0] > 0.0);
  }
  // n = 1.
  {
    const double x[3] = {0.2, 0.5, 0.9}, y[1] = {3.0};
    hh::GaussianProcess gp(d);
    gp.set_data(x, y, nullptr, 1);
    auto r = gp.fit(hh::FitOptions());
    HH_CHECK(std::isfinite(r.log_marginal_likelihood));
    double mean[1], var[1];
    gp.predict(x, 1, mean, var);
    HH_CHECK(std::isfinite(mean[0]) && std::isfinite(var[0]) && var[0] > 0.0);
    HH_CHECK(std::fabs(mean[0] - 3.0) < 0.5);
  }
  // Constant targets.
  {
    const int n = 25;
    auto x = random_matrix(rng, n, d);
    std::vector<double> y(n, -2.5);
    hh::GaussianProcess gp(d);
    gp.set_data(x.data(), y.data(), nullptr, n);
    auto r = gp.fit(hh::FitOptions());
    HH_CHECK(std::isfinite(r.log_marginal_likelihood));
    auto xc = random_matrix(rng, 10, d);
    std::vector<double> mean(10), var(10);
    gp.predict(xc.data(), 10, mean.data(), var.data());
    for (int i = 0; i < 10; ++i) {
      HH_CHECK(std::fabs(mean[i] + 2.5) < 1e-3);
      HH_CHECK(var[i] > 0.0 && std::isfinite(var[i]));
    }
  }
  // Near-singular: very long lengthscales, no noise.
  {
    const int n = 80;
    auto x = random_matrix(rng, n, d);
    std::vector<double> y(n);
    for (int i = 0; i < n; ++i) y[i] = x[i * d];
    hh::GaussianProcess gp(d);
    hh::Hyperparameters hp;
    hp.lengthscales.assign(d, 100.0);
    hp.signal_variance = 1.0;
    hp.noise_variance = 0.0;
    hp.noise_floor = 0.0;
    gp.set_hyperparameters(hp);
    gp.set_data(x.data(), y.data(), nullptr, n);
    HH_CHECK(std::isfinite(gp.log_marginal_likelihood()));
    std::vector<double> mean(n), var(n);
    gp.predict(x.data(), n, mean.data(), var.data());
    for (int i = 0; i < n; ++i) HH_CHECK(std::isfinite(mean[i]) && var[i] > 0.0);
    std::vector<double> g;
    HH_CHECK(std::isfinite(gp.lml_and_gradient(gp.pack(hp), &g)));
  }
}

void make_gp_sample(int n, int d, const std::vector<double>& ls, std::uint64_t seed, std::vector<double>* x,
                    std::vector<double>* y) {
  TestRng rng(seed);
  *x = random_matrix(rng, n, d);
  hh::Hyperparameters hp;
  hp.lengthscales = ls;
  hp.signal_variance = 1.0;
  std::vector<double> k(n * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) k[i * n + j] = naive_kernel(&(*x)[i * d], &(*x)[j * d], hp);
  for (int i = 0; i < n; ++i) k[i * n + i] += 1e-6;
  naive_cholesky(k, n);
  y->assign(n, 0.0);
  std::vector<double> z(n);
  for (double& v : z) v = rng.normal();
  for (int i = 0; i < n; ++i) {
    double s = 0.0;
    for (int j = 0; j <= i; ++j) s += k[i * n + j] * z[j];
    (*y)[i] = 3.0 * s + 10.0 + 0.01 * rng.normal();  // scale 3, offset 10
  }
}

void test_fit_recovers_and_is_deterministic() {
  const int n = 200, d = 3;
  const std::vector<double> truth = {0.25, 0.8, 10.0};
  std::vector<double> x, y;
  make_gp_sample(n, d, truth, 99, &x, &y);
  hh::FitOptions o;
  o.seed = 7;
  o.threads = 1;
  hh::GaussianProcess a(d), b(d), c(d);
  a.set_data(x.data(), y.data(), nullptr, n);
  b.set_data(x.data(), y.data(), nullptr, n);
  c.set_data(x.data(), y.data(), nullptr, n);
  const double before = a.log_marginal_likelihood();
  auto ra = a.fit(o);
  auto rb = b.fit(o);
  HH_CHECK(ra.starts == 1 + o.restarts);
  HH_CHECK(ra.evaluations > 0 && ra.evaluations == rb.evaluations);
  HH_CHECK(ra.log_marginal_likelihood == rb.log_marginal_likelihood);
  for (int k = 0; k < d; ++k)
    HH_CHECK(a.hyperparameters().lengthscales[k] == b.hyperparameters().lengthscales[k]);
  HH_CHECK(ra.log_marginal_likelihood > before);
  HH_CHECK_NEAR(ra.log_marginal_likelihood, a.log_marginal_likelihood(), 0.0);
  const auto& hp = a.hyperparameters();
  std::fprintf(
      stderr,
      "fit: l = %.3f %.3f %.3f, s2 = %.3f, sigma2 = %.2e, tau2 = %.2e, mean = %.3f, evals %d, lml %.3f\n",
      hp.lengthscales[0], hp.lengthscales[1], hp.lengthscales[2], hp.signal_variance, hp.noise_variance,
      hp.noise_floor, hp.mean, ra.evaluations, ra.log_marginal_likelihood);
  HH_CHECK(hp.lengthscales[0] > truth[0] / 2 && hp.lengthscales[0] < truth[0] * 2);
  HH_CHECK(hp.lengthscales[1] > truth[1] / 2 && hp.lengthscales[1] < truth[1] * 2);
  HH_CHECK(hp.lengthscales[2] > 3.0);  // irrelevant dimension stays long
  HH_CHECK(hp.signal_variance > 9.0 / 4 && hp.signal_variance < 9.0 * 4);
  // Two threads: parallel starts; same optimum up to BLAS rounding.
  o.threads = 2;
  auto rc = c.fit(o);
  HH_CHECK_NEAR(rc.log_marginal_likelihood, ra.log_marginal_likelihood, 1e-6);
  // A different seed still finds a comparable optimum.
  o.seed = 8;
  auto rd = c.fit(o);
  HH_CHECK(std::fabs(rd.log_marginal_likelihood - ra.log_marginal_likelihood) < 2.0);
}

void test_screening() {
  // With n > 2 * screening_size the starts are screened on a subset; the
  // result must match a fit without screening closely.
  const int n = 500, d = 4;
  std::vector<double> x, y;
  make_gp_sample(n, d, {0.3, 0.6, 2.0, 8.0}, 5, &x, &y);
  hh::GaussianProcess a(d), b(d);
  a.set_data(x.data(), y.data(), nullptr, n);
  b.set_data(x.data(), y.data(), nullptr, n);
  hh::FitOptions o;
  o.threads = 1;
  o.screening_size = 100;
  const auto ra = a.fit(o);
  o.screening_size = 0;
  const auto rb = b.fit(o);
  HH_CHECK(ra.full_evaluations < ra.evaluations);
  HH_CHECK(rb.full_evaluations == rb.evaluations);
  HH_CHECK(ra.full_evaluations < rb.full_evaluations);
  std::fprintf(stderr, "screening: lml %.4f (%d/%d evals) vs %.4f (%d evals)\n", ra.log_marginal_likelihood,
               ra.full_evaluations, ra.evaluations, rb.log_marginal_likelihood, rb.evaluations);
  HH_CHECK(ra.log_marginal_likelihood > rb.log_marginal_likelihood - 0.5);
  // Determinism with screening.
  hh::GaussianProcess c(d);
  c.set_data(x.data(), y.data(), nullptr, n);
  o.screening_size = 100;
  const auto rc = c.fit(o);
  HH_CHECK(rc.log_marginal_likelihood == ra.log_marginal_likelihood);
}

void test_errors() {
  HH_CHECK_THROWS(hh::GaussianProcess(0));
  hh::GaussianProcess gp(2);
  const double x[4] = {0, 1, 2, 3}, y[2] = {1, 2};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  HH_CHECK_THROWS(gp.set_data(x, y, nullptr, 0));
  HH_CHECK_THROWS(gp.set_data(nullptr, y, nullptr, 2));
  const double xn[4] = {0, nan, 2, 3}, yi[2] = {1, inf}, r0[2] = {1, 0};
  HH_CHECK_THROWS(gp.set_data(xn, y, nullptr, 2));
  HH_CHECK_THROWS(gp.set_data(x, yi, nullptr, 2));
  HH_CHECK_THROWS(gp.set_data(x, y, r0, 2));
  hh::Hyperparameters hp = some_hp(2);
  hp.lengthscales[1] = 0.0;
  HH_CHECK_THROWS(gp.set_hyperparameters(hp));
  hp = some_hp(3);
  HH_CHECK_THROWS(gp.set_hyperparameters(hp));
  hp = some_hp(2);
  hp.noise_variance = -1.0;
  HH_CHECK_THROWS(gp.set_hyperparameters(hp));
  hp = some_hp(2);
  hp.signal_variance = nan;
  HH_CHECK_THROWS(gp.set_hyperparameters(hp));
  gp.set_data(x, y, nullptr, 2);
  double mean[1], var[1];
  HH_CHECK_THROWS(gp.predict(xn, 1, mean, var));
  HH_CHECK_THROWS(gp.predict(x, -1, mean, var));
  HH_CHECK_THROWS(gp.lml_and_gradient({0.0, 0.0}, nullptr));
  HH_CHECK_THROWS(gp.add_points(xn, y, nullptr, 1));
  hh::FitOptions o;
  o.lengthscale_min = -1.0;
  HH_CHECK_THROWS(gp.fit(o));
  // Failed calls left the model usable.
  gp.predict(x, 1, mean, var);
  HH_CHECK(std::isfinite(mean[0]) && var[0] > 0.0);
}

void test_threading() {
  for (int threads : {1, 2, 3, 8}) {
    std::vector<std::atomic<int>> hits(101);
    for (auto& h : hits) h = 0;
    hh::parallel_for(101, threads, [&](int task, int worker) {
      HH_CHECK(worker >= 0 && worker < threads);
      ++hits[task];
    });
    for (auto& h : hits) HH_CHECK(h.load() == 1);
  }
  HH_CHECK_THROWS(hh::parallel_for(10, 2, [](int task, int) {
    if (task == 5) throw std::runtime_error("boom");
  }));
  const int before = hh::get_num_threads();
  hh::set_num_threads(1);
  HH_CHECK(hh::get_num_threads() == 1);
  HH_CHECK(hh::resolve_threads(0) == 1);
  hh::set_num_threads(before);
  HH_CHECK(hh::get_num_threads() == before);
}

// A snapshot of everything observable about a model, to check that a failed
// call changed nothing.
struct Snapshot {
  int size;
  double lml, jitter;
  std::vector<double> chol, alpha, x, lengthscales, mean, var;
  explicit Snapshot(const hh::GaussianProcess& gp, const std::vector<double>& probe) {
    size = gp.size();
    lml = gp.log_marginal_likelihood();
    jitter = gp.jitter();
    chol = gp.cholesky();
    alpha = gp.alpha();
    x = gp.training_inputs();
    lengthscales = gp.hyperparameters().lengthscales;
    const int m = static_cast<int>(probe.size()) / gp.dim();
    mean.resize(m);
    var.resize(m);
    gp.predict(probe.data(), m, mean.data(), var.data(), 1);
  }
  bool operator==(const Snapshot& o) const {
    return size == o.size && lml == o.lml && jitter == o.jitter && chol == o.chol && alpha == o.alpha &&
           x == o.x && lengthscales == o.lengthscales && mean == o.mean && var == o.var;
  }
};

template <class Call>
void check_unchanged_after_throw(hh::GaussianProcess& gp, const std::vector<double>& probe, Call call) {
  const Snapshot before(gp, probe);
  bool threw = false;
  try {
    call();
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  HH_CHECK(threw);
  HH_CHECK(Snapshot(gp, probe) == before);
}

void test_strong_guarantee_and_overflow() {
  const int n = 30, d = 3;
  TestRng rng(31);
  auto x = random_matrix(rng, n, d);
  std::vector<double> y(n);
  for (int i = 0; i < n; ++i) y[i] = std::sin(4.0 * x[i * d]) + x[i * d + 1];
  const auto probe = random_matrix(rng, 7, d);
  hh::GaussianProcess gp(d);
  hh::FitOptions o;
  o.restarts = 1;
  gp.fit(x.data(), y.data(), nullptr, n, o);
  HH_CHECK(gp.size() == n);
  // Inputs that overflow the kernel (issue 10, items 1 and 2).
  std::vector<double> huge(2 * d, 0.0);
  huge[d] = 1e200;
  const double y2[2] = {0.0, 1.0};
  check_unchanged_after_throw(gp, probe, [&] { gp.set_data(huge.data(), y2, nullptr, 2); });
  check_unchanged_after_throw(gp, probe, [&] { gp.fit(huge.data(), y2, nullptr, 2, o); });
  const std::vector<double> row(d, 1e160);
  check_unchanged_after_throw(gp, probe, [&] { gp.add_points(row.data(), y2, nullptr, 1); });
  // Targets beyond the limit, bad repetitions, bad options.
  std::vector<double> yb = y;
  yb[3] = 1e200;
  check_unchanged_after_throw(gp, probe, [&] { gp.fit(x.data(), yb.data(), nullptr, n, o); });
  check_unchanged_after_throw(gp, probe, [&] { gp.add_points(x.data(), &yb[3], nullptr, 1); });
  const double bad_reps[1] = {-1.0};
  check_unchanged_after_throw(gp, probe, [&] { gp.add_points(x.data(), y.data(), bad_reps, 1); });
  hh::FitOptions bad = o;
  bad.restarts = hh::kMaxRestarts + 1;
  check_unchanged_after_throw(gp, probe, [&] { gp.fit(bad); });
  check_unchanged_after_throw(gp, probe, [&] { gp.fit(x.data(), y.data(), nullptr, n, bad); });
  // Lengthscales so short that the scaled inputs overflow: rejected when
  // conditioning, before the hyperparameters change.
  hh::Hyperparameters tiny = gp.hyperparameters();
  tiny.lengthscales.assign(d, 1e-300);
  check_unchanged_after_throw(gp, probe, [&] { gp.set_hyperparameters(tiny); });
  tiny.lengthscales.assign(d, 4e-324);  // subnormal: 1 / l is inf
  check_unchanged_after_throw(gp, probe, [&] { gp.set_hyperparameters(tiny); });
  // Candidates far away throw instead of returning NaN.
  double mean[1], var[1];
  HH_CHECK_THROWS(gp.predict(row.data(), 1, mean, var));
  // A fresh model whose first fit fails stays empty (the prior).
  hh::GaussianProcess fresh(d);
  HH_CHECK_THROWS(fresh.fit(huge.data(), y2, nullptr, 2, o));
  HH_CHECK(fresh.size() == 0 && fresh.cholesky().empty());
  // Large but representable inputs are handled finitely.
  const std::vector<double> big(d, 1e140);
  gp.add_points(big.data(), y2, nullptr, 1);
  HH_CHECK(gp.size() == n + 1);
  std::vector<double> m(7), v(7);
  gp.predict(probe.data(), 7, m.data(), v.data(), 1);
  for (int i = 0; i < 7; ++i) HH_CHECK(std::isfinite(m[i]) && std::isfinite(v[i]) && v[i] > 0.0);
}

void test_target_scaling() {
  // c * y fits like y for any spread down to kMinTargetSpread: the same
  // lengthscales (up to rounding of the standardised targets) and
  // lml(c y) = lml(y) - n log c.
  const int n = 60, d = 3;
  std::vector<double> x, y;
  make_gp_sample(n, d, {0.3, 0.7, 4.0}, 17, &x, &y);
  hh::FitOptions o;
  o.restarts = 1;
  hh::GaussianProcess ref(d);
  ref.fit(x.data(), y.data(), nullptr, n, o);
  for (double c : {1e-13, 1e-100, 1e-140, 1e120}) {
    std::vector<double> yc(n);
    for (int i = 0; i < n; ++i) yc[i] = c * y[i];
    hh::GaussianProcess gp(d);
    gp.fit(x.data(), yc.data(), nullptr, n, o);
    for (int k = 0; k < d; ++k)
      HH_CHECK_NEAR(gp.hyperparameters().lengthscales[k], ref.hyperparameters().lengthscales[k], 1e-5);
    HH_CHECK_NEAR(gp.log_marginal_likelihood(), ref.log_marginal_likelihood() - n * std::log(c), 1e-6);
    std::vector<double> m(n), v(n), mr(n), vr(n);
    gp.predict(x.data(), n, m.data(), v.data(), 1);
    ref.predict(x.data(), n, mr.data(), vr.data(), 1);
    for (int i = 0; i < n; ++i) {
      HH_CHECK(std::fabs(m[i] / c - mr[i]) < 1e-5 * (1.0 + std::fabs(mr[i])));
      HH_CHECK(v[i] > 0.0 && std::isfinite(v[i]));
    }
  }
  // A spread whose square would underflow is fitted as its mean: finite,
  // within the spread of the targets.
  std::vector<double> yt(n);
  for (int i = 0; i < n; ++i) yt[i] = 1e-160 * y[i];
  const double mean_t = std::accumulate(yt.begin(), yt.end(), 0.0) / n;
  const auto [lo, hi] = std::minmax_element(yt.begin(), yt.end());
  hh::GaussianProcess gp(d);
  gp.fit(x.data(), yt.data(), nullptr, n, o);
  HH_CHECK(gp.hyperparameters().mean == mean_t);
  std::vector<double> mt(n), vt(n);
  gp.predict(x.data(), n, mt.data(), vt.data(), 1);
  for (int i = 0; i < n; ++i) HH_CHECK(mt[i] >= *lo && mt[i] <= *hi && vt[i] > 0.0 && std::isfinite(vt[i]));
  // A constant target, however small, is a constant prediction.
  std::vector<double> yk(n, 1e-300);
  gp.fit(x.data(), yk.data(), nullptr, n, o);
  std::vector<double> m(n), v(n);
  gp.predict(x.data(), n, m.data(), v.data(), 1);
  for (int i = 0; i < n; ++i) HH_CHECK(m[i] == 1e-300);
}

void test_thread_count_independence() {
  // n > 2 * screening_size: the screened path, where a single refined start
  // used to run with multithreaded BLAS.
  const int n = 700, d = 5;
  std::vector<double> x, y;
  make_gp_sample(n, d, {0.3, 0.6, 1.0, 3.0, 9.0}, 23, &x, &y);
  std::vector<hh::Hyperparameters> fitted;
  std::vector<std::vector<double>> variances;
  for (int threads : {1, 2, 3}) {
    hh::GaussianProcess gp(d);
    hh::FitOptions o;
    o.restarts = 2;
    o.threads = threads;
    gp.fit(x.data(), y.data(), nullptr, n, o);
    fitted.push_back(gp.hyperparameters());
    std::vector<double> mean(n), var(n);
    gp.predict(x.data(), n, mean.data(), var.data(), threads);
    variances.push_back(var);
  }
  for (std::size_t t = 1; t < fitted.size(); ++t) {
    HH_CHECK(fitted[t].lengthscales == fitted[0].lengthscales);  // bitwise
    HH_CHECK(fitted[t].signal_variance == fitted[0].signal_variance);
    HH_CHECK(variances[t] == variances[0]);
  }
}

void test_option_validation() {
  hh::FitOptions o;
  hh::validate(o);
  auto rejects = [](hh::FitOptions bad) { HH_CHECK_THROWS(hh::validate(bad)); };
  o.restarts = -1;
  rejects(o);
  o = hh::FitOptions();
  o.max_iterations = 0;
  rejects(o);
  o = hh::FitOptions();
  o.tolerance = std::nan("");
  rejects(o);
  o = hh::FitOptions();
  o.tolerance = 0.0;
  hh::validate(o);  // 0 is allowed: stop on the gradient or the iteration limit
  o = hh::FitOptions();
  o.noise_min = 0.0;
  rejects(o);
  o = hh::FitOptions();
  o.lengthscale_prior_width = -1.0;
  rejects(o);
  o = hh::FitOptions();
  o.threads = -1;
  rejects(o);
  o = hh::FitOptions();
  hh::Hyperparameters hp = some_hp(2);
  hh::validate(hp, 2);
  HH_CHECK_THROWS(hh::validate(hp, 3));
  hp.signal_variance = 1e-310;  // subnormal
  HH_CHECK_THROWS(hh::validate(hp, 2));
  hh::Hyperparameters none;
  HH_CHECK_THROWS(hh::validate(none, 0));
  HH_CHECK_THROWS(hh::set_num_threads(-1));
}

}  // namespace

int main() {
  test_matern_primitives();
  test_lml_against_naive_and_gradient();
  test_predict_against_naive();
  test_prior_before_data();
  test_add_points_matches_refactor();
  test_degenerate_data();
  test_fit_recovers_and_is_deterministic();
  test_screening();
  test_errors();
  test_threading();
  test_strong_guarantee_and_overflow();
  test_target_scaling();
  test_thread_count_independence();
  test_option_validation();
  HH_TEST_MAIN_END();
}
