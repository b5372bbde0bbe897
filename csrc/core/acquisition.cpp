// Acquisition functions and the pruned discrete maximiser. See
// acquisition.hpp for the contract; the outline of maximize_acquisition:
//
//  1. sample a uniform pool (space.sample(options.seed, pool_size)), drop
//     excluded points and duplicates;
//  2. for every candidate compute, in fixed-size chunks in parallel, the exact
//     posterior mean of each model and an upper bound on the objective's
//     posterior variance: the variance given only the kSubset training points
//     with the largest single-point reductions k(x,x_j)^2 / (s2 + noise_j)
//     (conditioning on a subset leaves at least as much variance as
//     conditioning on all of them; subset_reduction); every acquisition here
//     is increasing in sigma, so acquisition(mean, var_bound) bounds the
//     score from above;
//  3. keep all candidates in a max-heap keyed by that bound (or, once known,
//     the exact score) and compute exact variances (one triangular solve,
//     O(N^2), batched) only for candidates that reach the top: exact argmax,
//     few solves (lazy greedy);
//  4. hill-climb (best improvement over single-step neighbours) from the
//     best pool points and from the incumbents, all climbs in lock step so
//     their solves batch together; neighbours get a second, much tighter
//     bound from the current point's solve (tighten_neighbour_bounds);
//  5. fill the batch by kriging believer: each pick becomes a fantasy
//     observation at its posterior mean. Means do not change; variances
//     shrink by rank-1 updates, applied lazily: a stale exact score is still
//     an upper bound, so only candidates that reach the heap top are updated.
//
// Determinism: the pool comes from the space's own RNG, and every parallel
// step splits its work into chunks whose boundaries do not depend on the
// thread count; each chunk writes only its own outputs and every reduction
// (heap order, ties by candidate id, thresholds) runs serially.
#include "acquisition.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "blas.hpp"
#include "matern.hpp"
#include "threading.hpp"

// Build with -DHH_ACQ_PROFILE to print a per-phase time breakdown to stderr.
#ifdef HH_ACQ_PROFILE
#include <chrono>
#include <cstdio>
#define HH_PHASE(name)                                                                                      \
  do {                                                                                                      \
    const double hh_now =                                                                                   \
        std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();         \
    if (name[0] != '^')                                                                                     \
      std::fprintf(stderr, "  %-8s %8.4fs  exact %lld (%lld calls)  catch-ups %lld (%lld calls)\n", name,   \
                   hh_now - phase_time_, exact_evaluations_, evaluate_calls_, catch_ups_, catch_up_calls_); \
    phase_time_ = hh_now;                                                                                   \
  } while (0)
#else
#define HH_PHASE(name) \
  do {                 \
  } while (0)
#endif

namespace hh {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kInvSqrt2Pi = 0.398942280401432677939946;  // 1/sqrt(2 pi)
constexpr double kLogSqrt2Pi = 0.918938533204672741780330;  // log sqrt(2 pi)
constexpr double kInvSqrt2 = 0.707106781186547524400844;

// h(z) = phi(z) + z Phi(z), so that EI = sigma h((best - mu) / sigma).
// Direct formula: for z > -4 the cancellation between phi and z Phi costs at
// most a factor ~20 in relative accuracy (checked against mpmath).
inline double h_direct(double z) {
  const double phi = kInvSqrt2Pi * std::exp(-0.5 * z * z);
  const double Phi = 0.5 * std::erfc(-z * kInvSqrt2);
  return phi + z * Phi;
}

// log h(z), stable for all z. For z <= -4 (t = -z >= 4) write the Mills ratio
// R(t) = Phi(-t)/phi(t) as Laplace's continued fraction
//   R = 1/d0, d0 = t + 1/d1, d1 = t + 2/d2, d2 = t + 3/d3, ...
// Then h(z)/phi(z) = 1 - t R = (1/d1) R = 1/(d0 d1) exactly, with no
// cancellation (this is the quantity Ament et al. 2023 compute as
// log1mexp(log(erfcx(t/sqrt2) t) + log(pi/2)/2), which cancels as t grows).
// The truncation depths give < 2e-16 relative error in log h (vs mpmath) on
// each interval; the error shrinks quickly as t grows.
inline double log_h(double z) {
  if (z > -4.0) return std::log(h_direct(z));
  const double t = -z;
  const int depth = t < 5.0 ? 48 : t < 6.0 ? 28 : t < 8.0 ? 24 : t < 12.0 ? 18 : 12;
  double d = t;
  for (int n = depth; n >= 2; --n) d = t + n / d;
  const double d1 = d;
  const double d0 = t + 1.0 / d1;
  return -0.5 * z * z - kLogSqrt2Pi - std::log(d0) - std::log(d1);
}

inline double ucb_value(double mean, double variance, double beta) {
  return beta * (variance > 0.0 ? std::sqrt(variance) : 0.0) - mean;
}

}  // namespace

