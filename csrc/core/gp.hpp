// Gaussian-process regression with a Matern-5/2 ARD kernel, a constant mean
// and per-observation noise for multi-fidelity data. No Python here.
//
// Noise model: an observation that summarises r timing repetitions has noise
// variance  sigma2 / r + tau2  (sigma2 = per-repetition noise, tau2 = a floor
// that more repetitions cannot remove). Both are hyperparameters.
//
// Storage: all matrices are row-major, double precision.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hh {

// Limits of what the model represents in double precision. Inputs are
// centred and divided by the lengthscales before the kernel's distance trick
// |a|^2 + |b|^2 - 2 a.b; keeping every squared norm below kMaxScaledNorm2
// keeps that sum (at most 4x the bound) finite. Targets are standardised by
// their spread for the fit; the fitted variances are the spread squared
// times O(1e-3..1e2) factors, normal doubles for spreads in
// [kMinTargetSpread, kMaxAbsTarget]. A smaller spread is fitted as a
// constant (its mean), |y| above kMaxAbsTarget is refused.
constexpr double kMaxScaledNorm2 = 1e300;
constexpr double kMaxAbsTarget = 1e150;
constexpr double kMinTargetSpread = 1e-150;

// Hyperparameters in the units of the data (not normalised).
struct Hyperparameters {
  std::vector<double> lengthscales;  // one per input dimension, > 0
  double signal_variance = 1.0;      // > 0
  double noise_variance = 1e-4;      // sigma2, per repetition, >= 0
  double noise_floor = 1e-8;         // tau2, >= 0
  double mean = 0.0;                 // constant prior mean
};

// Throws std::invalid_argument naming the first bad value: dim lengthscales,
// each finite, > 0 and with a finite inverse; signal_variance a positive
// normal double; noise terms finite and >= 0; mean finite.
void validate(const Hyperparameters& hp, int dim);

// Bounds are in normalised units: inputs as given, targets standardised to
// zero mean and unit variance before the fit.
struct FitOptions {
  int restarts = 3;          // random restarts besides the warm/default start
  int max_iterations = 200;  // L-BFGS iterations per start
  double tolerance = 1e-6;   // relative objective change that ends a start
  std::uint64_t seed = 0;
  // Start from the current hyperparameters (once set_hyperparameters or fit
  // has run; a fresh model starts from a data-driven default instead).
  bool warm_start = true;
  double lengthscale_min = 1e-2, lengthscale_max = 1e2;
  double signal_variance_min = 1e-3, signal_variance_max = 1e2;
  double noise_min = 1e-8, noise_max = 10.0;
  // Weak log-normal prior on each log-lengthscale, centred at log(prior_center)
  // with width prior_width; keeps lengthscales away from the bounds when the
  // data say little. 0 disables it.
  double lengthscale_prior_center = 0.5;
  double lengthscale_prior_width = 2.0;
  // Bounds of the constant mean, in standardised target units.
  double mean_min = -3.0, mean_max = 3.0;
  // Threads for the fit (0 = get_num_threads()); the starts run in parallel,
  // so the result does not depend on this.
  int threads = 0;
  // Screening: with more than 2 * screening_size observations, every start is
  // first optimised on a random subset of screening_size of them (seeded by
  // `seed`); then only the first start (warm or default) as given and, if it
  // is clearly better on the subset than the first start's own optimum, the
  // best screened optimum are refined on all the data, with tolerance / 10.
  // Cuts the full-data evaluations several-fold. 0 = every start on all the
  // data.
  int screening_size = 300;
};

// Most random restarts a fit accepts (each costs a full optimisation).
constexpr int kMaxRestarts = 1000;

// Throws std::invalid_argument naming the first bad option: restarts in
// [0, kMaxRestarts], max_iterations >= 1, tolerance finite and >= 0, bounds
// finite with 0 < min <= max (mean: min <= max), prior centre and width
// finite and >= 0, threads and screening_size >= 0.
void validate(const FitOptions& options);

struct FitResult {
  double log_marginal_likelihood = 0.0;  // of the chosen hyperparameters
  int evaluations = 0;                   // objective evaluations, all starts
  int full_evaluations = 0;              // of which on all the data (rest: screening)
  int starts = 0;
};

// Thread safety: const members may run concurrently with each other; a
// mutating member must not overlap any other call on the same object (the
// Python bindings enforce that with a reader-writer lock).
//
// Strong exception guarantee: every mutating member (set_data,
// set_hyperparameters, fit, add_points) either completes or throws and
// leaves the object exactly as it was. Bad input, and data the model cannot
// represent (inputs whose centred, lengthscale-scaled squared norms exceed
// kMaxScaledNorm2, targets beyond kMaxAbsTarget, a kernel matrix no jitter
// makes positive definite, a posterior that overflows), throw
// std::invalid_argument with the reason, before anything changes.
//
// Determinism: BLAS runs single-threaded inside the core and the core's own
// parallel loops split work at boundaries independent of the thread count,
// so every result is bitwise the same for any `threads` (same build and
// CPU).
class GaussianProcess {
 public:
  explicit GaussianProcess(int dim);

  int dim() const { return dim_; }
  int size() const { return data_.n; }  // observations, fantasies excluded

  // Replace the data (copied). reps may be null (all 1). Refactorises with the
  // current hyperparameters.
  void set_data(const double* x, const double* y, const double* reps, int n);

