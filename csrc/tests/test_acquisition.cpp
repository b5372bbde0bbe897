// Unit tests for the acquisition functions and the pruned maximiser: the
// maximiser is checked against brute force (score_points, which goes through
// GaussianProcess::predict, over full enumerations or the same random pool).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <set>
#include <vector>

#include "acquisition.hpp"
#include "check.hpp"
#include "gp.hpp"
#include "space.hpp"

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// ---------------------------------------------------------------------------
// Pointwise functions.

void test_log_ei_reference() {
  // log h(z), h(z) = phi(z) + z Phi(z), from mpmath at 40 digits. With
  // sigma = 1, best = 0, mean = -z: log EI = log h(z).
  const double ref[][2] = {
      {3.0, 1.0987396653277077727},     {0.5, -0.35982768374506381859},   {0.0, -0.91893853320467274178},
      {-1.0, -2.4851210257126413368},   {-3.999, -11.844629552292603786}, {-4.0, -11.849061577550663111},
      {-4.5, -14.180488381868340313},   {-5.0, -16.744301162660990143},   {-7.0, -29.368107183141277688},
      {-10.0, -55.553122036122355927},  {-20.0, -206.91783850942509785},  {-37.0, -692.64296016327040574},
      {-100.0, -5010.1295788002497923}, {-1000.0, -500014.73445209115845}};
  for (const auto& r : ref) {
    const double z = r[0];
    HH_CHECK_NEAR(hh::log_expected_improvement(-z, 1.0, 0.0), r[1], 1e-14);
  }
  // sigma scaling: log EI = log sigma + log h((best - mu) / sigma).
  HH_CHECK_NEAR(hh::log_expected_improvement(2.0 + 20.0 * 0.5, 0.25, 2.0),
                std::log(0.5) - 206.91783850942509785, 1e-14);
  // EI itself (representable range).
  HH_CHECK_NEAR(hh::expected_improvement(0.0, 1.0, 0.0), 0.39894228040143267794, 1e-15);
  HH_CHECK_NEAR(hh::expected_improvement(5.0, 1.0, 0.0) / 5.3461655338328149539e-8, 1.0, 1e-13);
  HH_CHECK_NEAR(hh::expected_improvement(-3.0, 4.0, 0.0), 2.0 * 1.5293067937626046286, 1e-15);  // z = 1.5
  HH_CHECK_NEAR(hh::expected_improvement(37.0, 1.0, 0.0) / 1.5451991905122024593e-301, 1.0, 1e-12);
}

void test_log_ei_matches_ei() {
  // Wherever EI is a normal double, log EI = log(EI) (both paths agree,
  // including across the z = -4 switch).
  for (double z = -37.0; z <= 8.0; z += 0.0137) {
    for (double sigma : {1e-3, 1.0, 30.0}) {
      const double mean = 1.0 - z * sigma;
      const double ei = hh::expected_improvement(mean, sigma * sigma, 1.0);
      if (ei > 1e-300) {
        HH_CHECK_NEAR(hh::log_expected_improvement(mean, sigma * sigma, 1.0), std::log(ei), 1e-12);
      }
    }
  }
  // Continuity at the switch.
  const double a = hh::log_expected_improvement(4.0 - 1e-12, 1.0, 0.0);
  const double b = hh::log_expected_improvement(4.0 + 1e-12, 1.0, 0.0);
  HH_CHECK(std::fabs(a - b) < 1e-10);
}

void test_log_ei_tail() {
  // Finite and strictly monotone in z far into the tail.
  double previous = std::numeric_limits<double>::infinity();
  int checked = 0;
  for (double z = -1.0; z >= -1000.0; z *= 1.01) {
    const double v = hh::log_expected_improvement(-z, 1.0, 0.0);
    HH_CHECK(std::isfinite(v));
    HH_CHECK(v < previous);
    previous = v;
    ++checked;
  }
  HH_CHECK(checked > 500);
  // Asymptote: log h(z) ~ -z^2/2 - log sqrt(2 pi) - 2 log|z| (error ~3/z^2).
  const double z = -1e4;
  HH_CHECK_NEAR(hh::log_expected_improvement(-z, 1.0, 0.0),
                -0.5 * z * z - 0.918938533204672741780 - 2.0 * std::log(-z), 1e-15);
  // Monotone in the variance (what the bound pruning relies on).
  double last = kNegInf;
  for (double var = 1e-8; var < 1e3; var *= 1.3) {
    const double v = hh::log_expected_improvement(5.0, var, 0.0);
    HH_CHECK(v >= last);
    last = v;
  }
}