double log_expected_improvement(double mean, double variance, double best) {
  if (std::isnan(mean) || std::isnan(variance) || std::isnan(best)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  const double improvement = best - mean;
  if (variance > 0.0) {
    const double sigma = std::sqrt(variance);
    const double z = improvement / sigma;
    if (std::isfinite(z)) return std::log(sigma) + log_h(z);
  }
  // No variance (or sigma negligible next to the gap): EI = max(best - mu, 0),
  // so log EI is -inf where no improvement is possible. The bindings pass
  // -inf through; the maximiser orders it below every finite score.
  return improvement > 0.0 ? std::log(improvement) : -kInf;
}

double expected_improvement(double mean, double variance, double best) {
  if (std::isnan(mean) || std::isnan(variance) || std::isnan(best)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  const double improvement = best - mean;
  if (variance > 0.0) {
    const double sigma = std::sqrt(variance);
    const double z = improvement / sigma;
    if (std::isfinite(z)) {
      return z > -4.0 ? sigma * h_direct(z) : std::exp(std::log(sigma) + log_h(z));
    }
  }
  return improvement > 0.0 ? improvement : 0.0;
}

double lower_confidence_bound_score(double mean, double variance, double beta) {
  return ucb_value(mean, variance, beta);
}

namespace {

template <typename F>
void pointwise(const double* mean, const double* variance, int count, double best, double* out,
               const char* who, F f) {
  auto require_finite = [&](bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(std::string(who) + ": " + what + " contains NaN or inf");
  };
  require_finite(std::isfinite(best), "best");
  for (int i = 0; i < count; ++i) {
    require_finite(std::isfinite(mean[i]), "mean");
    require_finite(std::isfinite(variance[i]), "variance");
  }
  for (int i = 0; i < count; ++i) out[i] = f(mean[i], variance[i], best);
}

}  // namespace

void log_expected_improvement(const double* mean, const double* variance, int count, double best,
                              double* out) {
  pointwise(mean, variance, count, best, out, "log_expected_improvement",
            [](double m, double v, double b) { return log_expected_improvement(m, v, b); });
}

void expected_improvement(const double* mean, const double* variance, int count, double best, double* out) {
  pointwise(mean, variance, count, best, out, "expected_improvement",
            [](double m, double v, double b) { return expected_improvement(m, v, b); });
}

namespace {

// The acquisition value from a point's objective mean/variance and the other
// models' means. Increasing in the variance for every kind (UCB needs beta >=
// 0, checked), which is what makes a variance upper bound a score bound.
struct Scorer {
  AcquisitionKind kind = AcquisitionKind::LogEI;
  double best = 0.0;
  double beta = 2.0;

  // cost: the cost model's mean (log seconds), 0 without one; feasibility:
  // the clipped feasibility mean, 1 without one.
  double operator()(double mean, double variance, double cost, double feasibility) const {
    double s;
    switch (kind) {
      case AcquisitionKind::LogEI:
        s = log_expected_improvement(mean, variance, best) + std::log(feasibility);
        break;
      case AcquisitionKind::LogEIPerCost:
        s = log_expected_improvement(mean, variance, best) - cost + std::log(feasibility);
        break;
      case AcquisitionKind::EI:
        s = expected_improvement(mean, variance, best) * feasibility;
        break;
      case AcquisitionKind::UCB:
      default:
        // Feasibility and cost do not enter UCB (it is not a probability-
        // weighted quantity); see acquisition.hpp.
        s = ucb_value(mean, variance, beta);
        break;
    }
    return std::isnan(s) ? -kInf : s;
  }
};

void require(bool condition, const std::string& message) {
  if (!condition) throw std::invalid_argument("acquisition: " + message);
}

// The checks that need the space and the models (validate() has the rest).
void check_inputs(const DiscreteSpace& space, const AcquisitionModels& models,
                  const AcquisitionOptions& options) {
  validate(options);
  require(models.objective != nullptr, "the objective model is required");
  const GaussianProcess* all[] = {models.objective, models.cost, models.feasibility};
  const char* names[] = {"objective", "cost", "feasibility"};
  for (int i = 0; i < 3; ++i) {
    require(!all[i] || all[i]->dim() == space.num_features(),
            std::string("the ") + names[i] + " model has dim " + std::to_string(all[i] ? all[i]->dim() : 0) +
                " but the space has " + std::to_string(space.num_features()) + " features");
  }
  require(options.kind != AcquisitionKind::LogEIPerCost || models.cost,
          "kind LogEIPerCost (log_ei_per_cost) needs a cost model");
}

// The feasibility model's mean as a probability in [floor, 1] (NaN: floor).
double clip_feasibility(double f, double floor) {
  return std::isnan(f) ? floor : std::min(1.0, std::max(floor, f));
}

// Number of training rows a GP holds.
int rows_of(const GaussianProcess& gp) {
  return gp.dim() > 0 ? static_cast<int>(gp.training_inputs().size() / gp.dim()) : 0;
}

// Per-thread scratch, reused across chunks and calls.
std::vector<double>& scratch(int which) {
  thread_local std::vector<double> buffers[3];
  return buffers[which];
}

// Dot product with four accumulators (a fixed summation order, so results do
// not depend on threads; four chains instead of one latency-bound chain).
double dot(const double* a, const double* b, int n) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

// Open-addressing map from point (index vector) to candidate id.
class CandidateIndex {
 public:
  CandidateIndex(const DiscreteSpace& space, const std::vector<std::int32_t>& points)
      : space_(space), points_(points), nd_(space.num_dims()) {
    slots_.assign(1024, Slot{});
  }
  void reserve(std::size_t count) {
    std::size_t cap = slots_.size();
    while (cap < 2 * count) cap *= 2;
    if (cap != slots_.size()) rehash(cap);
  }
  // Id of the candidate at `point` or -1; *hash receives the point's hash.
  int find(const std::int32_t* point, std::uint64_t* hash) const {
    const std::uint64_t h = space_.hash(point);
    if (hash) *hash = h;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.hash == h && std::memcmp(points_.data() + static_cast<std::size_t>(s.id) * nd_, point,
                                     sizeof(std::int32_t) * nd_) == 0) {
        return s.id;
      }
    }
  }
  // Registers candidate `id` with the hash find() returned (not present yet).
  void insert(int id, std::uint64_t hash) {
    if (2 * (count_ + 1) > slots_.size()) rehash(2 * slots_.size());
    place(Slot{hash, id});
    ++count_;
  }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    int id = -1;
  };
  void place(const Slot& slot) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = slot.hash & mask;
    while (slots_[i].id >= 0) i = (i + 1) & mask;
    slots_[i] = slot;
  }
  void rehash(std::size_t capacity) {
    std::vector<Slot> old(capacity);
    old.swap(slots_);
    for (const Slot& s : old) {
      if (s.id >= 0) place(s);
    }
  }
  const DiscreteSpace& space_;
  const std::vector<std::int32_t>& points_;
  int nd_;
  std::vector<Slot> slots_;
  std::size_t count_ = 0;
};

// Chunk sizes: fixed (thread-count independent) for determinism.
constexpr int kBoundChunk = 256;  // rows per task in the mean/bound pass
constexpr int kExactChunk =
    32;  // rows per triangular-solve task (DTRSM is ~2x faster per row at 32 rows than at 16 here)
constexpr int kMaxBlock = 512;    // most exact evaluations per round
constexpr int kTightChunk = 64;   // rows per task when tightening bounds
constexpr int kTightBlock = 256;  // most bounds tightened per round
// Training points conditioned on in the variance bound (subset_reduction).
// Measured on the D=20 benchmark (top-16, pools 1e4 / 1e5): the single most
// informative point alone left 65% of a 1e5 pool at N=3000 to exact solves,
// 8 points 5%, 16 points 0.7%; 16 costs ~4 us per candidate (O(k^2 D + k^3)),
// 32 more than it saves.
constexpr int kSubset = 16;

// The maximiser's state. Every candidate has a key: its score bound while
// unevaluated, else its exact score after the fantasies applied to it so far
// ("stale" when later picks were fantasised since: still an upper bound, as
// variances only shrink). A max-heap on keys drives everything (lazy greedy):
// the top is the argmax once it is evaluated and fresh.
class Maximizer {
 public:
  Maximizer(const DiscreteSpace& space, const AcquisitionModels& models, const AcquisitionOptions& options,
            const PointSet* exclude)
      : space_(space),
        models_(models),
        options_(options),
        exclude_(exclude),
        nd_(space.num_dims()),
        nf_(space.num_features()),
        threads_(resolve_threads(options.threads)),
        index_(space, points_) {
    scorer_.kind = options.kind;
    scorer_.best = options.best;
    scorer_.beta = options.ucb_beta;
    const GaussianProcess& gp = *models.objective;
    n_ = rows_of(gp);
    s2_ = gp.prior_variance();
    obj_ = model_view(&gp);
    if (models.cost) cost_ = model_view(models.cost);
    if (models.feasibility) feas_ = model_view(models.feasibility);
    inv_ = noise_inverse(gp);
    scale_training_inputs(gp);
    // Slack on the bound: the exact variance is computed as s2 - |v|^2 and
    // can exceed the true value by rounding; the bound must not fall below
    // the computed exact value or pruning could skip a (near-tied) winner.
    slack_ = 1e-9 * s2_;
    // The same floor as GaussianProcess::predict, so score_points agrees.
    var_floor_ = 1e-12 * s2_;
  }

