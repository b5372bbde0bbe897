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

// Hyperparameters in the units of the data (not normalised).
struct Hyperparameters {
  std::vector<double> lengthscales;  // one per input dimension, > 0
  double signal_variance = 1.0;      // > 0
  double noise_variance = 1e-4;      // sigma2, per repetition, >= 0
  double noise_floor = 1e-8;         // tau2, >= 0
  double mean = 0.0;                 // constant prior mean
};

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
  // Threads for the fit (0 = get_num_threads()). With several threads and
  // several starts, the starts run in parallel (BLAS on one thread each);
  // otherwise BLAS gets all of them.
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

struct FitResult {
  double log_marginal_likelihood = 0.0;  // of the chosen hyperparameters
  int evaluations = 0;                   // objective evaluations, all starts
  int full_evaluations = 0;  // of which on all the data (rest: screening)
  int starts = 0;
};

class GaussianProcess {
 public:
  explicit GaussianProcess(int dim);

  int dim() const { return dim_; }
  int size() const { return n_; }  // observations, fantasies excluded

  // Replace the data (copied). reps may be null (all 1). Refactorises with the
  // current hyperparameters. Throws std::invalid_argument on bad input.
  void set_data(const double* x, const double* y, const double* reps, int n);

  // Set hyperparameters (validated) and refactorise.
  void set_hyperparameters(const Hyperparameters& hp);
  const Hyperparameters& hyperparameters() const { return hp_; }

  // Maximise log marginal likelihood + weak priors over the hyperparameters.
  FitResult fit(const FitOptions& options);

  // Log marginal likelihood of the current data under the current
  // hyperparameters (no prior terms).
  double log_marginal_likelihood() const { return lml_; }

  // Log marginal likelihood and its gradient with respect to the packed
  // parameter vector [log l_1..log l_D, log s2, log sigma2, log tau2, mean]
  // (no prior terms). Does not change the model.
  double lml_and_gradient(const std::vector<double>& packed,
                          std::vector<double>* gradient) const;
  std::vector<double> pack(const Hyperparameters& hp) const;
  Hyperparameters unpack(const std::vector<double>& packed) const;

  // Posterior mean and variance (latent function, no observation noise) for
  // m candidates, in chunks, on `threads` threads (0 = all set by
  // set_num_threads). Never allocates an m x n matrix. Variances are floored
  // at 1e-12 * signal_variance (never 0 or negative). Before any data is set
  // this returns the prior: mean = hyperparameters().mean, variance =
  // signal_variance.
  void predict(const double* xc, int m, double* mean, double* variance,
               int threads = 0) const;
  // Mean only: one GEMV per chunk, no triangular solves.
  void predict_mean(const double* xc, int m, double* mean,
                    int threads = 0) const;

  // Append k observations without refitting: extends the Cholesky factor in
  // O(n^2 k) instead of refactorising in O(n^3).
  void add_points(const double* x, const double* y, const double* reps, int k);

  // --- building blocks for the acquisition maximiser -----------------------
  // Cross-covariances k(xc_i, x_j) for m candidates into out (m x n).
  void cross_covariance(const double* xc, int m, double* out) const;
  // Solve L v = k in place for one or several right-hand sides stored as rows
  // (rows x n, row-major); v's squared norm is the variance reduction.
  void solve_lower_rows(double* rows, int count) const;
  const std::vector<double>& alpha() const { return alpha_; }  // K^-1 (y - m)
  const std::vector<double>& training_inputs() const { return x_; }
  double noise_of(double reps) const {
    return hp_.noise_variance / reps + hp_.noise_floor;
  }
  double prior_variance() const { return hp_.signal_variance; }
  // Cholesky factor of K (n x n, row-major lower, upper triangle zero) and the
  // diagonal jitter that was added to K to make it factorise (0 normally).
  const std::vector<double>& cholesky() const { return chol_; }
  double jitter() const { return jitter_; }

 private:
  void refactor();  // K, Cholesky, alpha, lml from x_, y_, reps_, hp_

  int dim_;
  int n_ = 0;
  std::vector<double> x_, y_, reps_;
  Hyperparameters hp_;
  std::vector<double> chol_;   // n x n lower, row-major
  std::vector<double> alpha_;  // n
  double lml_ = 0.0;
  // Kernel inputs: (x - centre_) / lengthscales, centred so the GEMM distance
  // trick |a|^2 + |b|^2 - 2 a.b loses little to cancellation.
  std::vector<double> centre_;      // dim, column means at set_data
  std::vector<double> scaled_x_;    // n x dim
  std::vector<double> scaled_sq_;   // n, squared row norms of scaled_x_
  std::vector<double> whitened_;    // L^-1 (y - mean), kept for add_points
  double jitter_ = 0.0;
  bool hp_explicit_ = false;  // set_hyperparameters or fit has run
};

// Thread count used by the core when a call passes 0. Also keeps OpenBLAS
// from oversubscribing: inside the core's own parallel loops BLAS runs on one
// thread; large single factorisations get the whole count.
void set_num_threads(int threads);
int get_num_threads();

}  // namespace hh
