#include "lbfgs.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <stdexcept>

namespace hh {
namespace {

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

bool all_finite(const std::vector<double>& v) {
  for (double x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

struct Pair {
  std::vector<double> s, y;
  double rho;
};

// Two-loop recursion: returns -H * q with the usual gamma = s'y / y'y scaling.
std::vector<double> two_loop(const std::deque<Pair>& history, const std::vector<double>& q_in) {
  std::vector<double> q = q_in;
  std::vector<double> a(history.size());
  for (int i = static_cast<int>(history.size()) - 1; i >= 0; --i) {
    a[i] = history[i].rho * dot(history[i].s, q);
    for (std::size_t k = 0; k < q.size(); ++k) q[k] -= a[i] * history[i].y[k];
  }
  double gamma = 1.0;
  if (!history.empty()) {
    const Pair& last = history.back();
    gamma = dot(last.s, last.y) / dot(last.y, last.y);
  }
  for (double& v : q) v *= gamma;
  for (std::size_t i = 0; i < history.size(); ++i) {
    const double b = history[i].rho * dot(history[i].y, q);
    for (std::size_t k = 0; k < q.size(); ++k) q[k] += (a[i] - b) * history[i].s[k];
  }
  for (double& v : q) v = -v;
  return q;
}

}  // namespace

LbfgsResult minimize_lbfgs(const LbfgsObjective& objective, std::vector<double> x0,
                           const std::vector<double>& lower, const std::vector<double>& upper,
                           const LbfgsOptions& options) {
  const std::size_t n = x0.size();
  if (lower.size() != n || upper.size() != n)
    throw std::invalid_argument("minimize_lbfgs: bounds size mismatch");
  for (std::size_t i = 0; i < n; ++i) {
    if (!(lower[i] <= upper[i])) throw std::invalid_argument("minimize_lbfgs: lower bound above upper");
  }
  const int max_evals =
      options.max_evaluations > 0 ? options.max_evaluations : 2 * options.max_iterations + 20;
  const int memory = std::max(1, options.memory);
  auto project = [&](std::vector<double>& x) {
    for (std::size_t i = 0; i < n; ++i) {
      if (!(x[i] >= lower[i])) x[i] = lower[i];  // also maps NaN to lower
      if (x[i] > upper[i]) x[i] = upper[i];
    }
  };

  LbfgsResult result;
  std::vector<double> x = std::move(x0);
  project(x);
  std::vector<double> g(n), g_new(n), x_new(n), s(n), yv(n);
  double f = objective(x.data(), g.data());
  result.evaluations = 1;
  result.x = x;
  result.f = f;
  if (!std::isfinite(f) || !all_finite(g)) return result;
  result.ok = true;
  if (n == 0) {
    result.converged = true;
    return result;
  }

  std::deque<Pair> history;
  std::vector<double> q(n);
  while (result.iterations < options.max_iterations && result.evaluations < max_evals) {
    // Projected gradient; frozen = on a bound and pushed outwards.
    double pg_max = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const bool frozen = (x[i] <= lower[i] && g[i] > 0.0) || (x[i] >= upper[i] && g[i] < 0.0);
      q[i] = frozen ? 0.0 : g[i];
      pg_max = std::max(pg_max, std::fabs(q[i]));
    }
    if (pg_max <= options.g_tolerance) {
      result.converged = true;
      break;
    }

    bool accepted = false;
    double f_new = f;
    // Try the quasi-Newton direction; on failure retry once as steepest
    // descent with the memory cleared.
    for (int attempt = 0; attempt < 2 && !accepted; ++attempt) {
      if (attempt == 1) {
        if (history.empty()) break;
        history.clear();
      }
      std::vector<double> d = two_loop(history, q);
      for (std::size_t i = 0; i < n; ++i)
        if (q[i] == 0.0) d[i] = 0.0;
      double gd = dot(g, d);
      if (!(gd < 0.0)) {  // not a descent direction: steepest descent
        history.clear();
        for (std::size_t i = 0; i < n; ++i) d[i] = -q[i];
        gd = dot(g, d);
      }
      double t = 1.0;
      if (history.empty()) {
        // No curvature information yet: a unit-length first step.
        double norm = std::sqrt(dot(d, d));
        if (norm > 1.0) t = 1.0 / norm;
      }
      if (options.max_step > 0.0) {
        double dmax = 0.0;
        for (double v : d) dmax = std::max(dmax, std::fabs(v));
        if (t * dmax > options.max_step) t = options.max_step / dmax;
      }
      const double c1 = 1e-4;
      for (int ls = 0; ls < 30 && result.evaluations < max_evals; ++ls) {
        for (std::size_t i = 0; i < n; ++i) x_new[i] = x[i] + t * d[i];
        project(x_new);
        double gs = 0.0, smax = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
          s[i] = x_new[i] - x[i];
          gs += g[i] * s[i];
          smax = std::max(smax, std::fabs(s[i]));
        }
        if (smax <= 1e-14 * (1.0 + std::sqrt(dot(x, x)))) break;  // no move
        const bool value_only = options.value_only_trials;
        f_new = objective(x_new.data(), value_only ? nullptr : g_new.data());
        ++result.evaluations;
        bool finite = std::isfinite(f_new) && (value_only || all_finite(g_new));
        if (finite && f_new <= f + c1 * std::min(gs, 0.0)) {
          // Accepted: with value-only trials, now the gradient there (part of
          // the same evaluation).
          if (value_only) {
            f_new = objective(x_new.data(), g_new.data());
            finite = std::isfinite(f_new) && all_finite(g_new);
          }
          if (finite) {
            accepted = true;
            break;
          }
        }
        if (!finite) {
          t *= 0.1;
        } else {
          // Minimiser of the quadratic through f, the slope gs/t and f_new,
          // kept within [0.1 t, 0.5 t].
          const double slope = gs / t;
          const double denom = 2.0 * (f_new - f - slope * t);
          double t_new = denom > 0.0 ? -slope * t * t / denom : 0.5 * t;
          t = std::min(std::max(t_new, 0.1 * t), 0.5 * t);
        }
      }
    }
    if (!accepted) break;  // no progress possible along any direction
    ++result.iterations;

    for (std::size_t i = 0; i < n; ++i) yv[i] = g_new[i] - g[i];
    const double sy = dot(s, yv);
    if (sy > 1e-10 * std::sqrt(dot(s, s) * dot(yv, yv)) && sy > 0.0) {
      history.push_back(Pair{s, yv, 1.0 / sy});
      if (static_cast<int>(history.size()) > memory) history.pop_front();
    }
    const double decrease = f - f_new;
    const double scale = std::max({std::fabs(f), std::fabs(f_new), 1.0});
    x.swap(x_new);
    g.swap(g_new);
    f = f_new;
    result.x = x;
    result.f = f;
    if (decrease <= options.f_tolerance * scale) {
      result.converged = true;
      break;
    }
  }
  return result;
}

}  // namespace hh