  AcquisitionResult run(const std::int32_t* incumbents, int num_incumbents) {
    HH_PHASE("^");
    // 1. Pool, without excluded points and duplicates.
    if (options_.pool_size > 0) {
      const std::vector<std::int32_t> pool = make_pool();
      const int count = static_cast<int>(pool.size() / nd_);
      // A hint only: room for the climbs' neighbours, bounded by the pool.
      const std::size_t climbs = static_cast<std::size_t>(options_.local_starts) + num_incumbents + 1;
      reserve(count + std::min<std::size_t>(64 * climbs, count + 1024));
      const int first = size();
      for (int i = 0; i < count; ++i) find_or_add(pool.data() + static_cast<std::size_t>(i) * nd_);
      HH_PHASE("pool");
      score_bounds(first, size() - first);
      HH_PHASE("bounds");
    }
    // Incumbents: climb starts even when excluded (already observed).
    std::vector<int> incumbent_ids;
    {
      const int first = size();
      for (int i = 0; i < num_incumbents; ++i) {
        const std::int32_t* p = incumbents + static_cast<std::size_t>(i) * nd_;
        std::uint64_t h;
        int id = index_.find(p, &h);
        if (id < 0) id = add(p, h, !(exclude_ && exclude_->contains(p)));
        incumbent_ids.push_back(id);
      }
      score_bounds(first, size() - first);
    }

    // 3. Exact top-`local_starts` (at least the argmax) of the pool.
    const std::vector<int> top = top_exact(std::max(1, options_.local_starts));
    HH_PHASE("top");

    // 4. Hill-climbs.
    if (options_.local_max_steps > 0) {
      std::vector<int> starts(top.begin(),
                              top.begin() + std::min<std::size_t>(top.size(), options_.local_starts));
      for (int id : incumbent_ids) {
        if (std::find(starts.begin(), starts.end(), id) == starts.end()) starts.push_back(id);
      }
      climb(starts);
    }
    HH_PHASE("climb");

    // 5. Kriging-believer batch.
    AcquisitionResult result;
    for (int b = 0; b < options_.batch_size; ++b) {
      const int p = pick();
      if (p < 0) break;  // no eligible candidate left
      picked_[p] = 1;
      result.points.insert(result.points.end(), row(p), row(p) + nd_);
      result.scores.push_back(score_[p]);
      result.means.push_back(mean_[p]);
      result.variances.push_back(var_[p]);
      if (b + 1 < options_.batch_size) fantasise(p);
    }
    HH_PHASE("batch");
    result.candidates_scored = candidates_scored_;
    result.exact_evaluations = exact_evaluations_;
    return result;
  }

 private:
  // The pool: every point when the space has at most pool_size of them
  // (sampling would only repeat points), else pool_size uniform samples.
  std::vector<std::int32_t> make_pool() const {
    const std::int64_t size = space_.size_capped(options_.pool_size);
    if (size > options_.pool_size) return space_.sample(options_.seed, options_.pool_size);
    std::vector<std::int32_t> pool(static_cast<std::size_t>(size) * nd_);
    for (std::int64_t i = 0; i < size; ++i) space_.point_at(i, pool.data() + i * nd_);
    return pool;
  }

  // Rows per chunk of work: `preferred`, fewer when the features are so wide
  // that a chunk's feature block would exceed kChunkFeatures doubles (one
  // hot categorical with many levels). Depends only on the space, never on
  // the thread count.
  int chunk_rows(int preferred) const {
    constexpr int kChunkFeatures = 1 << 20;  // 8 MB of features per chunk
    return std::max(1, std::min(preferred, kChunkFeatures / std::max(1, nf_)));
  }

  struct ModelView {
    const GaussianProcess* gp = nullptr;
    int n = 0;
    double mean0 = 0.0;
  };

  static ModelView model_view(const GaussianProcess* gp) {
    ModelView v;
    v.gp = gp;
    v.n = rows_of(*gp);
    v.mean0 = gp->hyperparameters().mean;
    return v;
  }

  // 1 / (K + noise + jitter)_jj for each training point, read off the
  // Cholesky factor as the squared norm of row j (so per-point noise and any
  // jitter the factorisation added are both included).
  static std::vector<double> noise_inverse(const GaussianProcess& gp) {
    const int n = rows_of(gp);
    const std::vector<double>& chol = gp.cholesky();
    std::vector<double> inv(n);
    for (int j = 0; j < n; ++j) {
      const double* l = chol.data() + static_cast<std::size_t>(j) * n;
      inv[j] = 1.0 / std::max(dot(l, l, j + 1), gp.prior_variance());
    }
    return inv;
  }

  // Training inputs divided by the lengthscales (for the subset bound's small
  // Gram matrices), and an absolute error bound on the full model's Gram
  // entries: it builds them with the distance trick |a|^2 + |b|^2 - 2 a.b on
  // centred inputs, which loses ~eps (|a|^2 + |b|^2) in r^2, and dk/dr^2 is
  // at most 5/6 s2 in magnitude.
  void scale_training_inputs(const GaussianProcess& gp) {
    const int n = n_, d = nf_;
    if (n == 0) return;
    const std::vector<double>& x = gp.training_inputs();
    const std::vector<double>& l = gp.hyperparameters().lengthscales;
    scaled_x_.resize(static_cast<std::size_t>(n) * d);
    scaled_sq_.resize(n);
    std::vector<double> centre(d, 0.0);
    for (int j = 0; j < n; ++j) {
      for (int c = 0; c < d; ++c) centre[c] += x[static_cast<std::size_t>(j) * d + c];
    }
    double max_sq = 0.0;
    for (int j = 0; j < n; ++j) {
      double sq = 0.0;
      for (int c = 0; c < d; ++c) {
        const double v = x[static_cast<std::size_t>(j) * d + c];
        const double u = (v - centre[c] / n) / l[c];
        scaled_x_[static_cast<std::size_t>(j) * d + c] = u;
        sq += u * u;
      }
      scaled_sq_[j] = sq;
      max_sq = std::max(max_sq, sq);
    }
    gram_error_ = 16.0 * std::numeric_limits<double>::epsilon() * s2_ * (2.0 * max_sq + 1.0);
  }