void test_degenerate_and_ucb() {
  HH_CHECK_NEAR(hh::expected_improvement(1.0, 0.0, 2.0), 1.0, 1e-15);
  HH_CHECK(hh::expected_improvement(3.0, 0.0, 2.0) == 0.0);
  HH_CHECK(hh::expected_improvement(3.0, -1e-18, 2.0) == 0.0);
  HH_CHECK_NEAR(hh::log_expected_improvement(1.0, 0.0, 2.0), 0.0, 1e-15);
  HH_CHECK(hh::log_expected_improvement(3.0, 0.0, 2.0) == kNegInf);
  HH_CHECK(hh::log_expected_improvement(2.0, 0.0, 2.0) == kNegInf);
  // Sigma negligible next to the gap (z overflows): the zero-variance limit.
  HH_CHECK_NEAR(hh::log_expected_improvement(1.0, 1e-320, 2.0), 0.0, 1e-15);
  HH_CHECK(hh::log_expected_improvement(3.0, 1e-320, 2.0) == kNegInf);
  HH_CHECK(std::isnan(hh::log_expected_improvement(std::nan(""), 1.0, 0.0)));
  HH_CHECK_NEAR(hh::lower_confidence_bound_score(1.0, 4.0, 2.0), 2.0 * 2.0 - 1.0, 1e-15);
  HH_CHECK_NEAR(hh::lower_confidence_bound_score(1.0, 0.0, 2.0), -1.0, 1e-15);
}

// ---------------------------------------------------------------------------
// Maximiser.

