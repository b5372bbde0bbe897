// Why the pragma: GCC refuses to if-convert (and so to vectorise) the clamps
// below under the default -ftrapping-math. The loops raise no FP exceptions
// anyone observes. r = sqrt(r^2) is std::sqrt, which vectorises to the
// hardware square root only without errno handling: CMakeLists.txt compiles
// this file with -fno-math-errno (`optimize("no-math-errno")` is not
// honoured). The hardware instruction is correctly rounded and runs on its
// own unit: kernel_row over 1e5 x 1000 pairs took 80 ms instead of 130 ms
// with the Newton inverse square root used before (one core, AVX-512).
// Built without the flag, the loops stay correct but scalar.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "matern.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>

// Runtime dispatch between instruction sets (GCC function multiversioning).
// x86-64-v4 = AVX-512, v3 = AVX2+FMA; "default" is the portable baseline.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#define HH_HOT_LOOP __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#elif defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define HH_HOT_LOOP __attribute__((target_clones("avx2", "default")))
#else
#define HH_HOT_LOOP
#endif

namespace hh::matern {
namespace {

inline double bits_to_double(std::uint64_t b) {
  double d;
  std::memcpy(&d, &b, sizeof d);
  return d;
}
inline std::uint64_t double_to_bits(double d) {
  std::uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

// exp(x) for x <= 0: x = n ln2 + r with |r| <= ln2/2, Taylor polynomial of
// degree 13 (truncation < 2e-16) evaluated by Estrin's scheme (short
// dependency chains), times 2^n assembled in the exponent bits.
inline double exp_nonpositive_inline(double x) {
  x = x < -708.0 ? -708.0 : x;
  const double kShifter = 6755399441055744.0;  // 1.5 * 2^52: rounds to int
  const double t = x * 1.4426950408889634074 + kShifter;
  const double n = t - kShifter;
  double r = x - n * 6.93147180369123816490e-01;
  r = r - n * 1.90821492927058770002e-10;
  const double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  const double c01 = 1.0 + r;
  const double c23 = 0.5 + r * (1.0 / 6.0);
  const double c45 = 1.0 / 24.0 + r * (1.0 / 120.0);
  const double c67 = 1.0 / 720.0 + r * (1.0 / 5040.0);
  const double c89 = 1.0 / 40320.0 + r * (1.0 / 362880.0);
  const double c1011 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0);
  const double c1213 = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0);
  const double d03 = c01 + r2 * c23;
  const double d47 = c45 + r2 * c67;
  const double d811 = c89 + r2 * c1011;
  const double p = (d03 + r4 * d47) + r8 * (d811 + r4 * c1213);
  // The low bits of t hold n; shifting (bits + 1023) left by 52 drops the
  // shifter's own exponent and leaves the biased exponent of 2^n.
  const std::uint64_t scale = (double_to_bits(t) + 1023) << 52;
  return p * bits_to_double(scale);
}

}  // namespace

HH_HOT_LOOP
void kernel_row(double sq_a, const double* __restrict sq_b, double* __restrict dot, int count, double s2) {
  for (int j = 0; j < count; ++j) {
    double r2 = sq_a + sq_b[j] - 2.0 * dot[j];
    r2 = r2 > 0.0 ? r2 : 0.0;
    const double sr = kSqrt5 * std::sqrt(r2);
    const double e = s2 * exp_nonpositive_inline(-sr);
    dot[j] = (1.0 + sr + (5.0 / 3.0) * r2) * e;
  }
}

HH_HOT_LOOP
void kernel_and_grad_row(double sq_a, const double* __restrict sq_b, double* __restrict dot,
                         double* __restrict grad, int count, double s2) {
  for (int j = 0; j < count; ++j) {
    double r2 = sq_a + sq_b[j] - 2.0 * dot[j];
    r2 = r2 > 0.0 ? r2 : 0.0;
    const double sr = kSqrt5 * std::sqrt(r2);
    const double e = s2 * exp_nonpositive_inline(-sr);
    dot[j] = (1.0 + sr + (5.0 / 3.0) * r2) * e;
    grad[j] = (5.0 / 3.0) * (1.0 + sr) * e;
  }
}

HH_HOT_LOOP
void row_dot_and_max_weighted_square(const double* __restrict k, const double* __restrict a,
                                     const double* __restrict w, int count, double* dot,
                                     double* max_weighted_square) {
  // GCC vector extensions: eight lanes whatever the instruction set (the
  // baseline build splits them into SSE2 pairs), so the order is fixed.
  typedef double Lanes __attribute__((vector_size(64)));
  Lanes sum = {0, 0, 0, 0, 0, 0, 0, 0}, mx = sum;
  int j = 0;
  for (; j + 8 <= count; j += 8) {
    Lanes kj, aj, wj;
    std::memcpy(&kj, k + j, sizeof kj);
    std::memcpy(&aj, a + j, sizeof aj);
    std::memcpy(&wj, w + j, sizeof wj);
    sum += kj * aj;
    const Lanes q = kj * kj * wj;
    mx = q > mx ? q : mx;
  }
  for (int l = 0; j < count; ++j, ++l) {
    sum[l] += k[j] * a[j];
    const double q = k[j] * k[j] * w[j];
    mx[l] = q > mx[l] ? q : mx[l];
  }
  *dot = ((sum[0] + sum[1]) + (sum[2] + sum[3])) + ((sum[4] + sum[5]) + (sum[6] + sum[7]));
  double m = mx[0];
  for (int l = 1; l < 8; ++l) m = mx[l] > m ? mx[l] : m;
  *max_weighted_square = m;
}

double kernel_from_r2(double r2, double s2) {
  if (!(r2 > 0.0)) r2 = 0.0;
  const double sr = kSqrt5 * std::sqrt(r2);
  return s2 * (1.0 + sr + (5.0 / 3.0) * r2) * std::exp(-sr);
}

double exp_nonpositive(double x) {
  return exp_nonpositive_inline(x);
}

}  // namespace hh::matern