  // A lower bound on the variance reduction k^T (K + noise)^-1 k of a
  // candidate, from its cross-covariance row k (length n_): the reduction
  // given only the subset S of the kSubset training points with the largest
  // single-point reductions k_j^2 / A_jj (A = K + noise + jitter, A_jj read
  // off the factor as in noise_inverse, so S's noise is the full model's).
  // Computed as the Rayleigh quotient (w.k_S)^2 / (w^T A_SS w) with w = A_SS^-1
  // k_S from a small Cholesky: that is a lower bound for ANY w, so an
  // inaccurate solve only loosens it; the rounding of the two quotients and
  // the gap between our A_SS and the full model's (gram_error_) are bounded
  // explicitly and taken off. Never below the single-point reduction (its
  // fallback when the small problem is ill-conditioned).
  double subset_reduction(const double* k) const {
    const int n = n_;
    const int s = std::min(kSubset, n);
    int idx[kSubset];
    double key[kSubset];
    // Partial selection, descending: one compare per entry once full.
    int filled = 0;
    double threshold = -1.0;
    for (int j = 0; j < n; ++j) {
      const double a = k[j] * k[j] * inv_[j];
      if (!(a > threshold)) continue;  // also skips NaN
      int p = filled < s ? filled++ : s - 1;
      while (p > 0 && key[p - 1] < a) {
        key[p] = key[p - 1];
        idx[p] = idx[p - 1];
        --p;
      }
      key[p] = a;
      idx[p] = j;
      if (filled == s) threshold = key[s - 1];
    }
    if (filled == 0) return 0.0;
    const double single = key[0];
    if (filled < 2 || !std::isfinite(single)) return single;
    const int m = filled;
    double A[kSubset][kSubset], L[kSubset][kSubset], ks[kSubset], w[kSubset], sq[kSubset];
    // A_SS as the full model builds K (distance trick on centred inputs, the
    // vectorised Matern row), with the factor's diagonal.
    for (int a = 0; a < m; ++a) {
      ks[a] = k[idx[a]];
      sq[a] = scaled_sq_[idx[a]];
      const double* xa = scaled_x_.data() + static_cast<std::size_t>(idx[a]) * nf_;
      for (int b = 0; b < a; ++b)
        A[a][b] = dot(xa, scaled_x_.data() + static_cast<std::size_t>(idx[b]) * nf_, nf_);
      if (a > 0) matern::kernel_row(sq[a], sq, A[a], a, s2_);
      for (int b = 0; b < a; ++b) A[b][a] = A[a][b];
      A[a][a] = 1.0 / inv_[idx[a]];
    }
    // Cholesky A = L L^T and w = A^-1 k_S.
    for (int a = 0; a < m; ++a) {
      for (int b = 0; b <= a; ++b) {
        double t = A[a][b];
        for (int c = 0; c < b; ++c) t -= L[a][c] * L[b][c];
        if (a == b) {
          if (!(t > 0.0)) return single;
          L[a][a] = std::sqrt(t);
        } else {
          L[a][b] = t / L[b][b];
        }
      }
    }
    for (int a = 0; a < m; ++a) {
      double t = ks[a];
      for (int c = 0; c < a; ++c) t -= L[a][c] * w[c];
      w[a] = t / L[a][a];
    }
    for (int a = m - 1; a >= 0; --a) {
      double t = w[a];
      for (int c = a + 1; c < m; ++c) t -= L[c][a] * w[c];
      w[a] = t / L[a][a];
    }
    double wk = 0.0, wk_abs = 0.0, w1 = 0.0, den = 0.0, den_abs = 0.0;
    for (int a = 0; a < m; ++a) {
      wk += w[a] * ks[a];
      wk_abs += std::abs(w[a] * ks[a]);
      w1 += std::abs(w[a]);
      double t = 0.0, t_abs = 0.0;
      for (int b = 0; b < m; ++b) {
        t += A[a][b] * w[b];
        t_abs += std::abs(A[a][b] * w[b]);
      }
      den += w[a] * t;
      den_abs += std::abs(w[a]) * t_abs;
    }
    if (!(den > 0.0) || !(wk_abs > 0.0) || !std::isfinite(den) || !std::isfinite(wk)) return single;
    // Relative error of the quotient: summation rounding (~m eps of the
    // absolute sums) and the Gram entries' error, with a factor 4 to spare.
    const double eps = std::numeric_limits<double>::epsilon();
    const double rel = 4.0 * (2.0 * (m + 2) * eps * wk_abs / std::abs(wk) +
                              ((m + 2) * eps * den_abs + gram_error_ * w1 * w1) / den);
    if (!(rel < 0.5)) return single;
    return std::max(single, wk * wk / den * (1.0 - rel));
  }

  int size() const { return static_cast<int>(mean_.size()); }
  const std::int32_t* row(int id) const { return points_.data() + static_cast<std::size_t>(id) * nd_; }
  int fantasies() const { return static_cast<int>(pick_d_.size()); }
  bool evaluated(int id) const { return slot_[id] >= 0; }
  bool fresh(int id) const { return static_cast<int>(vstore_[slot_[id]].size()) == n_ + fantasies(); }
  double key(int id) const { return evaluated(id) ? score_[id] : ub_[id]; }

  void reserve(std::size_t count) {
    points_.reserve(count * nd_);
    for (auto* v : {&mean_, &cost_mean_, &feasibility_, &ub_, &var_, &score_}) v->reserve(count);
    tight_.reserve(count);
    slot_.reserve(count);
    eligible_.reserve(count);
    picked_.reserve(count);
    index_.reserve(count);
    heap_.reserve(count + 1024);
  }

  int add(const std::int32_t* p, std::uint64_t hash, bool eligible) {
    const int id = size();
    points_.insert(points_.end(), p, p + nd_);
    mean_.push_back(0.0);
    cost_mean_.push_back(0.0);
    feasibility_.push_back(1.0);
    ub_.push_back(kInf);
    var_.push_back(-1.0);
    score_.push_back(-kInf);
    slot_.push_back(-1);
    tight_.push_back(0);
    eligible_.push_back(eligible ? 1 : 0);
    picked_.push_back(0);
    index_.insert(id, hash);
    return id;
  }

  // Id of p, adding it as a new eligible candidate unless it is excluded
  // (then -1).
  int find_or_add(const std::int32_t* p) {
    std::uint64_t h;
    const int id = index_.find(p, &h);
    if (id >= 0) return id;
    if (exclude_ && exclude_->contains(p)) return -1;
    return add(p, h, true);
  }

