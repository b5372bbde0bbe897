// Tests of the box-constrained L-BFGS minimiser.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "check.hpp"
#include "lbfgs.hpp"

namespace {

const double kInf = std::numeric_limits<double>::infinity();

double rosenbrock(const double* x, double* g, int n) {
  double f = 0.0;
  for (int i = 0; i < n; ++i) g[i] = 0.0;
  for (int i = 0; i + 1 < n; ++i) {
    const double a = x[i + 1] - x[i] * x[i], b = 1.0 - x[i];
    f += 100.0 * a * a + b * b;
    g[i] += -400.0 * a * x[i] - 2.0 * b;
    g[i + 1] += 200.0 * a;
  }
  return f;
}

// Rosenbrock in 6 variables from -1.2, box [-10, 10], tight tolerances.
constexpr int kRosenbrockDim = 6;
const std::vector<double> kRosenbrockLo(kRosenbrockDim, -10.0), kRosenbrockHi(kRosenbrockDim, 10.0),
    kRosenbrockX0(kRosenbrockDim, -1.2);
hh::LbfgsOptions rosenbrock_options() {
  hh::LbfgsOptions o;
  o.max_iterations = 500;
  o.f_tolerance = 1e-15;
  o.g_tolerance = 1e-8;
  return o;
}

void test_rosenbrock() {
  const int n = kRosenbrockDim;
  const auto &lo = kRosenbrockLo, &hi = kRosenbrockHi, &x0 = kRosenbrockX0;
  const hh::LbfgsOptions o = rosenbrock_options();
  auto r = hh::minimize_lbfgs([&](const double* x, double* g) { return rosenbrock(x, g, n); }, x0, lo, hi, o);
  HH_CHECK(r.ok);
  HH_CHECK(r.converged);
  for (int i = 0; i < n; ++i) HH_CHECK_NEAR(r.x[i], 1.0, 1e-5);
  HH_CHECK(r.f < 1e-10);
}

void test_value_only_trials() {
  // Same iterates whether line-search trials get the gradient or not; with
  // value_only_trials every gradient call repeats the point of the value-only
  // call just before it, and some trials are value-only and rejected.
  const int n = kRosenbrockDim;
  const auto &lo = kRosenbrockLo, &hi = kRosenbrockHi, &x0 = kRosenbrockX0;
  hh::LbfgsOptions o = rosenbrock_options();
  auto full =
      hh::minimize_lbfgs([&](const double* x, double* g) { return rosenbrock(x, g, n); }, x0, lo, hi, o);
  o.value_only_trials = true;
  int value_calls = 0, gradient_calls = 0;
  bool repeats_point = true;
  std::vector<double> last(n, kInf), scratch(n);
  auto lazy = hh::minimize_lbfgs(
      [&](const double* x, double* g) {
        if (g == nullptr) {
          ++value_calls;
          last.assign(x, x + n);
          return rosenbrock(x, scratch.data(), n);
        }
        if (++gradient_calls > 1 && !std::equal(x, x + n, last.begin())) repeats_point = false;
        return rosenbrock(x, g, n);
      },
      x0, lo, hi, o);
  HH_CHECK(lazy.ok && lazy.converged);
  HH_CHECK(lazy.x == full.x && lazy.f == full.f);
  HH_CHECK(lazy.evaluations == full.evaluations && lazy.iterations == full.iterations);
  HH_CHECK(repeats_point);
  HH_CHECK(value_calls == full.evaluations - 1);  // all but the start point
  HH_CHECK(gradient_calls < full.evaluations);    // rejected trials had none
}

void test_active_bounds() {
  // min sum (x_i - c_i)^2 with c outside the box on some coordinates.
  const std::vector<double> c = {-3.0, 0.5, 4.0, 2.0};
  const std::vector<double> lo = {-1.0, -1.0, -1.0, 2.0}, hi = {1.0, 1.0, 1.0, 2.0};
  auto f = [&](const double* x, double* g) {
    double s = 0.0;
    for (int i = 0; i < 4; ++i) {
      s += (x[i] - c[i]) * (x[i] - c[i]);
      g[i] = 2.0 * (x[i] - c[i]);
    }
    return s;
  };
  hh::LbfgsOptions o;
  o.f_tolerance = 0.0;
  auto r = hh::minimize_lbfgs(f, {0.0, 0.0, 0.0, 0.0}, lo, hi, o);
  HH_CHECK(r.ok && r.converged);
  HH_CHECK_NEAR(r.x[0], -1.0, 1e-12);
  HH_CHECK_NEAR(r.x[1], 0.5, 1e-6);
  HH_CHECK_NEAR(r.x[2], 1.0, 1e-12);
  HH_CHECK_NEAR(r.x[3], 2.0, 0.0);  // fixed variable (lo == hi)
}

void test_failing_region() {
  // Quadratic with minimum at 3, but the objective "fails" for x > 2: the
  // minimiser must stay where it works and approach the edge.
  auto f = [&](const double* x, double* g) {
    if (x[0] > 2.0) return kInf;
    g[0] = 2.0 * (x[0] - 3.0);
    return (x[0] - 3.0) * (x[0] - 3.0);
  };
  hh::LbfgsOptions o;
  auto r = hh::minimize_lbfgs(f, {0.0}, {-10.0}, {10.0}, o);
  HH_CHECK(r.ok);
  HH_CHECK(std::isfinite(r.f));
  HH_CHECK(r.x[0] <= 2.0 && r.x[0] > 1.5);

  // A start where the objective fails is reported, not thrown.
  auto r2 = hh::minimize_lbfgs(f, {5.0}, {-10.0}, {10.0}, o);
  HH_CHECK(!r2.ok);
  HH_CHECK(r2.evaluations == 1);
}

void test_bad_bounds() {
  auto f = [](const double* x, double* g) {
    g[0] = 0.0;
    return 0.0;
  };
  HH_CHECK_THROWS(hh::minimize_lbfgs(f, {0.0}, {1.0}, {0.0}, hh::LbfgsOptions()));
  HH_CHECK_THROWS(hh::minimize_lbfgs(f, {0.0}, {0.0, 1.0}, {1.0}, hh::LbfgsOptions()));
}

}  // namespace

int main() {
  test_rosenbrock();
  test_value_only_trials();
  test_active_bounds();
  test_failing_region();
  test_bad_bounds();
  HH_TEST_MAIN_END();
}
