// Tests of the box-constrained L-BFGS minimiser.
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

void test_rosenbrock() {
  const int n = 6;
  hh::LbfgsOptions o;
  o.max_iterations = 500;
  o.f_tolerance = 1e-15;
  o.g_tolerance = 1e-8;
  std::vector<double> lo(n, -10.0), hi(n, 10.0), x0(n, -1.2);
  auto r = hh::minimize_lbfgs(
      [&](const double* x, double* g) { return rosenbrock(x, g, n); }, x0, lo,
      hi, o);
  HH_CHECK(r.ok);
  HH_CHECK(r.converged);
  for (int i = 0; i < n; ++i) HH_CHECK_NEAR(r.x[i], 1.0, 1e-5);
  HH_CHECK(r.f < 1e-10);
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
  test_active_bounds();
  test_failing_region();
  test_bad_bounds();
  HH_TEST_MAIN_END();
}
