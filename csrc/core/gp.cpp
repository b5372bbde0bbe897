// Gaussian-process regression: Matern-5/2 ARD kernel, constant mean,
// per-observation noise sigma2 / reps + tau2. See gp.hpp for the contract.
//
// Cost model (n observations, D dims): one likelihood + gradient evaluation is
// a SYRK for the Gram matrix (n^2 D), a vectorised Matern pass (n^2 / 2), a
// Cholesky (n^3 / 3), a triangular inverse and LAUUM for K^-1 (2 n^3 / 3) and
// a SYMM (2 n^2 D) that
// turns the n x n x D lengthscale gradient into BLAS-3 work. Prediction is
// GEMM + Matern for the cross-covariances and a TRSM (m n^2) for variances.
#include "gp.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "blas.hpp"
#include "lbfgs.hpp"
#include "matern.hpp"
#include "random.hpp"
#include "threading.hpp"

// Not in blas.hpp; exported by the same OpenBLAS.
extern "C" void scipy_cblas_dsymm(int order, int side, int uplo, int m, int n, double alpha, const double* a,
                                  int lda, const double* b, int ldb, double beta, double* c, int ldc);

namespace hh {
namespace {

using namespace blas;  // enum constants

constexpr double kLog2Pi = 1.8378770664093454836;
constexpr double kTiny = 1e-300;          // log(0) guard when packing noise terms
constexpr int kChunkRows = 256;           // candidates per prediction chunk
constexpr double kVarianceFloor = 1e-12;  // relative to the signal variance
constexpr int kJitterAttempts = 11;       // 0, then 1e-10 .. 1e-1 (x scale)
// Screening: how much better (in subset log likelihood) the best screened
// optimum must be than start 0's to be refined on all the data as well.
constexpr double kScreenMargin = 0.05;

void require(bool condition, const std::string& message) {
  if (!condition) throw std::invalid_argument(message);
}

bool all_finite(const double* p, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

void validate_data(const double* x, const double* y, const double* reps, int count, int dim,
                   const char* who) {
  const std::string w(who);
  require(count > 0, w + ": no observations (X is empty)");
  require(x != nullptr && y != nullptr, w + ": null data pointer");
  require(all_finite(x, static_cast<std::size_t>(count) * dim), w + ": X contains NaN or inf");
  require(all_finite(y, count), w + ": y contains NaN or inf");
  for (int i = 0; i < count; ++i)
    require(std::fabs(y[i]) <= kMaxAbsTarget, w + ": |y| must be at most " + number(kMaxAbsTarget) +
                                                  ", got " + number(y[i]) + " at row " + std::to_string(i) +
                                                  " (rescale the targets)");
  if (reps != nullptr) {
    for (int i = 0; i < count; ++i)
      require(std::isfinite(reps[i]) && reps[i] > 0.0, w + ": repetitions must be finite and > 0");
  }
}

// out[i, k] = (x[i, k] - centre[k]) * inv_l[k] (row stride ld_out >= d);
// sq[i] = squared norm of row i. Returns the first row whose squared norm is
// not <= kMaxScaledNorm2 (NaN included), or -1 when every row is fine.
int scale_inputs(const double* x, int n, int d, const double* centre, const double* inv_l, double* out,
                 int ld_out, double* sq) {
  int bad = -1;
  for (int i = 0; i < n; ++i) {
    const double* xi = x + static_cast<std::size_t>(i) * d;
    double* oi = out + static_cast<std::size_t>(i) * ld_out;
    double s = 0.0;
    for (int k = 0; k < d; ++k) {
      const double v = (xi[k] - (centre ? centre[k] : 0.0)) * inv_l[k];
      oi[k] = v;
      s += v * v;
    }
    sq[i] = s;
    if (bad < 0 && !(s <= kMaxScaledNorm2)) bad = i;
  }
  return bad;
}

// The error scale_inputs' bad row turns into.
[[noreturn]] void throw_overflow(const char* who, const char* what, int row) {
  throw std::invalid_argument(std::string(who) + ": " + what + " row " + std::to_string(row) +
                              " overflows the kernel: its squared norm after centring and dividing "
                              "by the lengthscales exceeds " +
                              number(kMaxScaledNorm2) + " (inputs too large or lengthscales too short)");
}

// Lower triangle (j <= i) of the noise-free Matern Gram matrix of scaled
// inputs (row stride ld), with k_ii = s2 exactly. If g is given, also the
// gradient factor (see matern.hpp) below the diagonal and g_ii = 0 (the
// diagonal does not depend on the lengthscales).
void gram_lower(const double* xs, int ld, const double* sq, int n, int d, double s2, double* k, double* g) {
  scipy_cblas_dsyrk(RowMajor, Lower, NoTrans, n, d, 1.0, xs, ld, 0.0, k, n);
  for (int i = 0; i < n; ++i) {
    double* ki = k + static_cast<std::size_t>(i) * n;
    if (g != nullptr) {
      double* gi = g + static_cast<std::size_t>(i) * n;
      matern::kernel_and_grad_row(sq[i], sq, ki, gi, i, s2);
      gi[i] = 0.0;
    } else {
      matern::kernel_row(sq[i], sq, ki, i, s2);
    }
    ki[i] = s2;
  }
}

// Upper triangle (j >= i) of the same matrix in row-major storage, which is
// the column-major lower triangle that LAPACK's 'L' routines work on: the
// layout of the fit's workspace, where OpenBLAS's Cholesky and LAUUM run
// faster than on the other triangle (DPOTRF 4.9 vs 6.3 ms at n = 1000 on one
// core of the development machine).
void gram_upper(const double* xs, int ld, const double* sq, int n, int d, double s2, double* k, double* g) {
  scipy_cblas_dsyrk(RowMajor, Upper, NoTrans, n, d, 1.0, xs, ld, 0.0, k, n);
  for (int i = 0; i < n; ++i) {
    double* ki = k + static_cast<std::size_t>(i) * n + i;
    if (g != nullptr) {
      double* gi = g + static_cast<std::size_t>(i) * n + i;
      matern::kernel_and_grad_row(sq[i], sq + i, ki, gi, n - i, s2);
      gi[0] = 0.0;
    } else {
      matern::kernel_row(sq[i], sq + i, ki, n - i, s2);
    }
    ki[0] = s2;
  }
}

// Cholesky in place. uplo 'U': of a row-major lower triangle (LAPACK sees the
// column-major upper triangle of the same memory); 'L': of a row-major upper
// triangle, leaving the column-major lower factor.
bool cholesky_in_place(double* a, int n, char uplo = 'U') {
  if (n == 0) return true;
  int info = 0;
  scipy_dpotrf_(&uplo, &n, a, &n, &info, 1);
  return info == 0;
}

// In-place inverse of a column-major lower-triangular matrix (leading
// dimension lda) by recursive halving: invert both diagonal blocks, then
// A21 := -inv(A22) A21 inv(A11) with two TRMMs. OpenBLAS runs TRMM near its
// GEMM rate; its own DTRTRI reaches about half of that at n = 1000 (7.4 vs
// 4.3 ms on one core of the development machine). Same flops, same result up
// to rounding.
bool invert_lower_in_place(double* a, int n, int lda) {
  constexpr int kLeaf = 32;
  if (n <= kLeaf) {
    if (n == 0) return true;
    int info = 0;
    const char uplo = 'L', diag = 'N';
    scipy_dtrtri_(&uplo, &diag, &n, a, &lda, &info, 1, 1);
    return info == 0;
  }
  const int n1 = (n / 2 + 7) / 8 * 8, n2 = n - n1;
  double* a11 = a;
  double* a21 = a + n1;
  double* a22 = a + n1 + static_cast<std::size_t>(n1) * lda;
  if (!invert_lower_in_place(a11, n1, lda) || !invert_lower_in_place(a22, n2, lda)) return false;
  scipy_cblas_dtrmm(ColMajor, Right, Lower, NoTrans, NonUnit, n2, n1, -1.0, a11, lda, a21, lda);
  scipy_cblas_dtrmm(ColMajor, Left, Lower, NoTrans, NonUnit, n2, n1, 1.0, a22, lda, a21, lda);
  return true;
}

double jitter_for_attempt(int attempt, double scale) {
  return attempt == 0 ? 0.0 : scale * std::pow(10.0, attempt - 11);
}

// Builds K = gram + diag(noise) (+ jitter) with `build` (which must rewrite
// the triangle of k that uplo names, as in cholesky_in_place, diagonal = s2)
// and factorises it, adding growing
// jitter until the Cholesky succeeds. Returns false if it never does.
template <typename Build>
bool factorise_with_jitter(double* k, int n, const double* noise, double scale, const Build& build,
                           double* jitter, char uplo = 'U') {
  for (int attempt = 0; attempt < kJitterAttempts; ++attempt) {
    const double jit = jitter_for_attempt(attempt, scale);
    build();  // POTRF overwrote the previous attempt
    for (int i = 0; i < n; ++i) k[static_cast<std::size_t>(i) * n + i] += noise[i] + jit;
    if (cholesky_in_place(k, n, uplo)) {
      *jitter = jit;
      return true;
    }
  }
  return false;
}

double sum_log_diagonal(const double* l, int n) {
  double s = 0.0;
  for (int i = 0; i < n; ++i) s += std::log(l[static_cast<std::size_t>(i) * n + i]);
  return s;
}

// Likelihood and gradient of one data set; owns the O(n^2) scratch so that
// a fit reuses it across evaluations. Packed layout as in gp.hpp.
class LmlWorkspace {
 public:
  LmlWorkspace(const double* x, const double* y, const double* reps, int n, int d)
      : n_(n), d_(d), x_(x, x + static_cast<std::size_t>(n) * d), y_(y, y + n), inv_reps_(n, 1.0) {
    if (reps != nullptr)
      for (int i = 0; i < n; ++i) inv_reps_[i] = 1.0 / reps[i];
    // Centre the inputs once (distances are translation invariant).
    std::vector<double> centre(d, 0.0);
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < d; ++k) centre[k] += x_[static_cast<std::size_t>(i) * d + k];
    for (double& c : centre) c /= n;
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < d; ++k) x_[static_cast<std::size_t>(i) * d + k] -= centre[k];
    const std::size_t nn = static_cast<std::size_t>(n) * n;
    k_.resize(nn);
    g_.resize(nn);
    xs_.resize(static_cast<std::size_t>(n) * (d + 1));
    ma_.resize(static_cast<std::size_t>(n) * (d + 1));
    sq_.resize(n);
    noise_.resize(n);
    v_.resize(n);
    alpha_.resize(n);
    inv_l_.resize(d);
  }