  // Step 2 for candidates [first, first + count): means of every model, the
  // variance bound and the score bound. Eligible ones enter the heap.
  void score_bounds(int first, int count) {
    if (count <= 0) return;
    const int chunk = chunk_rows(kBoundChunk);
    const int tasks = (count + chunk - 1) / chunk;
    parallel_for(tasks, threads_, [&](int task, int /*worker*/) {
      const int begin = first + task * chunk;
      const int m = std::min(chunk, first + count - begin);
      std::vector<double>& feat = scratch(0);
      feat.resize(static_cast<std::size_t>(m) * nf_);
      space_.features(row(begin), m, feat.data());
      std::vector<double> var_bound(m);
      // Objective: mean and variance bound from one cross-covariance block.
      const int n = obj_.n;
      if (n > 0) {
        std::vector<double>& kx = scratch(1);
        kx.resize(static_cast<std::size_t>(m) * n);
        obj_.gp->cross_covariance(feat.data(), m, kx.data());
        // Mean (k . alpha) and single-point bound in one pass over each row.
        const double* alpha = obj_.gp->alpha().data();
        for (int i = 0; i < m; ++i) {
          double reduction;
          matern::row_dot_and_max_weighted_square(kx.data() + static_cast<std::size_t>(i) * n, alpha,
                                                  inv_.data(), n, &mean_[begin + i], &reduction);
          var_bound[i] = std::min(s2_, std::max(var_floor_, s2_ - reduction) + slack_);
        }
      } else {
        for (int i = 0; i < m; ++i) {
          mean_[begin + i] = 0.0;
          var_bound[i] = s2_;
        }
      }
      for (int i = 0; i < m; ++i) mean_[begin + i] += obj_.mean0;
      if (cost_.gp) model_means(cost_, feat.data(), m, cost_mean_.data() + begin);
      if (feas_.gp) {
        model_means(feas_, feat.data(), m, feasibility_.data() + begin);
        for (int i = 0; i < m; ++i) {
          double& f = feasibility_[begin + i];
          f = clip_feasibility(f, options_.feasibility_floor);
        }
      }
      for (int i = 0; i < m; ++i) {
        const int id = begin + i;
        ub_[id] = scorer_(mean_[id], var_bound[i], cost_mean_[id], feasibility_[id]);
      }
    });
    candidates_scored_ += count;
    for (int id = first; id < first + count; ++id) {
      if (eligible_[id]) heap_push(id);
    }
  }

  static void model_means(const ModelView& mv, const double* feat, int m, double* out) {
    if (mv.n > 0) {
      std::vector<double>& kx = scratch(2);
      kx.resize(static_cast<std::size_t>(m) * mv.n);
      mv.gp->cross_covariance(feat, m, kx.data());
      scipy_cblas_dgemv(blas::RowMajor, blas::NoTrans, m, mv.n, 1.0, kx.data(), mv.n, mv.gp->alpha().data(),
                        1, 0.0, out, 1);
    } else {
      std::fill(out, out + m, 0.0);
    }
    for (int i = 0; i < m; ++i) out[i] += mv.mean0;
  }

  // Brings v = L^-1 k of candidates up to date with the fantasies: for each
  // fantasy j it has not seen, append e = (k(x, p_j) - v . v_pj) / d_j and
  // subtract e^2 from the variance (rank-1 update of the extended factor,
  // whose row for p_j is [v_pj, d_j]). kp holds k(x, p_j) for all j.
  void apply_fantasies(int id, const double* kp) {
    std::vector<double>& v = vstore_[slot_[id]];
    for (int j = static_cast<int>(v.size()) - n_; j < fantasies(); ++j) {
      const std::vector<double>& vp = pick_v_[j];
      const double e = (kp[j] - dot(v.data(), vp.data(), static_cast<int>(vp.size()))) / pick_d_[j];
      v.push_back(e);
      var_[id] = std::max(var_floor_, var_[id] - e * e);
    }
    score_[id] = scorer_(mean_[id], var_[id], cost_mean_[id], feasibility_[id]);
  }

  // Cross-covariances of m candidates' features with the fantasised picks.
  void pick_covariances(const double* feat, int m, std::vector<double>* out) const {
    out->resize(static_cast<std::size_t>(m) * fantasies());
    if (fantasies() > 0) picks_gp_->cross_covariance(feat, m, out->data());
  }

  // Stage 2 of the bounds: replaces the single-point bound of the given
  // unevaluated candidates by the subset bound (subset_reduction; their
  // cross-covariance rows are recomputed, O(N D) each, not kept from
  // score_bounds) and puts them back on the heap (`popped`: they were taken
  // off it; else only those whose key dropped get a new entry, so that no
  // candidate has two live entries). The new bound is never looser
  // (subset_reduction is at least the single-point reduction).
  void tighten(const std::vector<int>& ids, bool popped) {
    if (ids.empty()) return;
    const int count = static_cast<int>(ids.size());
    const int n = n_;
    std::vector<double> before(count);
    for (int i = 0; i < count; ++i) before[i] = ub_[ids[i]];
    if (n > 0) {
      const int chunk = chunk_rows(kTightChunk);
      const int tasks = (count + chunk - 1) / chunk;
      parallel_for(tasks, threads_, [&](int task, int /*worker*/) {
        const int begin = task * chunk;
        const int m = std::min(chunk, count - begin);
        std::vector<double>& feat = scratch(0);
        std::vector<double>& kx = scratch(1);
        feat.resize(static_cast<std::size_t>(m) * nf_);
        for (int i = 0; i < m; ++i)
          space_.features(row(ids[begin + i]), 1, feat.data() + static_cast<std::size_t>(i) * nf_);
        kx.resize(static_cast<std::size_t>(m) * n);
        obj_.gp->cross_covariance(feat.data(), m, kx.data());
        for (int i = 0; i < m; ++i) {
          const int id = ids[begin + i];
          const double reduction = subset_reduction(kx.data() + static_cast<std::size_t>(i) * n);
          const double var = std::min(s2_, std::max(var_floor_, s2_ - reduction) + slack_);
          ub_[id] = std::min(ub_[id], scorer_(mean_[id], var, cost_mean_[id], feasibility_[id]));
        }
      });
    }
    tightenings_ += count;
    for (int i = 0; i < count; ++i) {
      const int id = ids[i];
      tight_[id] = 1;
      if (eligible_[id] && !picked_[id] && (popped || ub_[id] < before[i])) heap_push(id);
    }
  }

