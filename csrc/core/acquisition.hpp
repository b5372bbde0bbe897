// Acquisition functions and their maximisation over a DiscreteSpace.
// Minimisation convention: the objective (kernel time, usually its log) is to
// be minimised; "improvement" is best_observed - f(x). No Python here.
#pragma once

#include <cstdint>
#include <vector>

#include "gp.hpp"
#include "space.hpp"

namespace hh {

enum class AcquisitionKind : int {
  LogEI = 0,         // log expected improvement, stable far in the tails
  EI = 1,            // expected improvement
  UCB = 2,           // lower confidence bound for minimisation, negated: -(mu - beta*sigma)
  LogEIPerCost = 3,  // log EI - predicted log cost (improvement per second)
};

// Pointwise values, numerically stable (log EI uses an asymptotic expansion
// where EI underflows). With zero variance EI = max(best - mean, 0), so log
// EI is -inf where no improvement is possible (finite everywhere else, e.g.
// about -5e5 at z = (best - mean)/sigma = -1e3). NaN in, NaN out.
double log_expected_improvement(double mean, double variance, double best);
double expected_improvement(double mean, double variance, double best);
double lower_confidence_bound_score(double mean, double variance, double beta);

// Array versions for callers with untrusted input: out[i] for i < count;
// throws std::invalid_argument for non-finite means, variances or best.
void log_expected_improvement(const double* mean, const double* variance, int count, double best,
                              double* out);
void expected_improvement(const double* mean, const double* variance, int count, double best, double* out);

struct AcquisitionOptions {
  AcquisitionKind kind = AcquisitionKind::LogEI;
  double best = 0.0;  // incumbent objective value (for EI kinds)
  double ucb_beta = 2.0;
  int batch_size = 16;  // q
  // Random candidates scored; capped by the size of the space (a space with
  // at most pool_size points is enumerated instead of sampled). After the
  // cap at most kMaxPoolSize.
  int pool_size = 100000;
  int local_starts = 10;  // hill-climbs from the pool's best points
  int local_max_steps = 50;
  std::uint64_t seed = 0;
  int threads = 0;  // 0 = the core's default
  // Kriging-believer noise for fantasised points, in repetitions: the batch's
  // later picks see earlier picks as observed with this many repetitions.
  double fantasy_repetitions = 50.0;
  // With a feasibility model: lower clip of its mean (see AcquisitionModels).
  double feasibility_floor = 1e-3;
  // A hill-climb step tries at most this many other levels of a categorical
  // (sampled per point from the seed; see DiscreteSpace::neighbours), so
  // climbs over high-cardinality categoricals cost linear memory. 0 = all.
  int max_categorical_neighbours = 64;
  // false: score every candidate exactly (no bound pruning). Same result up
  // to rounding; only for tests and benchmarks (memory grows with the pool).
  bool prune = true;
};

// Most candidates a pool may hold after the cap by the space's size (each
// costs about 100 bytes plus its features while scored).
constexpr int kMaxPoolSize = 10000000;

// Throws std::invalid_argument naming the first bad option: kind one of the
// four, best finite (EI kinds), ucb_beta finite and >= 0 (UCB), batch_size
// >= 1, pool_size, local_starts, local_max_steps, threads and
// max_categorical_neighbours >= 0, fantasy_repetitions finite and > 0,
// feasibility_floor in (0, 1].
void validate(const AcquisitionOptions& options);

struct AcquisitionResult {
  std::vector<std::int32_t> points;  // batch x num_dims
  std::vector<double> scores;        // acquisition value of each pick when picked
  std::vector<double> means, variances;
  // Diagnostics: how much exact work the pruning needed.
  long long candidates_scored = 0;  // mean + bound computed
  long long exact_evaluations = 0;  // full variance computed
};

// Optional models that reweight the acquisition:
//   cost: a GP on log(cost seconds); LogEIPerCost subtracts its mean.
//   feasibility: a GP on 0/1 success labels; its mean, clipped to
//     [options.feasibility_floor, 1], multiplies EI (adds its log to log EI).
// UCB uses neither (cost and feasibility are ignored for it). LogEIPerCost
// needs a cost model (std::invalid_argument else).
struct AcquisitionModels {
  const GaussianProcess* objective = nullptr;
  const GaussianProcess* cost = nullptr;
  const GaussianProcess* feasibility = nullptr;
};

// Picks a diverse batch of distinct points not in `exclude`, maximising the
// acquisition: scores a uniform random pool with an exact mean and an upper
// bound on the variance (conditioning on the single most informative training
// point), evaluates the exact variance only where the bound can still win,
// hill-climbs from the best pool points and from `incumbents`, and fills the
// batch by kriging believer (each pick is added as a fantasy observation at
// its posterior mean before the next one is chosen).
// The pool is space.sample(options.seed, options.pool_size), or every point
// of a space with at most pool_size points. Returns fewer than batch_size
// points only when the candidates (distinct non-excluded pool points and the
// neighbours the climbs visited) run out. Results are
// identical for a seed whatever options.threads is. Each score, mean and
// variance is exact under the model with the earlier picks fantasised (the
// first pick's score is score_points' value up to rounding); log EI can be
// -inf.
AcquisitionResult maximize_acquisition(const DiscreteSpace& space, const AcquisitionModels& models,
                                       const AcquisitionOptions& options, const PointSet* exclude,
                                       const std::int32_t* incumbents, int num_incumbents);

// Exact acquisition values of given points (no pruning, no fantasies); used
// by tests to check the maximiser against brute force.
std::vector<double> score_points(const DiscreteSpace& space, const AcquisitionModels& models,
                                 const AcquisitionOptions& options, const std::int32_t* points, int count);

}  // namespace hh