  // Log marginal likelihood at `packed`; writes the gradient if grad is not
  // null. Returns -inf if K cannot be factorised even with jitter. A call
  // with a gradient at the point of the previous, value-only call continues
  // from that call's factorisation (the fit's line search asks for the
  // gradient only at the step it accepts).
  double evaluate(const double* p, double* grad) {
    const int n = n_, d = d_, ld = d + 1;
    constexpr double kFail = -std::numeric_limits<double>::infinity();
    if (grad != nullptr && value_ready_ && std::equal(p, p + d + 4, value_point_.begin())) {
      value_ready_ = false;
      return gradient(p, value_lml_, value_jitter_, grad);
    }
    value_ready_ = false;
    for (int k = 0; k < d; ++k) inv_l_[k] = std::exp(-p[k]);
    const double s2 = std::exp(p[d]);
    const double sn = std::exp(p[d + 1]);
    const double tau = std::exp(p[d + 2]);
    const double mean = p[d + 3];
    if (!all_finite(inv_l_.data(), d) || !std::isfinite(s2) || !std::isfinite(sn) || !std::isfinite(tau) ||
        !std::isfinite(mean) || !(s2 > 0.0))
      return kFail;
    // xs_ = [x / l | 1]: the ones column makes SYMM also return row sums.
    if (scale_inputs(x_.data(), n, d, nullptr, inv_l_.data(), xs_.data(), ld, sq_.data()) >= 0)
      return kFail;  // the model could not be conditioned at p either
    for (int i = 0; i < n; ++i) xs_[static_cast<std::size_t>(i) * ld + d] = 1.0;
    for (int i = 0; i < n; ++i) noise_[i] = sn * inv_reps_[i] + tau;

    // K, its factor and K^-1 live in the row-major upper triangle of k_ (=
    // the column-major lower triangle LAPACK's 'L' routines see); G likewise,
    // built even for a value-only call, which a gradient call may continue.
    auto build = [&] { gram_upper(xs_.data(), ld, sq_.data(), n, d, s2, k_.data(), g_.data()); };
    double jitter = 0.0;
    if (!factorise_with_jitter(k_.data(), n, noise_.data(), s2, build, &jitter, 'L')) return kFail;
    const double* l = k_.data();  // column-major lower Cholesky factor

    for (int i = 0; i < n; ++i) v_[i] = y_[i] - mean;
    scipy_cblas_dtrsv(ColMajor, Lower, NoTrans, NonUnit, n, l, n, v_.data(), 1);
    double quad = 0.0;
    for (int i = 0; i < n; ++i) quad += v_[i] * v_[i];
    const double lml = -0.5 * quad - sum_log_diagonal(l, n) - 0.5 * n * kLog2Pi;
    if (!std::isfinite(lml)) return kFail;
    if (grad == nullptr) {
      value_ready_ = true;
      value_point_.assign(p, p + d + 4);
      value_lml_ = lml;
      value_jitter_ = jitter;
      return lml;
    }
    return gradient(p, lml, jitter, grad);
  }