  // Exact variance and score of the given (unevaluated) candidates under the
  // current model, fantasies included; they re-enter the heap with it.
  void evaluate(const std::vector<int>& ids) {
    if (ids.empty()) return;
    ++evaluate_calls_;
    for (int id : ids) {
      slot_[id] = static_cast<int>(vstore_.size());
      vstore_.emplace_back();
    }
    const int count = static_cast<int>(ids.size());
    const int chunk = chunk_rows(kExactChunk);
    const int tasks = (count + chunk - 1) / chunk;
    const int n = n_, r = fantasies();
    parallel_for(tasks, threads_, [&](int task, int /*worker*/) {
      const int begin = task * chunk;
      const int m = std::min(chunk, count - begin);
      std::vector<double>& feat = scratch(0);
      std::vector<double>& kx = scratch(1);
      std::vector<double>& kp = scratch(2);
      feat.resize(static_cast<std::size_t>(m) * nf_);
      for (int i = 0; i < m; ++i)
        space_.features(row(ids[begin + i]), 1, feat.data() + static_cast<std::size_t>(i) * nf_);
      kx.resize(static_cast<std::size_t>(m) * n);
      if (n > 0) {
        obj_.gp->cross_covariance(feat.data(), m, kx.data());
        obj_.gp->solve_lower_rows(kx.data(), m);
      }
      pick_covariances(feat.data(), m, &kp);
      for (int i = 0; i < m; ++i) {
        const int id = ids[begin + i];
        const double* v = kx.data() + static_cast<std::size_t>(i) * n;
        std::vector<double>& store = vstore_[slot_[id]];
        // Room for the fantasies this candidate may still see (bounded: a
        // huge batch_size must not reserve memory per candidate).
        store.reserve(static_cast<std::size_t>(n) + std::min(options_.batch_size, 64));
        store.assign(v, v + n);
        var_[id] = std::max(var_floor_, s2_ - dot(v, v, n));
        apply_fantasies(id, kp.data() + static_cast<std::size_t>(i) * r);
      }
    });
    exact_evaluations_ += count;
    for (int id : ids) {
      if (eligible_[id] && !picked_[id]) heap_push(id);
    }
  }

  // Applies missed fantasies to evaluated candidates; they re-enter the heap.
  void catch_up(const std::vector<int>& ids) {
    if (ids.empty()) return;
    catch_ups_ += static_cast<long long>(ids.size());
    ++catch_up_calls_;
    const int count = static_cast<int>(ids.size());
    const int chunk = chunk_rows(kBoundChunk);
    const int tasks = (count + chunk - 1) / chunk;
    const int r = fantasies();
    parallel_for(tasks, threads_, [&](int task, int /*worker*/) {
      const int begin = task * chunk;
      const int m = std::min(chunk, count - begin);
      std::vector<double>& feat = scratch(0);
      std::vector<double>& kp = scratch(2);
      feat.resize(static_cast<std::size_t>(m) * nf_);
      for (int i = 0; i < m; ++i)
        space_.features(row(ids[begin + i]), 1, feat.data() + static_cast<std::size_t>(i) * nf_);
      pick_covariances(feat.data(), m, &kp);
      for (int i = 0; i < m; ++i)
        apply_fantasies(ids[begin + i], kp.data() + static_cast<std::size_t>(i) * r);
    });
    for (int id : ids) heap_push(id);
  }

  // Max-heap on (key, lower id first). Entries go stale when a candidate's
  // key changes (it is pushed again); stale entries are dropped on the way.
  struct Entry {
    double key;
    int id;
  };
  static bool heap_less(const Entry& a, const Entry& b) {
    if (a.key != b.key) return a.key < b.key;
    return a.id > b.id;
  }
  void heap_push(int id) {
    heap_.push_back(Entry{key(id), id});
    std::push_heap(heap_.begin(), heap_.end(), heap_less);
  }
  void heap_pop() {
    std::pop_heap(heap_.begin(), heap_.end(), heap_less);
    heap_.pop_back();
  }
  // The id at the top of the heap (not removed), or -1.
  int heap_top() {
    while (!heap_.empty()) {
      const Entry& e = heap_.front();
      if (!picked_[e.id] && e.key == key(e.id)) return e.id;
      heap_pop();
    }
    return -1;
  }

  // Pops the run of unevaluated candidates at the top of the heap (at most
  // `block`) and evaluates them.
  // Those whose bound is still single-point are only tightened (stage 2).
  // Returns whether any was evaluated.
  bool evaluate_top_run(int block) {
    std::vector<int> batch, loose;
    while (static_cast<int>(batch.size()) < block && static_cast<int>(loose.size()) < kTightBlock) {
      const int id = heap_top();
      if (id < 0 || evaluated(id)) break;
      heap_pop();
      (tight_[id] ? batch : loose).push_back(id);
    }
    tighten(loose, true);
    evaluate(batch);
    return !batch.empty();
  }

  // Without pruning: every candidate evaluated and fresh (brute force).
  void evaluate_everything() {
    std::vector<int> todo, stale;
    for (int id = 0; id < size(); ++id) {
      if (!eligible_[id] || picked_[id]) continue;
      if (!evaluated(id)) {
        todo.push_back(id);
      } else if (!fresh(id)) {
        stale.push_back(id);
      }
    }
    for (std::size_t i = 0; i < todo.size(); i += kMaxBlock) {
      evaluate(std::vector<int>(todo.begin() + i, todo.begin() + std::min(todo.size(), i + kMaxBlock)));
    }
    catch_up(stale);
  }

  // The k best eligible candidates by exact score (before any fantasy).
  std::vector<int> top_exact(int k) {
    if (!options_.prune) evaluate_everything();
    std::vector<int> top;
    int block = kExactChunk;
    while (static_cast<int>(top.size()) < k) {
      const int id = heap_top();
      if (id < 0) break;
      if (evaluated(id)) {
        heap_pop();
        top.push_back(id);
      } else {
        if (evaluate_top_run(block)) block = std::min(2 * block, kMaxBlock);
      }
    }
    for (int id : top) heap_push(id);
    return top;
  }

  // Best eligible, unpicked candidate under the current (fantasised) model.
  // The heap top is the answer once it is evaluated and fresh; until then,
  // pop the run of unevaluated / stale entries above it and update them
  // together (batched solves; the run may overshoot by at most `block`).
  int pick() {
    if (!options_.prune) evaluate_everything();
    int block = kExactChunk;
    std::vector<int> unevaluated, stale, loose;
    for (;;) {
      unevaluated.clear();
      stale.clear();
      loose.clear();
      while (static_cast<int>(unevaluated.size() + stale.size()) < block &&
             static_cast<int>(loose.size()) < kTightBlock) {
        const int id = heap_top();
        if (id < 0) break;
        const bool is_evaluated = evaluated(id);
        if (is_evaluated && fresh(id)) {
          if (unevaluated.empty() && stale.empty() && loose.empty()) {
            heap_pop();
            return id;
          }
          break;
        }
        heap_pop();
        (is_evaluated ? stale : tight_[id] ? unevaluated : loose).push_back(id);
      }
      if (unevaluated.empty() && stale.empty() && loose.empty()) return -1;
      tighten(loose, true);
      evaluate(unevaluated);
      catch_up(stale);
      if (!unevaluated.empty() || !stale.empty()) block = std::min(2 * block, kMaxBlock);
    }
  }

