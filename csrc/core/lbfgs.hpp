// A compact limited-memory BFGS minimiser with box bounds, for the GP's
// hyperparameter fit (tens of variables, expensive objective).
//
// Bounds are handled by projection: variables sitting on a bound with the
// gradient pushing outwards are frozen for the iteration, the quasi-Newton
// direction is computed for the rest, and the line search backtracks along
// the projected path P(x + t d) with an Armijo condition. Non-finite objective
// values are treated as "step too long" and shrink the step, so a region
// where the objective fails (e.g. a Cholesky that cannot be rescued) is
// avoided rather than fatal.
#pragma once

#include <functional>
#include <vector>

namespace hh {

struct LbfgsOptions {
  int memory = 10;  // (s, y) pairs kept
  int max_iterations = 200;
  int max_evaluations = 0;  // 0 = 2 * max_iterations + 20
  // Stop when an accepted step lowers f by at most
  // f_tolerance * max(|f_old|, |f_new|, 1) (the L-BFGS-B "factr" test).
  double f_tolerance = 1e-6;
  // Stop when the projected gradient's largest component is below this.
  double g_tolerance = 1e-5;
  // Largest change of any variable in the first trial step of an iteration
  // (the direction is scaled down if needed); <= 0 disables the cap.
  double max_step = 0.0;
  // The objective accepts grad == nullptr (value only): line-search trials
  // are evaluated without the gradient, and the objective is called again at
  // the same point, with grad, only for the trial that is accepted (an
  // objective that can continue from the value it just computed then pays
  // for the gradient only there). Same iterates either way.
  bool value_only_trials = false;
};

struct LbfgsResult {
  std::vector<double> x;  // best point found (inside the box)
  double f = 0.0;         // objective there
  int iterations = 0;
  int evaluations = 0;
  bool ok = false;         // false if the objective failed at the start point
  bool converged = false;  // a tolerance test was met (vs. limits/line search)
};

// objective(x, grad) returns f(x) and writes the gradient to grad (same size
// as x). It may return a non-finite value to signal failure at x.
using LbfgsObjective = std::function<double(const double* x, double* grad)>;

LbfgsResult minimize_lbfgs(const LbfgsObjective& objective, std::vector<double> x0,
                           const std::vector<double>& lower, const std::vector<double>& upper,
                           const LbfgsOptions& options);

}  // namespace hh