 private:
  // The gradient part of evaluate(): k_ holds the Cholesky factor of K at p
  // (with `jitter` added), g_ the kernel gradient factor, xs_, noise_ and v_
  // (= L^-1 (y - mean)) belong to p. Returns lml, or -inf on failure.
  double gradient(const double* p, double lml, double jitter, double* grad) {
    const int n = n_, d = d_, ld = d + 1;
    constexpr double kFail = -std::numeric_limits<double>::infinity();
    const double sn = std::exp(p[d + 1]);
    const double tau = std::exp(p[d + 2]);
    const double mean = p[d + 3];
    const double* l = k_.data();
    std::copy(v_.begin(), v_.end(), alpha_.begin());
    scipy_cblas_dtrsv(ColMajor, Lower, Trans, NonUnit, n, l, n, alpha_.data(), 1);
    // K^-1 = L^-T L^-1: invert L (TRMM recursion), then LAUUM.
    if (!invert_lower_in_place(k_.data(), n, n)) return kFail;
    int info = 0;
    const char uplo = 'L';
    scipy_dlauum_(&uplo, &n, k_.data(), &n, &info, 1);
    if (info != 0) return kFail;
    const double* kinv = k_.data();  // row-major upper triangle of K^-1

    // W = alpha alpha^T - K^-1. Noise/jitter terms only need diag(W).
    double w_sn = 0.0, w_tau = 0.0, w_noise = 0.0, alpha_resid = 0.0, alpha_sum = 0.0;
    for (int i = 0; i < n; ++i) {
      const double wii = alpha_[i] * alpha_[i] - kinv[static_cast<std::size_t>(i) * n + i];
      w_sn += wii * sn * inv_reps_[i];
      w_tau += wii * tau;
      w_noise += wii * (noise_[i] + jitter);
      alpha_resid += alpha_[i] * (y_[i] - mean);
      alpha_sum += alpha_[i];
    }
    // dK/dlog s2 = K - noise - jitter, and tr(W K) = alpha'(y - m) - n.
    grad[d] = 0.5 * ((alpha_resid - n) - w_noise);
    grad[d + 1] = 0.5 * w_sn;
    grad[d + 2] = 0.5 * w_tau;
    grad[d + 3] = alpha_sum;

    // M = W o G above the diagonal (G's diagonal is 0).
    for (int i = 0; i < n; ++i) {
      double* gi = g_.data() + static_cast<std::size_t>(i) * n;
      const double* ki = kinv + static_cast<std::size_t>(i) * n;
      const double ai = alpha_[i];
      for (int j = i + 1; j < n; ++j) gi[j] *= ai * alpha_[j] - ki[j];
    }
    // dL/dlog l_k = 1/2 sum_ij M_ij (a_ik - a_jk)^2
    //             = sum_i a_ik (a_ik rowsum(M)_i - (M A)_ik).
    scipy_cblas_dsymm(RowMajor, Left, Upper, n, ld, 1.0, g_.data(), n, xs_.data(), ld, 0.0, ma_.data(), ld);
    for (int k = 0; k < d; ++k) grad[k] = 0.0;
    for (int i = 0; i < n; ++i) {
      const double* ai = xs_.data() + static_cast<std::size_t>(i) * ld;
      const double* mi = ma_.data() + static_cast<std::size_t>(i) * ld;
      const double rowsum = mi[d];
      for (int k = 0; k < d; ++k) grad[k] += ai[k] * (ai[k] * rowsum - mi[k]);
    }
    if (!all_finite(grad, d + 4)) return kFail;
    return lml;
  }

  int n_, d_;
  std::vector<double> x_, y_, inv_reps_;
  std::vector<double> k_, g_, xs_, ma_, sq_, noise_, v_, alpha_, inv_l_;
  // The last value-only call, while k_ still holds its factorisation.
  bool value_ready_ = false;
  std::vector<double> value_point_;
  double value_lml_ = 0.0, value_jitter_ = 0.0;
};

// [lo, hi] intersected with [a, b], or [a, b] if they do not overlap.
void intersect(double lo, double hi, double* a, double* b) {
  const double na = std::max(lo, *a), nb = std::min(hi, *b);
  if (na <= nb) {
    *a = na;
    *b = nb;
  }
}

// Mean and spread of the targets for the fit's standardisation: any spread
// down to kMinTargetSpread is used as it is, however small. Constant targets,
// and spreads so small that their square (the scale of every fitted
// variance) would underflow, keep scale 1 and the mean pinned to theirs: the
// model then predicts (almost exactly) that mean.
struct TargetScale {
  double mean = 0.0, scale = 1.0;
  bool constant = false;
};

TargetScale standardisation(const std::vector<double>& y) {
  const int n = static_cast<int>(y.size());
  TargetScale t;
  const auto [lo, hi] = std::minmax_element(y.begin(), y.end());
  if (*lo == *hi) {
    t.mean = *lo;
    t.constant = true;
    return t;
  }
  for (double v : y) t.mean += v;
  t.mean /= n;
  double var = 0.0;
  for (double v : y) var += (v - t.mean) * (v - t.mean);
  t.scale = std::sqrt(var / n);
  if (!(t.scale >= kMinTargetSpread)) {
    t.scale = 1.0;
    t.constant = true;
  }
  return t;
}

}  // namespace