std::uint64_t mix(std::uint64_t* s) {
  std::uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
double uniform(std::uint64_t* s) {
  return (mix(s) >> 11) * (1.0 / 9007199254740992.0);
}

hh::Dimension ordinal(std::vector<double> values) {
  return hh::Dimension::ordinal(std::move(values));
}
hh::Dimension cat(int k) {
  return hh::Dimension::categorical(k);
}
hh::Dimension boolean() {
  return hh::Dimension::boolean();
}

// 3 ordinals x 2 categoricals x boolean: 4 * 5 * 3 * 3 * 2 * 2 = 720 points.
hh::DiscreteSpace small_space() {
  return hh::DiscreteSpace(
      {ordinal({0, 1, 2, 3}), ordinal({0, 1, 2, 3, 4}), ordinal({0.0, 0.5, 2.0}), cat(3), cat(2), boolean()});
}

// 8 ordinals, 2 categoricals, 2 booleans: ~2e9 points, 18 features.
hh::DiscreteSpace large_space() {
  std::vector<hh::Dimension> dims;
  for (int j = 0; j < 8; ++j) {
    std::vector<double> v;
    for (int l = 0; l < 6 + j % 4; ++l) v.push_back(l);
    dims.push_back(ordinal(v));
  }
  dims.push_back(cat(4));
  dims.push_back(cat(4));
  dims.push_back(boolean());
  dims.push_back(boolean());
  return hh::DiscreteSpace(dims);
}

std::vector<std::int32_t> enumerate(const hh::DiscreteSpace& s) {
  std::vector<std::int32_t> all;
  std::vector<std::int32_t> p(s.num_dims(), 0);
  for (;;) {
    all.insert(all.end(), p.begin(), p.end());
    int j = 0;
    while (j < s.num_dims() && ++p[j] == s.dims()[j].levels()) p[j++] = 0;
    if (j == s.num_dims()) return all;
  }
}

// A synthetic objective on the features (a smooth bowl plus a ripple).
double objective(const double* f, int nf, std::uint64_t salt) {
  double v = 0.0;
  for (int k = 0; k < nf; ++k) {
    const double c = 0.2 + 0.6 * ((k * 7 + salt) % 5) / 4.0;
    v += (1.0 + 0.3 * (k % 3)) * (f[k] - c) * (f[k] - c);
  }
  return v + 0.1 * std::sin(5.0 * f[0] + salt);
}

struct Problem {
  hh::DiscreteSpace space;
  hh::GaussianProcess gp;
  std::vector<std::int32_t> train;
  std::vector<double> y;
  hh::PointSet exclude;
  double best = 0.0;
  Problem(hh::DiscreteSpace s, int n, std::uint64_t seed, double lengthscale, std::uint64_t salt = 0)
      : space(std::move(s)), gp(space.num_features()), exclude(space.num_dims()) {
    const int nd = space.num_dims(), nf = space.num_features();
    std::vector<std::int32_t> cand(static_cast<std::size_t>(4 * n) * nd);
    space.sample(seed, 4 * n, cand.data());
    for (int i = 0; i < 4 * n && static_cast<int>(y.size()) < n; ++i) {
      const std::int32_t* p = cand.data() + static_cast<std::size_t>(i) * nd;
      if (exclude.contains(p)) continue;
      exclude.insert(p);
      train.insert(train.end(), p, p + nd);
      y.push_back(0.0);
    }
    const int m = static_cast<int>(y.size());
    std::vector<double> x(static_cast<std::size_t>(m) * nf), reps(m);
    space.features(train.data(), m, x.data());
    std::uint64_t rs = seed ^ 0x1234;
    double mean = 0.0;
    for (int i = 0; i < m; ++i) {
      y[i] = objective(x.data() + static_cast<std::size_t>(i) * nf, nf, salt) + 0.01 * (uniform(&rs) - 0.5);
      reps[i] = 1.0 + (i % 5);
      mean += y[i] / m;
    }
    best = *std::min_element(y.begin(), y.end());
    hh::Hyperparameters hp;
    hp.lengthscales.assign(nf, lengthscale);
    hp.signal_variance = 1.0;
    hp.noise_variance = 1e-3;
    hp.noise_floor = 1e-6;
    hp.mean = mean;
    gp.set_hyperparameters(hp);
    gp.set_data(x.data(), y.data(), reps.data(), m);
  }
};

// A second GP on the same points (cost on log seconds, or 0/1 feasibility).
hh::GaussianProcess side_model(const Problem& pr, bool feasibility) {
  const int nf = pr.space.num_features(), m = static_cast<int>(pr.y.size());
  std::vector<double> x(static_cast<std::size_t>(m) * nf), y(m);
  pr.space.features(pr.train.data(), m, x.data());
  for (int i = 0; i < m; ++i) {
    const double* f = x.data() + static_cast<std::size_t>(i) * nf;
    y[i] = feasibility ? (f[0] + f[1] < 1.2 ? 1.0 : 0.0) : 0.5 * f[0] - 0.7 * f[1] + 0.2 * f[2];
  }
  hh::GaussianProcess g(nf);
  hh::Hyperparameters hp;
  hp.lengthscales.assign(nf, 0.8);
  hp.signal_variance = feasibility ? 0.25 : 0.5;
  hp.noise_variance = 1e-2;
  hp.mean = feasibility ? 0.5 : 0.0;
  g.set_hyperparameters(hp);
  g.set_data(x.data(), y.data(), nullptr, m);
  return g;
}

// Index of the best non-excluded, non-skipped row (ties: lowest index).
int brute_argmax(const std::vector<double>& scores, const std::vector<std::int32_t>& pts, int nd,
                 const hh::PointSet& exclude, const std::set<std::vector<std::int32_t>>& skip) {
  int best = -1;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const std::int32_t* p = pts.data() + i * nd;
    if (exclude.contains(p) || skip.count(std::vector<std::int32_t>(p, p + nd))) continue;
    if (best < 0 || scores[i] > scores[best]) best = static_cast<int>(i);
  }
  return best;
}

bool same_point(const std::int32_t* a, const std::int32_t* b, int nd) {
  return std::equal(a, a + nd, b);
}

