// A minimal test harness for the C++ unit tests (no external framework, so
// the sanitizer build needs nothing beyond the compiler and OpenBLAS).
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace hh_test {
inline int& failures() {
  static int count = 0;
  return count;
}
}  // namespace hh_test

#define HH_CHECK(cond)                                                              \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++hh_test::failures();                                                        \
    }                                                                               \
  } while (0)

#define HH_CHECK_NEAR(a, b, tol)                                                                        \
  do {                                                                                                  \
    const double hh_a = (a), hh_b = (b);                                                                \
    if (!(std::fabs(hh_a - hh_b) <= (tol) * (1.0 + std::fabs(hh_b)))) {                                 \
      std::fprintf(stderr, "%s:%d: %s = %.12g, %s = %.12g, tol %g\n", __FILE__, __LINE__, #a, hh_a, #b, \
                   hh_b, (double)(tol));                                                                \
      ++hh_test::failures();                                                                            \
    }                                                                                                   \
  } while (0)

#define HH_CHECK_THROWS(expr)                                                                    \
  do {                                                                                           \
    bool hh_threw = false;                                                                       \
    try {                                                                                        \
      expr;                                                                                      \
    } catch (const std::exception&) {                                                            \
      hh_threw = true;                                                                           \
    }                                                                                            \
    if (!hh_threw) {                                                                             \
      std::fprintf(stderr, "%s:%d: expected an exception from %s\n", __FILE__, __LINE__, #expr); \
      ++hh_test::failures();                                                                     \
    }                                                                                            \
  } while (0)

#define HH_TEST_MAIN_END()                                               \
  do {                                                                   \
    if (hh_test::failures()) {                                           \
      std::fprintf(stderr, "%d check(s) failed\n", hh_test::failures()); \
      return 1;                                                          \
    }                                                                    \
    std::printf("all checks passed\n");                                  \
    return 0;                                                            \
  } while (0)