void validate(const Hyperparameters& hp, int dim) {
  require(dim >= 1, "hyperparameters: need at least one lengthscale");
  require(static_cast<int>(hp.lengthscales.size()) == dim, "hyperparameters: expected " +
                                                               std::to_string(dim) + " lengthscales, got " +
                                                               std::to_string(hp.lengthscales.size()));
  for (double l : hp.lengthscales)
    require(std::isfinite(l) && l > 0.0 && std::isfinite(1.0 / l),
            "hyperparameters: lengthscales must be finite and > 0 with a "
            "finite inverse, got " +
                number(l));
  require(std::isfinite(hp.signal_variance) && hp.signal_variance >= std::numeric_limits<double>::min(),
          "hyperparameters: signal_variance must be finite and a positive "
          "normal double (>= 2.2e-308), got " +
              number(hp.signal_variance));
  require(std::isfinite(hp.noise_variance) && hp.noise_variance >= 0.0,
          "hyperparameters: noise_variance must be finite and >= 0, got " + number(hp.noise_variance));
  require(std::isfinite(hp.noise_floor) && hp.noise_floor >= 0.0,
          "hyperparameters: noise_floor must be finite and >= 0, got " + number(hp.noise_floor));
  require(std::isfinite(hp.mean), "hyperparameters: mean must be finite, got " + number(hp.mean));
}

void validate(const FitOptions& o) {
  require(o.restarts >= 0 && o.restarts <= kMaxRestarts, "fit: restarts must be in [0, " +
                                                             std::to_string(kMaxRestarts) + "], got " +
                                                             std::to_string(o.restarts));
  require(o.max_iterations >= 1, "fit: max_iterations must be >= 1, got " + std::to_string(o.max_iterations));
  require(std::isfinite(o.tolerance) && o.tolerance >= 0.0,
          "fit: tolerance must be finite and >= 0, got " + number(o.tolerance));
  auto check_bounds = [](double lo, double hi, const char* what) {
    require(std::isfinite(lo) && std::isfinite(hi) && lo > 0.0 && lo <= hi,
            std::string("fit: bounds for ") + what + " must be finite with 0 < min <= max, got [" +
                number(lo) + ", " + number(hi) + "]");
  };
  check_bounds(o.lengthscale_min, o.lengthscale_max, "lengthscales");
  check_bounds(o.signal_variance_min, o.signal_variance_max, "signal_variance");
  check_bounds(o.noise_min, o.noise_max, "noise");
  require(std::isfinite(o.mean_min) && std::isfinite(o.mean_max) && o.mean_min <= o.mean_max,
          "fit: bounds for mean must be finite with min <= max");
  require(std::isfinite(o.lengthscale_prior_center) && o.lengthscale_prior_center >= 0.0 &&
              std::isfinite(o.lengthscale_prior_width) && o.lengthscale_prior_width >= 0.0,
          "fit: lengthscale_prior_center and lengthscale_prior_width must be "
          "finite and >= 0 (0 disables the prior)");
  require(o.threads >= 0,
          "fit: threads must be >= 0 (0 = the core's default), got " + std::to_string(o.threads));
  require(o.screening_size >= 0, "fit: screening_size must be >= 0, got " + std::to_string(o.screening_size));
}

GaussianProcess::GaussianProcess(int dim) : dim_(dim) {
  require(dim >= 1, "GaussianProcess: dim must be >= 1, got " + std::to_string(dim));
  hp_.lengthscales.assign(dim, 1.0);
}

GaussianProcess::Data GaussianProcess::make_data(const double* x, const double* y, const double* reps, int n,
                                                 const char* who) const {
  validate_data(x, y, reps, n, dim_, who);
  Data data;
  const std::size_t nd = static_cast<std::size_t>(n) * dim_;
  data.n = n;
  data.x.assign(x, x + nd);
  data.y.assign(y, y + n);
  if (reps != nullptr)
    data.reps.assign(reps, reps + n);
  else
    data.reps.assign(n, 1.0);
  data.centre.assign(dim_, 0.0);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < dim_; ++k) data.centre[k] += data.x[static_cast<std::size_t>(i) * dim_ + k];
  for (double& c : data.centre) c /= n;
  return data;
}

void GaussianProcess::set_data(const double* x, const double* y, const double* reps, int n) {
  Data data = make_data(x, y, reps, n, "set_data");
  Posterior post = condition(data, hp_);
  data_ = std::move(data);  // nothing below throws
  post_ = std::move(post);
}

void GaussianProcess::set_hyperparameters(const Hyperparameters& hp) {
  validate(hp, dim_);
  Posterior post = condition(data_, hp);
  hp_ = hp;  // nothing below throws: vector copy assignment of equal size
  hp_explicit_ = true;
  post_ = std::move(post);
}

GaussianProcess::Posterior GaussianProcess::condition(const Data& data, const Hyperparameters& hp) const {
  const int n = data.n, d = dim_;
  Posterior post;
  if (n == 0) return post;
  use_single_threaded_blas();
  std::vector<double> inv_l(d);
  for (int k = 0; k < d; ++k) inv_l[k] = 1.0 / hp.lengthscales[k];
  post.scaled_x.resize(static_cast<std::size_t>(n) * d);
  post.scaled_sq.resize(n);
  const int bad = scale_inputs(data.x.data(), n, d, data.centre.data(), inv_l.data(), post.scaled_x.data(), d,
                               post.scaled_sq.data());
  if (bad >= 0) throw_overflow("GaussianProcess", "X", bad);
  std::vector<double> noise(n);
  for (int i = 0; i < n; ++i) noise[i] = hp.noise_variance / data.reps[i] + hp.noise_floor;
  post.chol.assign(static_cast<std::size_t>(n) * n, 0.0);
  const double s2 = hp.signal_variance;
  auto build = [&] {
    gram_lower(post.scaled_x.data(), d, post.scaled_sq.data(), n, d, s2, post.chol.data(), nullptr);
  };
  require(factorise_with_jitter(post.chol.data(), n, noise.data(), s2, build, &post.jitter),
          "GaussianProcess: the kernel matrix is not positive definite even "
          "with jitter up to 10% of the signal variance (check the "
          "hyperparameters and the inputs)");
  for (int i = 0; i < n; ++i)  // clear what SYRK/POTRF left above the diagonal
    std::fill(post.chol.begin() + static_cast<std::size_t>(i) * n + i + 1,
              post.chol.begin() + static_cast<std::size_t>(i + 1) * n, 0.0);
  post.whitened.resize(n);
  for (int i = 0; i < n; ++i) post.whitened[i] = data.y[i] - hp.mean;
  scipy_cblas_dtrsv(RowMajor, Lower, NoTrans, NonUnit, n, post.chol.data(), n, post.whitened.data(), 1);
  finish(&post, n, "GaussianProcess");
  return post;
}