// Brute-force kriging believer over all `pts`, compared pick by pick.
void check_against_brute_force(const Problem& pr, const hh::AcquisitionModels& models,
                               const hh::AcquisitionOptions& opt, const hh::AcquisitionResult& res,
                               const std::vector<std::int32_t>& pts, const char* label) {
  const int nd = pr.space.num_dims(), nf = pr.space.num_features();
  hh::GaussianProcess fantasy = *models.objective;
  hh::AcquisitionModels bm = models;
  bm.objective = &fantasy;
  std::set<std::vector<std::int32_t>> picked;
  const int picks = static_cast<int>(res.scores.size());
  for (int b = 0; b < picks; ++b) {
    const std::vector<double> scores =
        hh::score_points(pr.space, bm, opt, pts.data(), static_cast<int>(pts.size()) / nd);
    const int i = brute_argmax(scores, pts, nd, pr.exclude, picked);
    HH_CHECK(i >= 0);
    if (i < 0) return;
    const std::int32_t* got = res.points.data() + static_cast<std::size_t>(b) * nd;
    if (!same_point(got, pts.data() + static_cast<std::size_t>(i) * nd, nd)) {
      std::fprintf(stderr, "[%s] pick %d differs from brute force: score %.17g vs %.17g\n", label, b,
                   res.scores[b], scores[i]);
      HH_CHECK(false);
    }
    HH_CHECK_NEAR(res.scores[b], scores[i], 1e-8);
    picked.insert(std::vector<std::int32_t>(got, got + nd));
    // Fantasy at the posterior mean, as the maximiser does.
    std::vector<double> x(nf);
    pr.space.features(got, 1, x.data());
    double mu = 0.0, var = 0.0;
    fantasy.predict(x.data(), 1, &mu, &var, 1);
    HH_CHECK_NEAR(mu, res.means[b], 1e-8);
    HH_CHECK_NEAR(var, res.variances[b], 1e-8);
    const double reps = opt.fantasy_repetitions;
    fantasy.add_points(x.data(), &mu, &reps, 1);
  }
}

// pr's objective as the only model.
hh::AcquisitionModels models_of(const Problem& pr) {
  hh::AcquisitionModels models;
  models.objective = &pr.gp;
  return models;
}

// Options for pr: best = its incumbent, the given batch and pool sizes.
hh::AcquisitionOptions options_for(const Problem& pr, int batch_size, int pool_size) {
  hh::AcquisitionOptions opt;
  opt.best = pr.best;
  opt.batch_size = batch_size;
  opt.pool_size = pool_size;
  return opt;
}

void check_batch_valid(const Problem& pr, const hh::AcquisitionResult& res, int expected) {
  const int nd = pr.space.num_dims();
  HH_CHECK(static_cast<int>(res.scores.size()) == expected);
  HH_CHECK(res.points.size() == static_cast<std::size_t>(expected) * nd);
  HH_CHECK(res.means.size() == res.scores.size() && res.variances.size() == res.scores.size());
  std::set<std::vector<std::int32_t>> seen;
  for (int b = 0; b < expected; ++b) {
    const std::int32_t* p = res.points.data() + static_cast<std::size_t>(b) * nd;
    HH_CHECK(!pr.exclude.contains(p));
    seen.insert(std::vector<std::int32_t>(p, p + nd));
  }
  HH_CHECK(static_cast<int>(seen.size()) == expected);
  pr.space.validate(res.points.data(), expected);
}

void test_enumerable_argmax() {
  Problem pr(small_space(), 30, 7, 0.6);
  const std::vector<std::int32_t> all = enumerate(pr.space);
  HH_CHECK(all.size() == 720u * 6u);
  const hh::GaussianProcess cost = side_model(pr, false);
  const hh::GaussianProcess feas = side_model(pr, true);
  struct Case {
    hh::AcquisitionKind kind;
    bool with_cost, with_feas;
    const char* label;
  } cases[] = {{hh::AcquisitionKind::LogEI, false, false, "logei"},
               {hh::AcquisitionKind::EI, false, false, "ei"},
               {hh::AcquisitionKind::UCB, false, false, "ucb"},
               {hh::AcquisitionKind::LogEIPerCost, true, false, "logei/cost"},
               {hh::AcquisitionKind::LogEI, false, true, "logei*feas"},
               {hh::AcquisitionKind::EI, true, true, "ei*feas"}};
  for (const Case& c : cases) {
    hh::AcquisitionModels models;
    models.objective = &pr.gp;
    models.cost = c.with_cost ? &cost : nullptr;
    models.feasibility = c.with_feas ? &feas : nullptr;
    hh::AcquisitionOptions opt;
    opt.kind = c.kind;
    opt.best = pr.best;
    opt.ucb_beta = 1.5;
    opt.batch_size = 6;
    opt.pool_size = 20000;  // covers all 720 points (miss probability ~1e-12 each)
    opt.local_starts = 3;
    opt.seed = 11;
    opt.threads = 2;
    opt.feasibility_floor = 0.05;
    const hh::AcquisitionResult res =
        hh::maximize_acquisition(pr.space, models, opt, &pr.exclude, nullptr, 0);
    check_batch_valid(pr, res, 6);
    check_against_brute_force(pr, models, opt, res, all, c.label);
    HH_CHECK(res.candidates_scored == 720 - 30);
    HH_CHECK(res.exact_evaluations >= 1 && res.exact_evaluations <= res.candidates_scored);
  }
}