  // Kriging believer: observe p at its posterior mean with the fantasy
  // noise. Means do not change (the fantasy has zero residual); variances
  // are brought up to date lazily (apply_fantasies).
  void fantasise(int p) {
    const GaussianProcess& obj = *models_.objective;
    // GaussianProcess::add_points puts noise + the factor's jitter on the new
    // diagonal; the same here.
    const double noise = obj.noise_of(options_.fantasy_repetitions) + obj.jitter();
    pick_v_.push_back(vstore_[slot_[p]]);
    pick_d_.push_back(std::sqrt(var_[p] + noise));
    std::vector<double> xp(nf_);
    space_.features(row(p), 1, xp.data());
    pick_x_.insert(pick_x_.end(), xp.begin(), xp.end());
    // k(x, p_j) comes from a GP holding the picks as data: its
    // cross_covariance is the objective's kernel by construction.
    if (!picks_gp_) {
      picks_gp_ = std::make_unique<GaussianProcess>(nf_);
      picks_gp_->set_hyperparameters(obj.hyperparameters());
    }
    const std::vector<double> zeros(fantasies(), 0.0);
    picks_gp_->set_data(pick_x_.data(), zeros.data(), nullptr, fantasies());
  }

  struct Climb {
    int cur = -1;
    int steps = 0;
    bool active = true;
    std::vector<int> nbrs;
  };

  // A second variance bound for a climb's neighbours. For any vector w,
  //   k^T A^-1 k >= (w.k)^2 / (w^T A w)      (A = K + noise),
  // so var(x) <= s2 - (w.k_x)^2 / (w^T A w). With w = A^-1 k_c for the climb's
  // current point c, w^T A w = |v_c|^2 and the gap to the exact variance is
  // (k_x - k_c)^T A^-1 (k_x - k_c): small for neighbours (about 4x tighter
  // than the single-point bound in our tests), for one O(N^2) back
  // substitution per climb step and an O(N) dot per neighbour.
  void tighten_neighbour_bounds(const std::vector<Climb>& climbs) {
    const int n = n_;
    if (n == 0) return;
    std::vector<int> active;
    for (std::size_t c = 0; c < climbs.size(); ++c) {
      if (climbs[c].active) active.push_back(static_cast<int>(c));
    }
    std::vector<std::vector<std::pair<int, double>>> proposals(active.size());
    parallel_for(static_cast<int>(active.size()), threads_, [&](int task, int /*worker*/) {
      const Climb& c = climbs[active[task]];
      std::vector<int> open;
      for (int id : c.nbrs) {
        if (!evaluated(id)) open.push_back(id);
      }
      if (open.empty()) return;
      const std::vector<double>& vc = vstore_[slot_[c.cur]];
      const double norm2 = dot(vc.data(), vc.data(), n);
      if (!(norm2 > 0.0)) return;
      std::vector<double> w(vc.begin(), vc.begin() + n);
      scipy_cblas_dtrsv(blas::RowMajor, blas::Lower, blas::Trans, blas::NonUnit, n,
                        obj_.gp->cholesky().data(), n, w.data(), 1);
      std::vector<double>& feat = scratch(0);
      std::vector<double>& kx = scratch(1);
      const int total = static_cast<int>(open.size()), chunk = chunk_rows(kTightChunk);
      for (int begin = 0; begin < total; begin += chunk) {  // bounded feature blocks
        const int m = std::min(chunk, total - begin);
        feat.resize(static_cast<std::size_t>(m) * nf_);
        for (int i = 0; i < m; ++i) {
          space_.features(row(open[begin + i]), 1, feat.data() + static_cast<std::size_t>(i) * nf_);
        }
        kx.resize(static_cast<std::size_t>(m) * n);
        obj_.gp->cross_covariance(feat.data(), m, kx.data());
        for (int i = 0; i < m; ++i) {
          const double b = dot(w.data(), kx.data() + static_cast<std::size_t>(i) * n, n);
          // Larger slack than the single-point bound: w carries the rounding
          // of a triangular solve.
          const double var = std::min(s2_, std::max(var_floor_, s2_ - b * b / norm2) + 1e3 * slack_);
          const int id = open[begin + i];
          proposals[task].emplace_back(id, scorer_(mean_[id], var, cost_mean_[id], feasibility_[id]));
        }
      }
    });
    for (const auto& list : proposals) {
      for (const auto& [id, ub] : list) {
        if (ub < ub_[id] && !evaluated(id)) {
          ub_[id] = ub;
          heap_push(id);
        }
      }
    }
  }

  // Lock-step multi-start hill-climbing with best-improvement moves.
  void climb(const std::vector<int>& starts) {
    // Starts need exact scores (incumbents may not have them yet).
    {
      std::vector<int> need;
      for (int id : starts) {
        if (!evaluated(id) && std::find(need.begin(), need.end(), id) == need.end()) need.push_back(id);
      }
      evaluate(need);
    }
    std::vector<Climb> climbs;
    for (int id : starts) {
      Climb c;
      c.cur = id;
      climbs.push_back(std::move(c));
    }
    std::vector<std::int32_t> nbr_points;
    for (;;) {
      // Drop climbs that reached the same point as an earlier one.
      for (std::size_t a = 0; a < climbs.size(); ++a) {
        if (!climbs[a].active) continue;
        for (std::size_t b = 0; b < a; ++b) {
          if (climbs[b].active && climbs[b].cur == climbs[a].cur) {
            climbs[a].active = false;
            break;
          }
        }
      }
      bool any = false;
      for (auto& c : climbs) any = any || c.active;
      if (!any) return;

      // Neighbours: look up or add (excluded ones are skipped), then bound
      // the new ones in one pass.
      const int first = size();
      for (auto& c : climbs) {
        if (!c.active) continue;
        nbr_points.clear();
        space_.neighbours(row(c.cur), &nbr_points, options_.max_categorical_neighbours, options_.seed);
        c.nbrs.clear();
        const int count = static_cast<int>(nbr_points.size()) / nd_;
        for (int i = 0; i < count; ++i) {
          const int id = find_or_add(nbr_points.data() + static_cast<std::size_t>(i) * nd_);
          if (id >= 0 && eligible_[id]) c.nbrs.push_back(id);
        }
      }
      score_bounds(first, size() - first);
      if (options_.prune) tighten_neighbour_bounds(climbs);

      // Rounds of exact evaluations: each climb asks for its next few
      // neighbours whose bound beats its current threshold.
      constexpr int kPerClimb = 4;
      for (;;) {
        std::vector<int> batch;
        for (auto& c : climbs) {
          if (!c.active) continue;
          double threshold = score_[c.cur];
          std::vector<int> open;
          for (int id : c.nbrs) {
            if (evaluated(id)) {
              threshold = std::max(threshold, score_[id]);
            } else {
              open.push_back(id);
            }
          }
          std::sort(open.begin(), open.end(),
                    [&](int a, int b) { return heap_less(Entry{ub_[b], b}, Entry{ub_[a], a}); });
          int taken = 0;
          for (int id : open) {
            if (taken == kPerClimb) break;
            if (options_.prune && !(ub_[id] > threshold)) break;
            if (std::find(batch.begin(), batch.end(), id) == batch.end()) batch.push_back(id);
            ++taken;
          }
        }
        if (batch.empty()) break;
        // Stage 2 first: single-point bounds are tightened, not evaluated.
        std::vector<int> loose;
        std::size_t kept = 0;
        for (int id : batch) {
          if (tight_[id]) {
            batch[kept++] = id;
          } else {
            loose.push_back(id);
          }
        }
        batch.resize(kept);
        tighten(loose, false);
        evaluate(batch);
      }

      // Move to the best strictly improving neighbour (ties: lowest id).
      for (auto& c : climbs) {
        if (!c.active) continue;
        int best_id = -1;
        double best_s = score_[c.cur];
        for (int id : c.nbrs) {
          if (evaluated(id) &&
              (score_[id] > best_s || (best_id >= 0 && score_[id] == best_s && id < best_id))) {
            best_id = id;
            best_s = score_[id];
          }
        }
        if (best_id < 0) {
          c.active = false;
        } else {
          c.cur = best_id;
          if (++c.steps >= options_.local_max_steps) c.active = false;
        }
      }
    }
  }