std::vector<double> GaussianProcess::pack(const Hyperparameters& hp) const {
  validate(hp, dim_);
  std::vector<double> p(dim_ + 4);
  for (int k = 0; k < dim_; ++k) p[k] = std::log(hp.lengthscales[k]);
  p[dim_] = std::log(hp.signal_variance);
  p[dim_ + 1] = std::log(std::max(hp.noise_variance, kTiny));
  p[dim_ + 2] = std::log(std::max(hp.noise_floor, kTiny));
  p[dim_ + 3] = hp.mean;
  return p;
}

Hyperparameters GaussianProcess::unpack(const std::vector<double>& p) const {
  require(static_cast<int>(p.size()) == dim_ + 4, "unpack: expected " + std::to_string(dim_ + 4) + " values");
  require(all_finite(p.data(), p.size()), "unpack: non-finite value");
  Hyperparameters hp;
  hp.lengthscales.resize(dim_);
  for (int k = 0; k < dim_; ++k) hp.lengthscales[k] = std::exp(p[k]);
  hp.signal_variance = std::exp(p[dim_]);
  hp.noise_variance = std::exp(p[dim_ + 1]);
  hp.noise_floor = std::exp(p[dim_ + 2]);
  hp.mean = p[dim_ + 3];
  return hp;
}

double GaussianProcess::lml_and_gradient(const std::vector<double>& packed,
                                         std::vector<double>* gradient) const {
  require(static_cast<int>(packed.size()) == dim_ + 4,
          "lml_and_gradient: expected " + std::to_string(dim_ + 4) + " values");
  require(all_finite(packed.data(), packed.size()), "lml_and_gradient: non-finite parameter");
  if (gradient != nullptr) gradient->assign(dim_ + 4, 0.0);
  if (data_.n == 0) return 0.0;
  use_single_threaded_blas();
  LmlWorkspace ws(data_.x.data(), data_.y.data(), data_.reps.data(), data_.n, dim_);
  return ws.evaluate(packed.data(), gradient ? gradient->data() : nullptr);
}

FitResult GaussianProcess::fit(const FitOptions& options) {
  validate(options);
  require(data_.n > 0, "fit: no data (call set_data first)");
  Data data = data_;  // commit_fit swaps it back in
  return commit_fit(&data, optimise(data, options));
}

FitResult GaussianProcess::fit(const double* x, const double* y, const double* reps, int n,
                               const FitOptions& options) {
  validate(options);
  Data data = make_data(x, y, reps, n, "fit");
  return commit_fit(&data, optimise(data, options));
}

FitResult GaussianProcess::commit_fit(Data* data, const Optimum& optimum) {
  const Hyperparameters& hp = optimum.found ? optimum.hp : hp_;
  Posterior post = condition(*data, hp);
  FitResult result = optimum.result;
  result.log_marginal_likelihood = post.lml;
  if (optimum.found) {
    hp_ = optimum.hp;
    hp_explicit_ = true;
  }
  data_.n = data->n;  // nothing from here on throws
  data_.x.swap(data->x);
  data_.y.swap(data->y);
  data_.reps.swap(data->reps);
  data_.centre.swap(data->centre);
  post_ = std::move(post);
  return result;
}