void test_local_search_reaches_local_optimum() {
  // A pool far smaller than the space: the pick must still be a local
  // optimum (no eligible neighbour scores higher).
  Problem pr(large_space(), 120, 3, 0.5);
  hh::AcquisitionModels models;
  models.objective = &pr.gp;
  hh::AcquisitionOptions opt;
  opt.kind = hh::AcquisitionKind::LogEI;
  opt.best = pr.best;
  opt.batch_size = 1;
  opt.pool_size = 200;
  opt.local_starts = 4;
  opt.local_max_steps = 200;
  opt.seed = 5;
  const hh::AcquisitionResult res = hh::maximize_acquisition(pr.space, models, opt, &pr.exclude, nullptr, 0);
  check_batch_valid(pr, res, 1);
  const int nd = pr.space.num_dims();
  std::vector<std::int32_t> nb;
  pr.space.neighbours(res.points.data(), &nb);
  const std::vector<double> ns =
      hh::score_points(pr.space, models, opt, nb.data(), static_cast<int>(nb.size()) / nd);
  for (std::size_t i = 0; i < ns.size(); ++i) {
    if (!pr.exclude.contains(nb.data() + i * nd))
      HH_CHECK(ns[i] <= res.scores[0] + 1e-9 * (1 + std::fabs(ns[i])));
  }
  // And beats the pool's own best.
  std::vector<std::int32_t> pool(static_cast<std::size_t>(opt.pool_size) * nd);
  pr.space.sample(opt.seed, opt.pool_size, pool.data());
  const std::vector<double> ps = hh::score_points(pr.space, models, opt, pool.data(), opt.pool_size);
  const int i = brute_argmax(ps, pool, nd, pr.exclude, {});
  HH_CHECK(res.scores[0] >= ps[i] - 1e-9 * (1 + std::fabs(ps[i])));

  // Incumbents as starts: climbing from the training optimum.
  const int best_train = static_cast<int>(std::min_element(pr.y.begin(), pr.y.end()) - pr.y.begin());
  opt.pool_size = 1;
  opt.local_starts = 0;
  const hh::AcquisitionResult r2 =
      hh::maximize_acquisition(pr.space, models, opt, &pr.exclude, pr.train.data() + best_train * nd, 1);
  check_batch_valid(pr, r2, 1);
  HH_CHECK(r2.candidates_scored > 1);
}

