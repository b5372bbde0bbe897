// Vectorised Matern-5/2 kernel rows. The GP builds Gram matrices with the
// GEMM distance trick on inputs already divided by the lengthscales:
//   r^2 = |a|^2 + |b|^2 - 2 a.b   (clamped at 0),
//   k(r) = s2 (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r),
// and these loops turn a row of dot products into kernel values. They run
// over n^2 (fit) or m*n (predict) pairs, so they are compiled for several
// instruction sets and dispatched at run time (no -march=native needed).
#pragma once

namespace hh::matern {

constexpr double kSqrt5 = 2.2360679774997896964;

// In place: dot[j] (= a.b_j) becomes k(a, b_j) for j in [0, count).
// sq_a = |a|^2, sq_b[j] = |b_j|^2.
void kernel_row(double sq_a, const double* sq_b, double* dot, int count, double s2);

// As kernel_row, and also writes grad[j] = s2 * 5/3 (1 + sqrt5 r) exp(-sqrt5 r),
// the factor such that d k / d log(l_d) = grad * ((a_d - b_d) / l_d)^2.
void kernel_and_grad_row(double sq_a, const double* sq_b, double* dot, double* grad, int count, double s2);

// Over one row of kernel values k (count entries): *dot = sum_j k_j a_j and
// *max_weighted_square = max_j k_j^2 w_j (0 for an empty row; NaN terms are
// skipped). One pass instead of a GEMV and a second scan; the partial sums
// run in eight fixed lanes combined in a fixed order, so every instruction
// set (and thread count) gives the same result.
void row_dot_and_max_weighted_square(const double* k, const double* a, const double* w, int count,
                                     double* dot, double* max_weighted_square);

// Scalar reference (std::exp / std::sqrt), for tests and small cases.
double kernel_from_r2(double r2, double s2);

// The vectorisable exp used by the rows, for x <= 0 (returns 0 below -708);
// exposed for tests.
double exp_nonpositive(double x);

}  // namespace hh::matern