GaussianProcess::Optimum GaussianProcess::optimise(const Data& data, const FitOptions& o) const {
  const std::vector<double>& x_data = data.x;
  const std::vector<double>& reps_data = data.reps;
  const int d = dim_, n = data.n, np = d + 4;
  const int threads = resolve_threads(o.threads);
  use_single_threaded_blas();

  // Standardise the targets (see standardisation).
  const TargetScale target = standardisation(data.y);
  const double ym = target.mean, ys = target.scale;
  std::vector<double> yn(n);
  for (int i = 0; i < n; ++i) yn[i] = (data.y[i] - ym) / ys;
  const double ys2 = ys * ys;

  std::vector<double> lower(np), upper(np);
  for (int k = 0; k < d; ++k) {
    lower[k] = std::log(o.lengthscale_min);
    upper[k] = std::log(o.lengthscale_max);
  }
  lower[d] = std::log(o.signal_variance_min);
  upper[d] = std::log(o.signal_variance_max);
  lower[d + 1] = lower[d + 2] = std::log(o.noise_min);
  upper[d + 1] = upper[d + 2] = std::log(o.noise_max);
  lower[d + 3] = o.mean_min;
  upper[d + 3] = o.mean_max;
  // Constant targets: the mean is the constant exactly, so every prediction
  // is that constant (the optimiser would stop a little short of it).
  if (target.constant) lower[d + 3] = upper[d + 3] = 0.0;
  const bool use_prior = o.lengthscale_prior_center > 0.0 && o.lengthscale_prior_width > 0.0;
  const double prior_mu = use_prior ? std::log(o.lengthscale_prior_center) : 0.0;
  const double prior_w2 = use_prior ? o.lengthscale_prior_width * o.lengthscale_prior_width : 1.0;

  // Typical lengthscale for fresh starts: the spread of the inputs times
  // sqrt(D), so that typical pairwise distances are O(1) lengthscales. In high
  // dimensions, starts much shorter than this sit on a plateau (K ~ s2 I)
  // where L-BFGS spends most of its evaluations.
  double log_l0;
  {
    double spread = 0.0;
    for (int k = 0; k < d; ++k) {
      double mu = 0.0, v = 0.0;
      for (int i = 0; i < n; ++i) mu += x_data[static_cast<std::size_t>(i) * d + k];
      mu /= n;
      for (int i = 0; i < n; ++i) {
        const double t = x_data[static_cast<std::size_t>(i) * d + k] - mu;
        v += t * t;
      }
      spread += v / n;
    }
    spread = std::sqrt(spread);  // = sqrt(D) * rms column std
    if (!(spread > 0.0)) spread = use_prior ? o.lengthscale_prior_center : 1.0;
    log_l0 = std::min(std::max(std::log(spread), lower[0]), upper[0]);
  }
  // Start points in normalised, packed units.
  const bool warm = o.warm_start && hp_explicit_;
  std::vector<std::vector<double>> starts;
  {
    std::vector<double> p(np);
    if (warm) {
      for (int k = 0; k < d; ++k) p[k] = std::log(hp_.lengthscales[k]);
      p[d] = std::log(hp_.signal_variance / ys2);
      p[d + 1] = std::log(std::max(hp_.noise_variance / ys2, kTiny));
      p[d + 2] = std::log(std::max(hp_.noise_floor / ys2, kTiny));
      p[d + 3] = (hp_.mean - ym) / ys;
    } else {
      for (int k = 0; k < d; ++k) p[k] = log_l0;
      p[d] = 0.0;
      p[d + 1] = std::log(1e-2);
      p[d + 2] = std::log(1e-4);
      p[d + 3] = 0.0;
    }
    for (int i = 0; i < np; ++i) p[i] = std::min(std::max(p[i], lower[i]), upper[i]);
    starts.push_back(p);
  }
  Rng rng(o.seed);
  for (int r = 0; r < o.restarts; ++r) {
    std::vector<double> p(np);
    double llo = log_l0 - 1.0, lhi = log_l0 + 1.0;
    intersect(lower[0], upper[0], &llo, &lhi);
    for (int k = 0; k < d; ++k) p[k] = rng.uniform(llo, lhi);
    double a = std::log(0.1), b = std::log(10.0);
    intersect(lower[d], upper[d], &a, &b);
    p[d] = rng.uniform(a, b);
    a = std::log(1e-4), b = std::log(0.5);
    intersect(lower[d + 1], upper[d + 1], &a, &b);
    p[d + 1] = rng.uniform(a, b);
    a = std::log(1e-6), b = std::log(0.1);
    intersect(lower[d + 2], upper[d + 2], &a, &b);
    p[d + 2] = rng.uniform(a, b);
    a = -0.5, b = 0.5;
    intersect(lower[d + 3], upper[d + 3], &a, &b);
    p[d + 3] = rng.uniform(a, b);
    starts.push_back(p);
  }
  const int num_starts = static_cast<int>(starts.size());

  LbfgsOptions lo;
  lo.max_iterations = o.max_iterations;
  lo.f_tolerance = o.tolerance;
  lo.g_tolerance = 1e-5;
  lo.max_step = 3.0;            // log units: at most a factor of 20 per first trial
  lo.value_only_trials = true;  // rejected trials skip the K^-1 work

  // Runs L-BFGS from each start on the rows `rows` of the data (all rows if
  // empty), in parallel over starts (each start's result is independent of
  // the worker that runs it).
  auto run_starts = [&](const std::vector<std::vector<double>>& points, const std::vector<int>& rows,
                        const LbfgsOptions& options) {
    const int count = static_cast<int>(points.size());
    std::vector<LbfgsResult> results(count);
    if (count == 0) return results;
    const int m = rows.empty() ? n : static_cast<int>(rows.size());
    std::vector<double> xs, ysub, rsub;
    if (!rows.empty()) {
      for (int i : rows) {
        xs.insert(xs.end(), x_data.begin() + static_cast<std::size_t>(i) * d,
                  x_data.begin() + static_cast<std::size_t>(i + 1) * d);
        ysub.push_back(yn[i]);
        rsub.push_back(reps_data[i]);
      }
    }
    const double* px = rows.empty() ? x_data.data() : xs.data();
    const double* py = rows.empty() ? yn.data() : ysub.data();
    const double* pr = rows.empty() ? reps_data.data() : rsub.data();
    const int workers = std::min(threads, count);
    std::vector<std::unique_ptr<LmlWorkspace>> spaces(std::max(1, workers));
    parallel_for(count, workers, [&](int s, int worker) {
      auto& ws = spaces[worker];
      if (!ws) ws.reset(new LmlWorkspace(px, py, pr, m, d));
      auto objective = [&](const double* p, double* grad) {
        const double lml = ws->evaluate(p, grad);  // grad null: value only
        if (!std::isfinite(lml)) return std::numeric_limits<double>::infinity();
        double f = -lml;
        if (grad != nullptr)
          for (int i = 0; i < np; ++i) grad[i] = -grad[i];
        if (use_prior) {
          for (int k = 0; k < d; ++k) {
            const double z = p[k] - prior_mu;
            f += 0.5 * z * z / prior_w2;
            if (grad != nullptr) grad[k] += z / prior_w2;
          }
        }
        return f;
      };
      results[s] = minimize_lbfgs(objective, points[s], lower, upper, options);
    });
    return results;
  };
  auto usable = [](const LbfgsResult& r) { return r.ok && std::isfinite(r.f); };

  FitResult out;
  out.starts = num_starts;
  std::vector<LbfgsResult> results;
  if (o.screening_size > 0 && n > 2 * o.screening_size) {
    // Screening: all starts on a random subset (cheap), then the best one and
    // the first start as given refined on all the data.
    std::vector<int> perm(n);
    for (int i = 0; i < n; ++i) perm[i] = i;
    Rng subset_rng(o.seed ^ 0x5eed5eed5eed5eedULL);
    for (int i = 0; i < o.screening_size; ++i) {
      const int j = i + static_cast<int>(subset_rng.uniform() * (n - i));
      std::swap(perm[i], perm[std::min(j, n - 1)]);
    }
    std::vector<int> rows(perm.begin(), perm.begin() + o.screening_size);
    std::sort(rows.begin(), rows.end());
    const auto screened = run_starts(starts, rows, lo);
    std::vector<int> order;
    for (int s = 0; s < num_starts; ++s) {
      out.evaluations += screened[s].evaluations;
      if (usable(screened[s])) order.push_back(s);
    }
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return screened[a].f < screened[b].f; });
    // The first start (warm or default) is refined as given: screening must
    // never do worse than a single full-data start from it. The best
    // screened optimum is refined too, unless it beats start 0's own
    // screened optimum by less than kScreenMargin nats: then the restarts
    // only found start 0's optimum again, and refining it as well would
    // mostly repeat that work (measured: it halves the full-data
    // evaluations at n = 1000 and never lowered the fitted likelihood, given
    // the tighter tolerance below).
    std::vector<std::vector<double>> refine = {starts[0]};
    const bool same_as_start0 =
        !order.empty() && usable(screened[0]) && !(screened[order[0]].f < screened[0].f - kScreenMargin);
    if (!order.empty() && !same_as_start0) refine.push_back(screened[order[0]].x);
    // Refinements stop at a tenth of the tolerance: the relative test scales
    // with |f|, which grows with n, and at n = 1000 the default stopped
    // crawls that were still gaining tenths of a nat.
    LbfgsOptions refine_options = lo;
    refine_options.f_tolerance = 0.1 * o.tolerance;
    results = run_starts(refine, {}, refine_options);
  } else {
    results = run_starts(starts, {}, lo);
  }
  int best = -1;
  for (int s = 0; s < static_cast<int>(results.size()); ++s) {
    out.evaluations += results[s].evaluations;
    out.full_evaluations += results[s].evaluations;
    if (usable(results[s]) && (best < 0 || results[s].f < results[best].f)) best = s;
  }
  Optimum optimum;
  optimum.result = out;
  if (best >= 0) {  // else every start failed: the caller keeps hp_
    const std::vector<double>& p = results[best].x;
    Hyperparameters& hp = optimum.hp;
    hp.lengthscales.resize(d);
    for (int k = 0; k < d; ++k) hp.lengthscales[k] = std::exp(p[k]);
    hp.signal_variance = std::exp(p[d]) * ys2;
    hp.noise_variance = std::exp(p[d + 1]) * ys2;
    hp.noise_floor = std::exp(p[d + 2]) * ys2;
    hp.mean = ym + ys * p[d + 3];
    validate(hp, d);
    optimum.found = true;
  }
  return optimum;
}