void test_pruned_equals_unpruned() {
  Problem pr(large_space(), 150, 21, 0.7, 2);
  const int nd = pr.space.num_dims();
  hh::AcquisitionModels models;
  models.objective = &pr.gp;
  for (hh::AcquisitionKind kind : {hh::AcquisitionKind::LogEI, hh::AcquisitionKind::UCB}) {
    hh::AcquisitionOptions opt;
    opt.kind = kind;
    opt.best = pr.best;
    opt.batch_size = 8;
    opt.pool_size = 3000;
    opt.local_starts = 4;
    opt.local_max_steps = 20;
    opt.seed = 99;
    // Also exclude some pool points: they must be dropped.
    hh::PointSet exclude = pr.exclude;
    std::vector<std::int32_t> pool(static_cast<std::size_t>(opt.pool_size) * nd);
    pr.space.sample(opt.seed, opt.pool_size, pool.data());
    for (int i = 0; i < 300; ++i) exclude.insert(pool.data() + static_cast<std::size_t>(i) * nd);

    const hh::AcquisitionResult pruned =
        hh::maximize_acquisition(pr.space, models, opt, &exclude, nullptr, 0);
    opt.prune = false;
    const hh::AcquisitionResult full = hh::maximize_acquisition(pr.space, models, opt, &exclude, nullptr, 0);
    HH_CHECK(pruned.points == full.points);
    HH_CHECK(pruned.scores.size() == 8u && full.scores.size() == 8u);
    for (std::size_t b = 0; b < pruned.scores.size() && b < full.scores.size(); ++b) {
      HH_CHECK_NEAR(pruned.scores[b], full.scores[b], 1e-9);
    }
    HH_CHECK(pruned.candidates_scored == full.candidates_scored ||
             pruned.candidates_scored <= full.candidates_scored);
    HH_CHECK(pruned.exact_evaluations < full.exact_evaluations / 2);
    std::printf("pruned vs full (%s): scored %lld / %lld, exact %lld / %lld\n",
                kind == hh::AcquisitionKind::LogEI ? "logei" : "ucb", pruned.candidates_scored,
                full.candidates_scored, pruned.exact_evaluations, full.exact_evaluations);
    for (std::size_t b = 0; b < pruned.scores.size(); ++b) {
      HH_CHECK(!exclude.contains(pruned.points.data() + b * nd));
    }

    // Pool only (no local search): brute-force kriging believer over the
    // same pool reproduces the batch.
    opt.prune = true;
    opt.local_starts = 0;
    opt.local_max_steps = 0;
    const hh::AcquisitionResult pool_only =
        hh::maximize_acquisition(pr.space, models, opt, &exclude, nullptr, 0);
    Problem view = pr;  // same model, the bigger exclusion set
    view.exclude = exclude;
    check_against_brute_force(view, models, opt, pool_only, pool, "pool");
  }
}

void test_determinism() {
  Problem pr(large_space(), 100, 8, 0.6);
  const hh::AcquisitionModels models = models_of(pr);
  hh::AcquisitionOptions opt = options_for(pr, 6, 5000);
  opt.seed = 1234;
  std::vector<hh::AcquisitionResult> runs;
  for (int threads : {1, 2, 3, 1}) {
    opt.threads = threads;
    runs.push_back(hh::maximize_acquisition(pr.space, models, opt, &pr.exclude, pr.train.data(), 3));
  }
  for (std::size_t r = 1; r < runs.size(); ++r) {
    HH_CHECK(runs[r].points == runs[0].points);
    HH_CHECK(runs[r].scores == runs[0].scores);  // bitwise
    HH_CHECK(runs[r].variances == runs[0].variances);
    HH_CHECK(runs[r].exact_evaluations == runs[0].exact_evaluations);
  }
  opt.seed = 1235;
  const hh::AcquisitionResult other =
      hh::maximize_acquisition(pr.space, models, opt, &pr.exclude, nullptr, 0);
  HH_CHECK(other.scores.size() == 6u);
}

