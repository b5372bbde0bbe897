// Unit tests for hh::DiscreteSpace and hh::PointSet.
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "space.hpp"

namespace {

hh::Dimension ordinal(std::vector<double> values, const char* name = "") {
  return hh::Dimension::ordinal(std::move(values), name);
}
hh::Dimension categorical(std::int64_t levels) {
  return hh::Dimension::categorical(levels);
}
hh::Dimension boolean() {
  return hh::Dimension::boolean();
}

// ordinal(4 values), single-level ordinal, categorical(3), boolean.
hh::DiscreteSpace mixed_space() {
  return hh::DiscreteSpace(
      {ordinal({4.0, 5.0, 6.0, 8.0}, "block"), ordinal({7.0}), categorical(3), boolean()});
}

void test_construction() {
  const hh::DiscreteSpace s = mixed_space();
  HH_CHECK(s.num_dims() == 4);
  HH_CHECK(s.num_features() == 1 + 1 + 3 + 1);
  HH_CHECK_NEAR(s.log10_size(), std::log10(4.0 * 1 * 3 * 2), 1e-12);

  HH_CHECK_THROWS(hh::DiscreteSpace({}));
  HH_CHECK_THROWS(hh::DiscreteSpace({ordinal({})}));
  HH_CHECK_THROWS(hh::DiscreteSpace({ordinal({1.0, 1.0})}));
  HH_CHECK_THROWS(hh::DiscreteSpace({ordinal({2.0, 1.0})}));
  HH_CHECK_THROWS(hh::DiscreteSpace({ordinal({1.0, std::numeric_limits<double>::quiet_NaN()})}));
  HH_CHECK_THROWS(hh::DiscreteSpace({ordinal({1.0, std::numeric_limits<double>::infinity()})}));
  HH_CHECK_THROWS(hh::DiscreteSpace({categorical(0)}));
  hh::Dimension b3 = boolean();
  b3.values = {0.0, 1.0, 2.0};  // values are for ordinals only
  HH_CHECK_THROWS(hh::DiscreteSpace({b3}));
  hh::Dimension c1 = categorical(2);
  c1.values = {0.0};
  HH_CHECK_THROWS(hh::DiscreteSpace({c1}));
  hh::Dimension bad = boolean();
  bad.kind = static_cast<hh::DimensionKind>(7);
  HH_CHECK_THROWS(hh::DiscreteSpace({bad}));
  // The message names the dimension.
  try {
    hh::DiscreteSpace({ordinal({1.0, 3.0}), ordinal({3.0, 2.0}, "warps")});
    HH_CHECK(false);
  } catch (const std::invalid_argument& e) {
    HH_CHECK(std::string(e.what()).find("warps") != std::string::npos);
  }
  // Single-level categorical is allowed.
  const hh::DiscreteSpace one({categorical(1)});
  HH_CHECK(one.num_features() == 1);
}

void test_sampling() {
  const hh::DiscreteSpace s = mixed_space();
  const int n = 20000;
  std::vector<std::int32_t> a(n * 4), b(n * 4), c(n * 4);
  s.sample(123, n, a.data());
  s.sample(123, n, b.data());
  s.sample(124, n, c.data());
  HH_CHECK(a == b);
  HH_CHECK(a != c);
  s.validate(a.data(), n);  // in range (throws otherwise)
  // Roughly uniform per dimension.
  const int levels[4] = {4, 1, 3, 2};
  for (int j = 0; j < 4; ++j) {
    std::vector<int> counts(levels[j], 0);
    for (int i = 0; i < n; ++i) {
      const int v = a[i * 4 + j];
      HH_CHECK(v >= 0 && v < levels[j]);
      if (v >= 0 && v < levels[j]) ++counts[v];
    }
    for (int l = 0; l < levels[j]; ++l) {
      const double expected = static_cast<double>(n) / levels[j];
      HH_CHECK(std::fabs(counts[l] - expected) < 5.0 * std::sqrt(expected));
    }
  }
  // A prefix of a longer sample equals the shorter sample.
  std::vector<std::int32_t> shorter(100 * 4);
  s.sample(123, 100, shorter.data());
  HH_CHECK(std::equal(shorter.begin(), shorter.end(), a.begin()));
  // Pinned values (also reproduced by an independent Python port of
  // splitmix64 + xoshiro256** + Lemire rejection on 32-bit halves): the
  // generator is our own, so these must hold on every platform.
  const hh::DiscreteSpace big(
      {ordinal({0, 1, 2, 3, 4, 5, 6}), categorical(5), boolean(), ordinal({1, 2, 3})});
  std::vector<std::int32_t> pinned(3 * 4);
  big.sample(42, 3, pinned.data());
  const std::vector<std::int32_t> expected_pinned = {0, 0, 0, 1, 4, 1, 1, 0, 6, 4, 1, 0};
  HH_CHECK(pinned == expected_pinned);
  if (pinned != expected_pinned) {
    for (int v : pinned) std::fprintf(stderr, "%d, ", v);
    std::fprintf(stderr, "\n");
  }
  s.sample(5, 0, nullptr);  // zero count is fine
  HH_CHECK_THROWS(s.sample(5, -1, a.data()));
}

void test_features() {
  const hh::DiscreteSpace s = mixed_space();
  const std::vector<std::int32_t> pts = {0, 0, 0, 0,   // lowest everything
                                         3, 0, 2, 1,   // highest
                                         2, 0, 1, 0};  // ordinal 6 of [4, 8]
  std::vector<double> f(3 * 6, -1.0);
  s.features(pts.data(), 3, f.data());
  const double r = 1.0 / std::sqrt(2.0);
  const std::vector<double> expected = {0.0, 0.0, r,   0.0, 0.0, 0.0,  //
                                        1.0, 0.0, 0.0, 0.0, r,   1.0,  //
                                        0.5, 0.0, 0.0, r,   0.0, 0.0};
  for (int i = 0; i < 18; ++i) HH_CHECK_NEAR(f[i], expected[i], 1e-15);
  // Two different categorical levels are at distance 1, like the ordinal ends.
  double d2 = 0.0;
  for (int k = 2; k < 5; ++k) d2 += (f[k] - f[12 + k]) * (f[k] - f[12 + k]);
  HH_CHECK_NEAR(d2, 1.0, 1e-15);
}

void test_neighbours() {
  const hh::DiscreteSpace s = mixed_space();
  auto count_of = [&](std::vector<std::int32_t> p) {
    std::vector<std::int32_t> out;
    s.neighbours(p.data(), &out);
    HH_CHECK(out.size() % 4 == 0);
    const int n = static_cast<int>(out.size() / 4);
    s.validate(out.data(), n);
    std::set<std::vector<std::int32_t>> distinct;
    for (int i = 0; i < n; ++i) {
      std::vector<std::int32_t> q(out.begin() + i * 4, out.begin() + i * 4 + 4);
      // Exactly one coordinate changed; ordinal by one level.
      int changed = 0;
      for (int j = 0; j < 4; ++j) {
        if (q[j] != p[j]) {
          ++changed;
          if (j == 0) HH_CHECK(std::abs(q[j] - p[j]) == 1);
        }
      }
      HH_CHECK(changed == 1);
      distinct.insert(q);
    }
    HH_CHECK(static_cast<int>(distinct.size()) == n);
    return n;
  };
  // ordinal end: 1, single level: 0, categorical(3): 2, boolean: 1.
  HH_CHECK(count_of({0, 0, 0, 0}) == 1 + 0 + 2 + 1);
  HH_CHECK(count_of({1, 0, 1, 1}) == 2 + 0 + 2 + 1);
  HH_CHECK(count_of({3, 0, 2, 1}) == 1 + 0 + 2 + 1);
  // Appends (does not clear).
  std::vector<std::int32_t> out = {9, 9, 9, 9};
  const std::vector<std::int32_t> p = {1, 0, 1, 1};
  s.neighbours(p.data(), &out);
  HH_CHECK(out.size() == 4 * 6);
  HH_CHECK(out[0] == 9);
}

void test_validate_and_hash() {
  const hh::DiscreteSpace s = mixed_space();
  const std::vector<std::int32_t> good = {3, 0, 2, 1};
  s.validate(good.data(), 1);
  for (int j = 0; j < 4; ++j) {
    std::vector<std::int32_t> bad = good;
    bad[j] = j == 0 ? 4 : j == 1 ? 1 : j == 2 ? 3 : 2;
    HH_CHECK_THROWS(s.validate(bad.data(), 1));
    bad[j] = -1;
    HH_CHECK_THROWS(s.validate(bad.data(), 1));
  }
  // Hash: equal points agree; distinct points of a small space all differ.
  const std::vector<std::int32_t> copy = good;
  HH_CHECK(s.hash(good.data()) == s.hash(copy.data()));
  std::set<std::uint64_t> hashes;
  int total = 0;
  for (int a = 0; a < 4; ++a)
    for (int c = 0; c < 3; ++c)
      for (int b = 0; b < 2; ++b) {
        const std::vector<std::int32_t> p = {a, 0, c, b};
        hashes.insert(s.hash(p.data()));
        ++total;
      }
  HH_CHECK(static_cast<int>(hashes.size()) == total);
}

void test_point_set() {
  hh::PointSet set(3);
  const std::vector<std::int32_t> a = {1, 2, 3}, b = {1, 2, 4}, a2 = {1, 2, 3};
  HH_CHECK(!set.contains(a.data()));
  set.insert(a.data());
  HH_CHECK(set.contains(a2.data()));
  HH_CHECK(!set.contains(b.data()));
  set.insert(a2.data());
  HH_CHECK(set.size() == 1);
  set.insert(b.data());
  HH_CHECK(set.size() == 2);
  HH_CHECK(set.num_dims() == 3);
}

void test_limits_and_overflowing_ordinals() {
  // Level counts are checked before anything of that size exists.
  HH_CHECK_THROWS(hh::validate(categorical(std::int64_t{1} << 31)));
  HH_CHECK_THROWS(hh::validate(categorical(hh::kMaxLevels + 1)));
  hh::validate(categorical(hh::kMaxLevels));
  HH_CHECK_THROWS(hh::DiscreteSpace({categorical(hh::kMaxLevels), categorical(2)}));  // features
  try {
    hh::validate(hh::Dimension::categorical(std::int64_t{1} << 31, "tile"));
    HH_CHECK(false);
  } catch (const std::invalid_argument& e) {
    HH_CHECK(std::string(e.what()).find("'tile'") != std::string::npos);
  }
  // An ordinal whose range overflows a double still has finite features.
  const hh::DiscreteSpace wide({ordinal({-1e308, 0.0, 1e308}), ordinal({0.0, 5e-324})});
  const std::vector<std::int32_t> pts = {0, 0, 1, 1, 2, 0};
  std::vector<double> f(6);
  wide.features(pts.data(), 3, f.data());
  const std::vector<double> expected = {0.0, 0.0, 0.5, 1.0, 1.0, 0.0};
  HH_CHECK(f == expected);
  // size_capped and point_at enumerate the space without overflow.
  const hh::DiscreteSpace s = mixed_space();
  HH_CHECK(s.size_capped(1000) == 24);
  HH_CHECK(s.size_capped(10) == 11);
  // 1e20 points: more than an int64 holds.
  const hh::DiscreteSpace huge(
      {categorical(10000), categorical(10000), categorical(10000), categorical(10000), categorical(10000)});
  const std::int64_t cap = std::int64_t{1} << 62;
  HH_CHECK(huge.size_capped(cap) == cap + 1);
  std::set<std::vector<std::int32_t>> all;
  std::vector<std::int32_t> p(4);
  for (int i = 0; i < 24; ++i) {
    s.point_at(i, p.data());
    s.validate(p.data(), 1);
    all.insert(p);
  }
  HH_CHECK(all.size() == 24u);
}

void test_sampled_categorical_neighbours() {
  const hh::DiscreteSpace s({categorical(20000), ordinal({0, 1, 2}), boolean()});
  const std::vector<std::int32_t> p = {123, 1, 0};
  std::vector<std::int32_t> a, b, c, full;
  s.neighbours(p.data(), &a, 64, 7);
  s.neighbours(p.data(), &b, 64, 7);
  s.neighbours(p.data(), &c, 64, 8);
  s.neighbours(p.data(), &full);
  HH_CHECK(a.size() == 3u * (64 + 2 + 1));  // bounded, not 20000
  HH_CHECK(full.size() == 3u * (19999 + 2 + 1));
  HH_CHECK(a == b);  // deterministic in (seed, point)
  HH_CHECK(a != c);
  std::set<std::int32_t> levels;
  for (std::size_t i = 0; i < a.size(); i += 3) {
    if (a[i] != p[0]) levels.insert(a[i]);
    HH_CHECK(a[i] >= 0 && a[i] < 20000);
  }
  HH_CHECK(levels.size() == 64u && !levels.count(123));  // distinct, never the current level
  // Few levels: all of them, as without a bound.
  const hh::DiscreteSpace small({categorical(5)});
  const std::vector<std::int32_t> q = {2};
  std::vector<std::int32_t> d;
  small.neighbours(q.data(), &d, 64, 1);
  HH_CHECK((d == std::vector<std::int32_t>{0, 1, 3, 4}));
  // Sampling every other level but one still gives distinct levels.
  std::vector<std::int32_t> e;
  small.neighbours(q.data(), &e, 3, 1);
  HH_CHECK(e.size() == 3u && std::set<std::int32_t>(e.begin(), e.end()).size() == 3u);
}

}  // namespace

int main() {
  test_construction();
  test_sampling();
  test_features();
  test_neighbours();
  test_validate_and_hash();
  test_point_set();
  test_limits_and_overflowing_ordinals();
  test_sampled_categorical_neighbours();
  HH_CHECK_THROWS(hh::PointSet(0));
  HH_TEST_MAIN_END();
}