void GaussianProcess::scale_candidates(const double* xc, int m, const double* inv_l, double* xs, double* sq,
                                       const char* who) const {
  const int bad = scale_inputs(xc, m, dim_, data_.centre.data(), inv_l, xs, dim_, sq);
  if (bad >= 0) throw_overflow(who, "candidate", bad);
}

void GaussianProcess::cross_covariance(const double* xc, int m, double* out) const {
  require(m >= 0, "cross_covariance: m must be >= 0");
  if (m == 0 || data_.n == 0) return;
  require(xc != nullptr && out != nullptr, "cross_covariance: null pointer");
  require(all_finite(xc, static_cast<std::size_t>(m) * dim_),
          "cross_covariance: candidates contain NaN or inf");
  const int n = data_.n, d = dim_;
  std::vector<double> inv_l(d), xs(static_cast<std::size_t>(m) * d), sq(m);
  for (int k = 0; k < d; ++k) inv_l[k] = 1.0 / hp_.lengthscales[k];
  scale_candidates(xc, m, inv_l.data(), xs.data(), sq.data(), "cross_covariance");
  scipy_cblas_dgemm(RowMajor, NoTrans, Trans, m, n, d, 1.0, xs.data(), d, post_.scaled_x.data(), d, 0.0, out,
                    n);
  for (int i = 0; i < m; ++i)
    matern::kernel_row(sq[i], post_.scaled_sq.data(), out + static_cast<std::size_t>(i) * n, n,
                       hp_.signal_variance);
}

void GaussianProcess::solve_lower_rows(double* rows, int count) const {
  const int n = data_.n;
  if (count <= 0 || n == 0) return;
  require(rows != nullptr, "solve_lower_rows: null pointer");
  // V L^T = K  <=>  L v_i = k_i for every row i.
  scipy_cblas_dtrsm(RowMajor, Right, Lower, Trans, NonUnit, count, n, 1.0, post_.chol.data(), n, rows, n);
}

void GaussianProcess::predict(const double* xc, int m, double* mean, double* variance, int threads) const {
  require(m >= 0, "predict: m must be >= 0");
  require(threads >= 0, "predict: threads must be >= 0 (0 = the core's default)");
  if (m == 0) return;
  require(xc != nullptr && mean != nullptr, "predict: null pointer");
  require(all_finite(xc, static_cast<std::size_t>(m) * dim_), "predict: candidates contain NaN or inf");
  const double s2 = hp_.signal_variance;
  if (data_.n == 0) {  // prior
    std::fill(mean, mean + m, hp_.mean);
    if (variance) std::fill(variance, variance + m, s2);
    return;
  }
  const int n = data_.n, d = dim_;
  use_single_threaded_blas();
  const int num_chunks = (m + kChunkRows - 1) / kChunkRows;
  const int workers = std::min(resolve_threads(threads), num_chunks);
  std::vector<double> inv_l(d);
  for (int k = 0; k < d; ++k) inv_l[k] = 1.0 / hp_.lengthscales[k];
  const double floor = kVarianceFloor * s2;
  // One chunk per task: fixed boundaries, so the result is independent of
  // the thread count.
  std::vector<std::vector<double>> scratch(workers);
  parallel_for(num_chunks, workers, [&](int task, int worker) {
    const int start = task * kChunkRows;
    const int rows = std::min(kChunkRows, m - start);
    std::vector<double>& buf = scratch[worker];
    buf.resize(static_cast<std::size_t>(kChunkRows) * (n + d + 1));
    double* kc = buf.data();
    double* xs = kc + static_cast<std::size_t>(kChunkRows) * n;
    double* sq = xs + static_cast<std::size_t>(kChunkRows) * d;
    scale_candidates(xc + static_cast<std::size_t>(start) * d, rows, inv_l.data(), xs, sq, "predict");
    scipy_cblas_dgemm(RowMajor, NoTrans, Trans, rows, n, d, 1.0, xs, d, post_.scaled_x.data(), d, 0.0, kc, n);
    for (int i = 0; i < rows; ++i)
      matern::kernel_row(sq[i], post_.scaled_sq.data(), kc + static_cast<std::size_t>(i) * n, n, s2);
    double* mu = mean + start;
    scipy_cblas_dgemv(RowMajor, NoTrans, rows, n, 1.0, kc, n, post_.alpha.data(), 1, 0.0, mu, 1);
    for (int i = 0; i < rows; ++i) mu[i] += hp_.mean;
    require(all_finite(mu, rows), "predict: the posterior mean overflows");
    if (variance == nullptr) return;
    scipy_cblas_dtrsm(RowMajor, Right, Lower, Trans, NonUnit, rows, n, 1.0, post_.chol.data(), n, kc, n);
    for (int i = 0; i < rows; ++i) {
      const double* v = kc + static_cast<std::size_t>(i) * n;
      double s = 0.0;
      for (int j = 0; j < n; ++j) s += v[j] * v[j];
      // s is NaN only if the factor is; never with a committed posterior.
      variance[start + i] = std::isnan(s) ? s2 : std::max(s2 - s, floor);
    }
  });
}

