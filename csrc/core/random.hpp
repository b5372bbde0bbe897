// The core's one random generator: xoshiro256** (Blackman & Vigna) seeded by
// splitmix64. Fixed integer arithmetic, so a seed gives the same stream on
// every platform and standard library (std:: distributions are
// implementation-defined, hence not used anywhere in the core).
#pragma once

#include <cstdint>

namespace hh {

// One splitmix64 step: advances *state and returns a well-mixed word. Also
// used to derive seeds and finalise hashes.
inline std::uint64_t splitmix64(std::uint64_t* state) {
  std::uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    std::uint64_t sm = seed;
    for (auto& w : s_) w = splitmix64(&sm);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  double uniform() { return (next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Exactly uniform integer in [0, k): Lemire's multiply-shift with
  // rejection (no bias, almost never a division), on 32-bit halves of the
  // 64-bit outputs (high half first). Portable: only 64-bit products.
  std::uint32_t below(std::uint32_t k) {
    if (k <= 1) return 0;
    std::uint64_t m = static_cast<std::uint64_t>(next32()) * k;
    std::uint32_t low = static_cast<std::uint32_t>(m);
    if (low < k) {
      const std::uint32_t threshold = (0u - k) % k;
      while (low < threshold) {
        m = static_cast<std::uint64_t>(next32()) * k;
        low = static_cast<std::uint32_t>(m);
      }
    }
    return static_cast<std::uint32_t>(m >> 32);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint32_t next32() {
    if (have_low_) {
      have_low_ = false;
      return low_;
    }
    const std::uint64_t r = next();
    low_ = static_cast<std::uint32_t>(r);
    have_low_ = true;
    return static_cast<std::uint32_t>(r >> 32);
  }

  std::uint64_t s_[4];
  std::uint32_t low_ = 0;
  bool have_low_ = false;
};

}  // namespace hh