void test_exhaustion_and_no_data() {
  // 4 points, 3 excluded: a batch of 4 returns the single remaining point.
  const hh::DiscreteSpace tiny({boolean(), boolean()});
  hh::GaussianProcess gp(2);
  hh::Hyperparameters hp;
  hp.lengthscales = {0.5, 0.5};
  gp.set_hyperparameters(hp);
  const std::vector<std::int32_t> seen = {0, 0, 0, 1, 1, 0};
  std::vector<double> x(6), y = {1.0, 0.5, 0.7};
  tiny.features(seen.data(), 3, x.data());
  gp.set_data(x.data(), y.data(), nullptr, 3);
  hh::PointSet exclude(2);
  for (int i = 0; i < 3; ++i) exclude.insert(seen.data() + 2 * i);
  hh::AcquisitionModels models;
  models.objective = &gp;
  hh::AcquisitionOptions opt;
  opt.best = 0.5;
  opt.batch_size = 4;
  opt.pool_size = 100;
  const hh::AcquisitionResult r = hh::maximize_acquisition(tiny, models, opt, &exclude, seen.data(), 3);
  HH_CHECK(r.scores.size() == 1u);
  HH_CHECK(r.points.size() == 2u && r.points[0] == 1 && r.points[1] == 1);

  // No data at all: the prior; every pick distinct.
  const hh::DiscreteSpace s = small_space();
  hh::GaussianProcess prior(s.num_features());
  models.objective = &prior;
  opt.batch_size = 5;
  opt.pool_size = 50;
  opt.kind = hh::AcquisitionKind::UCB;
  const hh::AcquisitionResult p = hh::maximize_acquisition(s, models, opt, nullptr, nullptr, 0);
  HH_CHECK(p.scores.size() == 5u);
  std::set<std::vector<std::int32_t>> distinct;
  for (int b = 0; b < 5 && p.points.size() == 5u * 6u; ++b)
    distinct.insert(std::vector<std::int32_t>(p.points.begin() + b * 6, p.points.begin() + b * 6 + 6));
  HH_CHECK(distinct.size() == 5u);
  // Later picks see the earlier ones: variance (and UCB) drops.
  HH_CHECK(p.scores.size() == 5u && p.scores[4] <= p.scores[0]);
}

void test_errors() {
  Problem pr(small_space(), 10, 1, 0.6);
  hh::AcquisitionModels models;
  models.objective = &pr.gp;
  hh::AcquisitionOptions opt;
  opt.pool_size = 100;
  opt.kind = hh::AcquisitionKind::LogEIPerCost;  // no cost model
  HH_CHECK_THROWS(hh::maximize_acquisition(pr.space, models, opt, nullptr, nullptr, 0));
  opt.kind = hh::AcquisitionKind::UCB;
  opt.ucb_beta = -1.0;
  HH_CHECK_THROWS(hh::maximize_acquisition(pr.space, models, opt, nullptr, nullptr, 0));
  opt.ucb_beta = 2.0;
  opt.batch_size = 0;
  HH_CHECK_THROWS(hh::maximize_acquisition(pr.space, models, opt, nullptr, nullptr, 0));
  opt.batch_size = 2;
  hh::GaussianProcess wrong(3);
  models.objective = &wrong;
  HH_CHECK_THROWS(hh::maximize_acquisition(pr.space, models, opt, nullptr, nullptr, 0));
  HH_CHECK_THROWS(hh::score_points(pr.space, models, opt, pr.train.data(), 1));
  models.objective = nullptr;
  HH_CHECK_THROWS(hh::maximize_acquisition(pr.space, models, opt, nullptr, nullptr, 0));
  models.objective = &pr.gp;
  const std::vector<std::int32_t> bad = {9, 0, 0, 0, 0, 0};
  HH_CHECK_THROWS(hh::maximize_acquisition(pr.space, models, opt, nullptr, bad.data(), 1));
  HH_CHECK_THROWS(hh::score_points(pr.space, models, opt, bad.data(), 1));
  hh::PointSet wrong_set(2);
  HH_CHECK_THROWS(hh::maximize_acquisition(pr.space, models, opt, &wrong_set, nullptr, 0));
}