void GaussianProcess::predict_mean(const double* xc, int m, double* mean, int threads) const {
  predict(xc, m, mean, nullptr, threads);
}

void GaussianProcess::add_points(const double* x, const double* y, const double* reps, int k) {
  require(k >= 0, "add_points: k must be >= 0");
  if (k == 0) return;
  validate_data(x, y, reps, k, dim_, "add_points");
  if (data_.n == 0) {
    set_data(x, y, reps, k);
    return;
  }
  const int n = data_.n, d = dim_, total = n + k;
  const double s2 = hp_.signal_variance;
  use_single_threaded_blas();
  // Everything goes into `data` and `post` first; the model changes only in
  // the swap at the end.
  Data data = data_;
  data.n = total;
  data.x.insert(data.x.end(), x, x + static_cast<std::size_t>(k) * d);
  data.y.insert(data.y.end(), y, y + k);
  if (reps != nullptr)
    data.reps.insert(data.reps.end(), reps, reps + k);
  else
    data.reps.insert(data.reps.end(), k, 1.0);
  const double* reps_new = data.reps.data() + n;

  std::vector<double> inv_l(d), xs(static_cast<std::size_t>(k) * d), sq(k);
  for (int j = 0; j < d; ++j) inv_l[j] = 1.0 / hp_.lengthscales[j];
  const int bad = scale_inputs(x, k, d, data_.centre.data(), inv_l.data(), xs.data(), d, sq.data());
  if (bad >= 0) throw_overflow("add_points", "X", bad);

  // L21 = K21 L11^-T.
  std::vector<double> l21(static_cast<std::size_t>(k) * n);
  scipy_cblas_dgemm(RowMajor, NoTrans, Trans, k, n, d, 1.0, xs.data(), d, post_.scaled_x.data(), d, 0.0,
                    l21.data(), n);
  for (int i = 0; i < k; ++i)
    matern::kernel_row(sq[i], post_.scaled_sq.data(), l21.data() + static_cast<std::size_t>(i) * n, n, s2);
  solve_lower_rows(l21.data(), k);
  // L22 = chol(K22 + noise + jitter - L21 L21^T).
  std::vector<double> l22(static_cast<std::size_t>(k) * k, 0.0);
  gram_lower(xs.data(), d, sq.data(), k, d, s2, l22.data(), nullptr);
  for (int i = 0; i < k; ++i)
    l22[static_cast<std::size_t>(i) * k + i] += noise_of(reps_new[i]) + post_.jitter;
  scipy_cblas_dsyrk(RowMajor, Lower, NoTrans, k, n, -1.0, l21.data(), n, 1.0, l22.data(), k);
  Posterior post;
  if (!cholesky_in_place(l22.data(), k)) {
    // The extension lost positive definiteness (e.g. a near-duplicate with
    // no jitter yet): refactorise from scratch, which adds jitter as needed.
    post = condition(data, hp_);
  } else {
    post = extend(n, k, l21, l22, y, xs, sq);
  }
  data_ = std::move(data);  // nothing below throws
  post_ = std::move(post);
}

void GaussianProcess::finish(Posterior* post, int n, const char* who) {
  post->alpha = post->whitened;
  scipy_cblas_dtrsv(RowMajor, Lower, Trans, NonUnit, n, post->chol.data(), n, post->alpha.data(), 1);
  double quad = 0.0;
  for (double v : post->whitened) quad += v * v;
  post->lml = -0.5 * quad - sum_log_diagonal(post->chol.data(), n) - 0.5 * n * kLog2Pi;
  require(std::isfinite(post->lml) && all_finite(post->alpha.data(), n),
          std::string(who) +
              ": the posterior overflows (targets too far "
              "from the mean for the noise and signal variance)");
}

GaussianProcess::Posterior GaussianProcess::extend(int n, int k, const std::vector<double>& l21,
                                                   const std::vector<double>& l22, const double* y,
                                                   const std::vector<double>& xs,
                                                   const std::vector<double>& sq) const {
  const int total = n + k;
  Posterior post;
  post.jitter = post_.jitter;
  post.chol.assign(static_cast<std::size_t>(total) * total, 0.0);
  for (int i = 0; i < n; ++i)
    std::copy(post_.chol.begin() + static_cast<std::size_t>(i) * n,
              post_.chol.begin() + static_cast<std::size_t>(i) * n + i + 1,
              post.chol.begin() + static_cast<std::size_t>(i) * total);
  for (int i = 0; i < k; ++i) {
    double* row = post.chol.data() + static_cast<std::size_t>(n + i) * total;
    std::copy(l21.begin() + static_cast<std::size_t>(i) * n,
              l21.begin() + static_cast<std::size_t>(i + 1) * n, row);
    std::copy(l22.begin() + static_cast<std::size_t>(i) * k,
              l22.begin() + static_cast<std::size_t>(i) * k + i + 1, row + n);
  }
  // whitened = [z1; L22^-1 (y2 - m - L21 z1)], alpha = L^-T whitened.
  std::vector<double> z2(k);
  for (int i = 0; i < k; ++i) z2[i] = y[i] - hp_.mean;
  scipy_cblas_dgemv(RowMajor, NoTrans, k, n, -1.0, l21.data(), n, post_.whitened.data(), 1, 1.0, z2.data(),
                    1);
  scipy_cblas_dtrsv(RowMajor, Lower, NoTrans, NonUnit, k, l22.data(), k, z2.data(), 1);
  post.whitened = post_.whitened;
  post.whitened.insert(post.whitened.end(), z2.begin(), z2.end());
  post.scaled_x = post_.scaled_x;
  post.scaled_x.insert(post.scaled_x.end(), xs.begin(), xs.end());
  post.scaled_sq = post_.scaled_sq;
  post.scaled_sq.insert(post.scaled_sq.end(), sq.begin(), sq.end());
  finish(&post, total, "add_points");
  return post;
}

}  // namespace hh