  const DiscreteSpace& space_;
  const AcquisitionModels& models_;
  const AcquisitionOptions& options_;
  const PointSet* exclude_;
  const int nd_, nf_, threads_;
  Scorer scorer_;

  ModelView obj_, cost_, feas_;
  std::vector<double> inv_, scaled_x_, scaled_sq_;
  double s2_ = 1.0, slack_ = 0.0, var_floor_ = 0.0, gram_error_ = 0.0;
  int n_ = 0;  // objective training rows

  // Fantasised picks: the extended factor's rows [v_p, d] and p's features.
  std::vector<std::vector<double>> pick_v_;
  std::vector<double> pick_d_, pick_x_;
  std::unique_ptr<GaussianProcess> picks_gp_;

  // Candidate table (struct of arrays).
  std::vector<std::int32_t> points_;
  std::vector<double> mean_, cost_mean_, feasibility_, ub_, var_, score_;
  std::vector<int> slot_;  // index into vstore_, -1 until evaluated
  std::vector<char> eligible_, picked_;
  std::vector<char> tight_;  // bound already tightened with subset_reduction
  CandidateIndex index_;
  std::vector<std::vector<double>> vstore_;
  std::vector<Entry> heap_;

  long long candidates_scored_ = 0, exact_evaluations_ = 0, tightenings_ = 0;
  // Profiling only (HH_ACQ_PROFILE).
  double phase_time_ = 0.0;
  long long catch_ups_ = 0, catch_up_calls_ = 0, evaluate_calls_ = 0;
};

}  // namespace

void validate(const AcquisitionOptions& o) {
  const int kind = static_cast<int>(o.kind);
  require(kind >= 0 && kind <= 3,
          "unknown kind " + std::to_string(kind) + " (0 LogEI, 1 EI, 2 UCB, 3 LogEIPerCost)");
  require(o.kind != AcquisitionKind::UCB || (o.ucb_beta >= 0.0 && std::isfinite(o.ucb_beta)),
          "ucb_beta must be finite and >= 0");
  require(o.kind == AcquisitionKind::UCB || std::isfinite(o.best), "best must be finite");
  auto at_least = [](int value, int min, const char* name) {
    require(value >= min,
            std::string(name) + " must be >= " + std::to_string(min) + ", got " + std::to_string(value));
  };
  at_least(o.batch_size, 1, "batch_size");
  at_least(o.pool_size, 0, "pool_size");
  at_least(o.local_starts, 0, "local_starts");
  at_least(o.local_max_steps, 0, "local_max_steps");
  at_least(o.threads, 0, "threads");
  at_least(o.max_categorical_neighbours, 0, "max_categorical_neighbours");
  require(std::isfinite(o.fantasy_repetitions) && o.fantasy_repetitions > 0.0,
          "fantasy_repetitions must be finite and > 0");
  require(o.feasibility_floor > 0.0 && o.feasibility_floor <= 1.0, "feasibility_floor must be in (0, 1]");
}

AcquisitionResult maximize_acquisition(const DiscreteSpace& space, const AcquisitionModels& models,
                                       const AcquisitionOptions& options, const PointSet* exclude,
                                       const std::int32_t* incumbents, int num_incumbents) {
  check_inputs(space, models, options);
  require(num_incumbents >= 0 && (num_incumbents == 0 || incumbents), "bad incumbents");
  require(!exclude || exclude->num_dims() == space.num_dims(),
          "the exclusion set holds " + std::to_string(exclude ? exclude->num_dims() : 0) +
              "-dimensional points but the space has " + std::to_string(space.num_dims()) + " dimensions");
  // Checked here, before the pool is allocated.
  const std::int64_t pool = std::min<std::int64_t>(options.pool_size, space.size_capped(options.pool_size));
  require(pool <= kMaxPoolSize, "pool_size " + std::to_string(options.pool_size) +
                                    " exceeds the maximum of " + std::to_string(kMaxPoolSize) +
                                    " candidates");
  if (num_incumbents > 0) space.validate(incumbents, num_incumbents);
  use_single_threaded_blas();
  Maximizer m(space, models, options, exclude);
  return m.run(incumbents, num_incumbents);
}

std::vector<double> score_points(const DiscreteSpace& space, const AcquisitionModels& models,
                                 const AcquisitionOptions& options, const std::int32_t* points, int count) {
  check_inputs(space, models, options);
  require(count >= 0, "score_points: count must be >= 0");
  std::vector<double> scores(count);
  if (count == 0) return scores;
  space.validate(points, count);
  const int nf = space.num_features();
  const int threads = resolve_threads(options.threads);
  std::vector<double> feat(static_cast<std::size_t>(count) * nf);
  space.features(points, count, feat.data());
  std::vector<double> mean(count), var(count), cost(count, 0.0), feas(count, 1.0);
  // The GP's own predict: an independent reference for the maximiser's
  // mean / variance arithmetic.
  models.objective->predict(feat.data(), count, mean.data(), var.data(), threads);
  if (models.cost) models.cost->predict_mean(feat.data(), count, cost.data(), threads);
  if (models.feasibility) {
    models.feasibility->predict_mean(feat.data(), count, feas.data(), threads);
    for (double& f : feas) f = clip_feasibility(f, options.feasibility_floor);
  }
  Scorer scorer;
  scorer.kind = options.kind;
  scorer.best = options.best;
  scorer.beta = options.ucb_beta;
  for (int i = 0; i < count; ++i) scores[i] = scorer(mean[i], var[i], cost[i], feas[i]);
  return scores;
}

}  // namespace hh