void test_pool_caps_and_options() {
  // A pool larger than the space enumerates it (capped by its size), also
  // for pool sizes that could never be allocated.
  Problem pr(small_space(), 30, 4, 0.6);
  hh::AcquisitionModels models = models_of(pr);
  hh::AcquisitionOptions opt = options_for(pr, 3, 1000000000);
  opt.local_starts = 0;
  const hh::AcquisitionResult all = hh::maximize_acquisition(pr.space, models, opt, &pr.exclude, nullptr, 0);
  HH_CHECK(all.candidates_scored == 720 - 30);
  check_batch_valid(pr, all, 3);
  // On a space too large to enumerate, the cap on the pool applies before
  // any allocation.
  Problem big(large_space(), 20, 5, 0.6);
  models.objective = &big.gp;
  opt.best = big.best;
  HH_CHECK_THROWS(hh::maximize_acquisition(big.space, models, opt, nullptr, nullptr, 0));
  opt.pool_size = hh::kMaxPoolSize + 1;
  HH_CHECK_THROWS(hh::maximize_acquisition(big.space, models, opt, nullptr, nullptr, 0));
  // pool_size 0 is allowed (the core's rule): only the incumbents' climbs.
  opt.pool_size = 0;
  opt.local_max_steps = 5;
  const hh::AcquisitionResult none = hh::maximize_acquisition(big.space, models, opt, nullptr, nullptr, 0);
  HH_CHECK(none.scores.empty());
  const hh::AcquisitionResult climbs =
      hh::maximize_acquisition(big.space, models, opt, nullptr, big.train.data(), 2);
  HH_CHECK(climbs.scores.size() == 3u);
  // A huge batch reserves nothing per candidate; it stops when candidates run out.
  opt.pool_size = 200;
  opt.batch_size = 1 << 30;
  opt.local_max_steps = 0;
  const hh::AcquisitionResult most = hh::maximize_acquisition(big.space, models, opt, nullptr, nullptr, 0);
  HH_CHECK(most.scores.size() <= 200u && most.scores.size() > 100u);
  // Option rules.
  hh::AcquisitionOptions o;
  hh::validate(o);
  auto rejects = [](hh::AcquisitionOptions bad) { HH_CHECK_THROWS(hh::validate(bad)); };
  o.batch_size = 0;
  rejects(o);
  o = hh::AcquisitionOptions();
  o.pool_size = -1;
  rejects(o);
  o = hh::AcquisitionOptions();
  o.threads = -1;
  rejects(o);
  o = hh::AcquisitionOptions();
  o.fantasy_repetitions = std::nan("");
  rejects(o);
  o = hh::AcquisitionOptions();
  o.feasibility_floor = 0.0;
  rejects(o);
  o = hh::AcquisitionOptions();
  o.best = std::nan("");
  rejects(o);
  o.kind = hh::AcquisitionKind::UCB;
  hh::validate(o);  // UCB does not use best
  o.kind = static_cast<hh::AcquisitionKind>(7);
  rejects(o);
  // The array versions check their input (the scalar ones pass NaN on).
  const double mean[2] = {0.0, std::nan("")}, var[2] = {1.0, 1.0};
  double out[2];
  hh::log_expected_improvement(mean, var, 1, 0.5, out);
  HH_CHECK_NEAR(out[0], hh::log_expected_improvement(0.0, 1.0, 0.5), 0.0);
  HH_CHECK_THROWS(hh::log_expected_improvement(mean, var, 2, 0.5, out));
  HH_CHECK_THROWS(hh::expected_improvement(mean, var, 1, std::nan(""), out));
}

void test_high_cardinality_categorical() {
  // 20000 levels: a climb step samples 64 of them, so the maximiser's work
  // and memory grow linearly with the level count (the full neighbourhood
  // with one-hot features was quadratic: 6.7 GB in issue 10).
  const hh::DiscreteSpace space({cat(20000), ordinal({0, 1, 2, 3}), boolean()});
  Problem pr(space, 40, 9, 0.8);
  const hh::AcquisitionModels models = models_of(pr);
  hh::AcquisitionOptions opt = options_for(pr, 4, 500);
  opt.local_starts = 3;
  opt.local_max_steps = 5;
  const hh::AcquisitionResult a = hh::maximize_acquisition(pr.space, models, opt, &pr.exclude, nullptr, 0);
  check_batch_valid(pr, a, 4);
  HH_CHECK(a.candidates_scored < 500 + 3 * 5 * (64 + 3 + 1) + 100);
  opt.threads = 2;
  const hh::AcquisitionResult b = hh::maximize_acquisition(pr.space, models, opt, &pr.exclude, nullptr, 0);
  HH_CHECK(a.points == b.points && a.scores == b.scores);  // deterministic across threads
}

}  // namespace

int main() {
  test_log_ei_reference();
  test_log_ei_matches_ei();
  test_log_ei_tail();
  test_degenerate_and_ucb();
  test_enumerable_argmax();
  test_local_search_reaches_local_optimum();
  test_pruned_equals_unpruned();
  test_determinism();
  test_exhaustion_and_no_data();
  test_errors();
  test_pool_caps_and_options();
  test_high_cardinality_categorical();
  HH_TEST_MAIN_END();
}