  // Set hyperparameters (validated) and refactorise.
  void set_hyperparameters(const Hyperparameters& hp);
  const Hyperparameters& hyperparameters() const { return hp_; }

  // Maximise log marginal likelihood + weak priors over the hyperparameters
  // on the current data (throws without data). If every start fails the
  // model is left unchanged.
  FitResult fit(const FitOptions& options);
  // Replace the data and fit, as one step: on failure the model keeps its
  // old data and hyperparameters.
  FitResult fit(const double* x, const double* y, const double* reps, int n, const FitOptions& options);

  // Log marginal likelihood of the current data under the current
  // hyperparameters (no prior terms; 0 without data).
  double log_marginal_likelihood() const { return post_.lml; }

  // Log marginal likelihood and its gradient with respect to the packed
  // parameter vector [log l_1..log l_D, log s2, log sigma2, log tau2, mean]
  // (no prior terms). Does not change the model.
  double lml_and_gradient(const std::vector<double>& packed, std::vector<double>* gradient) const;
  std::vector<double> pack(const Hyperparameters& hp) const;
  Hyperparameters unpack(const std::vector<double>& packed) const;

  // Posterior mean and variance (latent function, no observation noise) for
  // m candidates, in chunks, on `threads` threads (0 = all set by
  // set_num_threads; < 0 throws). Never allocates an m x n matrix. Variances
  // are floored at 1e-12 * signal_variance (never 0 or negative). Before any
  // data is set this returns the prior: mean = hyperparameters().mean,
  // variance = signal_variance. Candidates whose scaled squared norm exceeds
  // kMaxScaledNorm2, or whose mean would overflow, throw.
  void predict(const double* xc, int m, double* mean, double* variance, int threads = 0) const;
  // Mean only: one GEMV per chunk, no triangular solves.
  void predict_mean(const double* xc, int m, double* mean, int threads = 0) const;

  // Append k observations without refitting: extends the Cholesky factor in
  // O(n^2 k) instead of refactorising in O(n^3).
  void add_points(const double* x, const double* y, const double* reps, int k);

  // --- building blocks for the acquisition maximiser -----------------------
  // Cross-covariances k(xc_i, x_j) for m candidates into out (m x n); throws
  // like predict for candidates that overflow.
  void cross_covariance(const double* xc, int m, double* out) const;
  // Solve L v = k in place for one or several right-hand sides stored as rows
  // (rows x n, row-major); v's squared norm is the variance reduction.
  void solve_lower_rows(double* rows, int count) const;
  const std::vector<double>& alpha() const { return post_.alpha; }  // K^-1 (y - m)
  const std::vector<double>& training_inputs() const { return data_.x; }
  double noise_of(double reps) const { return hp_.noise_variance / reps + hp_.noise_floor; }
  double prior_variance() const { return hp_.signal_variance; }
  // Cholesky factor of K (n x n, row-major lower, upper triangle zero) and the
  // diagonal jitter that was added to K to make it factorise (0 normally).
  const std::vector<double>& cholesky() const { return post_.chol; }
  double jitter() const { return post_.jitter; }

 private:
  // The observations; centre = column means at set_data (kept by
  // add_points), so the kernel inputs stay centred.
  struct Data {
    int n = 0;
    std::vector<double> x, y, reps, centre;
  };
  // Everything conditioning on Data under some hyperparameters produces.
  struct Posterior {
    std::vector<double> scaled_x;   // n x dim: (x - centre) / lengthscales
    std::vector<double> scaled_sq;  // n: squared row norms of scaled_x
    std::vector<double> chol;       // n x n lower, row-major
    std::vector<double> alpha;      // n
    std::vector<double> whitened;   // L^-1 (y - mean), kept for add_points
    double jitter = 0.0;
    double lml = 0.0;
  };
  // The best hyperparameters a fit found on some data (found = false when
  // every start failed).
  struct Optimum {
    bool found = false;
    Hyperparameters hp;
    FitResult result;
  };

  Data make_data(const double* x, const double* y, const double* reps, int n, const char* who) const;
  // K, Cholesky, alpha, lml; throws std::invalid_argument (see above).
  Posterior condition(const Data& data, const Hyperparameters& hp) const;
  Optimum optimise(const Data& data, const FitOptions& options) const;
  FitResult commit_fit(Data* data, const Optimum& optimum);
  // alpha = L^-T whitened and the lml from post's factor and whitened
  // targets; throws if they overflow.
  static void finish(Posterior* post, int n, const char* who);
  // add_points' factor extension by k rows (L21 and L22 computed).
  Posterior extend(int n, int k, const std::vector<double>& l21, const std::vector<double>& l22,
                   const double* y, const std::vector<double>& xs, const std::vector<double>& sq) const;
  void scale_candidates(const double* xc, int m, const double* inv_l, double* xs, double* sq,
                        const char* who) const;

  int dim_;
  Data data_;
  Hyperparameters hp_;
  Posterior post_;
  bool hp_explicit_ = false;  // set_hyperparameters or fit has run
};

// Thread count used by the core when a call passes 0 (threads = 0 resets it
// to the hardware's count; < 0 throws std::invalid_argument).
void set_num_threads(int threads);
int get_num_threads();

}  // namespace hh
