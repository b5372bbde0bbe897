// DiscreteSpace and PointSet. See space.hpp for the contract.
#include "space.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

#include "random.hpp"

namespace hh {

namespace {

const char* kind_name(DimensionKind kind) {
  switch (kind) {
    case DimensionKind::Ordinal:
      return "ordinal";
    case DimensionKind::Categorical:
      return "categorical";
    case DimensionKind::Boolean:
      return "boolean";
  }
  return "unknown";
}

std::string dim_label(const Dimension& d, std::size_t i) {
  if (i == kNoIndex) return d.name.empty() ? "dimension" : "dimension '" + d.name + "'";
  std::string s = "dimension " + std::to_string(i);
  if (!d.name.empty()) s += " ('" + d.name + "')";
  return s;
}

}  // namespace

Dimension Dimension::ordinal(std::vector<double> values, std::string name) {
  Dimension d;
  d.kind = DimensionKind::Ordinal;
  d.values = std::move(values);
  d.name = std::move(name);
  return d;
}

Dimension Dimension::categorical(std::int64_t levels, std::string name) {
  Dimension d;
  d.kind = DimensionKind::Categorical;
  d.count = levels;
  d.name = std::move(name);
  return d;
}

Dimension Dimension::boolean(std::string name) {
  Dimension d;
  d.kind = DimensionKind::Boolean;
  d.name = std::move(name);
  return d;
}

int Dimension::levels() const {
  switch (kind) {
    case DimensionKind::Ordinal:
      return static_cast<int>(values.size());
    case DimensionKind::Categorical:
      return static_cast<int>(count);
    case DimensionKind::Boolean:
      return 2;
  }
  return 0;
}

void validate(const Dimension& d, std::size_t i) {
  auto fail = [&](const std::string& what) {
    throw std::invalid_argument(std::string(kind_name(d.kind)) + " " + dim_label(d, i) + ": " + what);
  };
  const std::string max = std::to_string(kMaxLevels);
  switch (d.kind) {
    case DimensionKind::Ordinal: {
      const std::size_t k = d.values.size();
      if (k < 1) fail("needs at least one value");
      if (k > static_cast<std::size_t>(kMaxLevels))
        fail(std::to_string(k) + " values exceed the maximum of " + max);
      for (std::size_t j = 0; j < k; ++j) {
        if (!std::isfinite(d.values[j])) fail("value " + std::to_string(j) + " is not finite");
        if (j > 0 && !(d.values[j] > d.values[j - 1])) {
          fail("values must be strictly increasing (value " + std::to_string(j) +
               " is not greater than value " + std::to_string(j - 1) + ")");
        }
      }
      return;
    }
    case DimensionKind::Categorical:
      if (!d.values.empty()) fail("values are for ordinal dimensions only");
      if (d.count < 1) fail("needs at least one level, got " + std::to_string(d.count));
      if (d.count > kMaxLevels) {
        fail(std::to_string(d.count) + " levels exceed the maximum of " + max +
             " (each level is one model feature)");
      }
      return;
    case DimensionKind::Boolean:
      if (!d.values.empty()) fail("values are for ordinal dimensions only");
      return;
  }
  throw std::invalid_argument(dim_label(d, i) + ": unknown dimension kind " +
                              std::to_string(static_cast<int>(d.kind)));
}

DiscreteSpace::DiscreteSpace(std::vector<Dimension> dims) : dims_(std::move(dims)) {
  // A space with no dimension has one (empty) point and no features; nothing
  // downstream (GP with dim 0, neighbours) makes sense for it, so refuse it.
  if (dims_.empty()) {
    throw std::invalid_argument("a DiscreteSpace needs at least one dimension");
  }
  std::int64_t features = 0;
  for (std::size_t i = 0; i < dims_.size(); ++i) {
    hh::validate(dims_[i], i);
    features += dims_[i].features();
    if (features > kMaxFeatures) {
      throw std::invalid_argument("a DiscreteSpace may have at most " + std::to_string(kMaxFeatures) +
                                  " model features; dimension " + std::to_string(i) + " brings it to " +
                                  std::to_string(features));
    }
  }
  feature_offset_.resize(dims_.size());
  ordinal_scale_.resize(dims_.size());
  num_features_ = 0;
  for (std::size_t i = 0; i < dims_.size(); ++i) {
    const Dimension& d = dims_[i];
    feature_offset_[i] = num_features_;
    num_features_ += d.features();
    if (d.kind == DimensionKind::Ordinal) {
      OrdinalScale& o = ordinal_scale_[i];
      const double lo = d.values.front(), hi = d.values.back();
      o.halved = !std::isfinite(hi - lo);
      o.lo = o.halved ? 0.5 * lo : lo;
      o.range = o.halved ? 0.5 * hi - 0.5 * lo : hi - lo;
    }
  }
}

double DiscreteSpace::log10_size() const {
  double s = 0.0;
  for (const auto& d : dims_) s += std::log10(static_cast<double>(d.levels()));
  return s;
}

std::int64_t DiscreteSpace::size_capped(std::int64_t cap) const {
  std::int64_t size = 1;
  for (const auto& d : dims_) {
    if (size > cap / d.levels()) return cap + 1;  // size * levels > cap
    size *= d.levels();
  }
  return size > cap ? cap + 1 : size;
}

void DiscreteSpace::sample(std::uint64_t seed, int count, std::int32_t* out) const {
  if (count < 0) throw std::invalid_argument("sample: count must be >= 0, got " + std::to_string(count));
  Rng rng(seed);
  const int nd = num_dims();
  for (long long i = 0; i < count; ++i) {
    std::int32_t* row = out + i * nd;
    for (int j = 0; j < nd; ++j) {
      row[j] = static_cast<std::int32_t>(rng.below(static_cast<std::uint32_t>(dims_[j].levels())));
    }
  }
}

std::vector<std::int32_t> DiscreteSpace::sample(std::uint64_t seed, int count) const {
  if (count < 0) throw std::invalid_argument("sample: count must be >= 0, got " + std::to_string(count));
  std::vector<std::int32_t> out(static_cast<std::size_t>(count) * num_dims());
  sample(seed, count, out.data());
  return out;
}

void DiscreteSpace::point_at(std::int64_t index, std::int32_t* out) const {
  for (int j = 0; j < num_dims(); ++j) {
    const int k = dims_[j].levels();
    out[j] = static_cast<std::int32_t>(index % k);
    index /= k;
  }
}

void DiscreteSpace::features(const std::int32_t* points, int count, double* out) const {
  static const double kInvSqrt2 = 1.0 / std::sqrt(2.0);
  const int nd = num_dims();
  const int nf = num_features_;
  for (long long i = 0; i < count; ++i) {
    const std::int32_t* p = points + i * nd;
    double* f = out + i * nf;
    for (int j = 0; j < nd; ++j) {
      const Dimension& d = dims_[j];
      double* fj = f + feature_offset_[j];
      switch (d.kind) {
        case DimensionKind::Ordinal: {
          const OrdinalScale& o = ordinal_scale_[j];
          const double v = o.halved ? 0.5 * d.values[p[j]] : d.values[p[j]];
          // A single-level ordinal is constant: feature 0 (no 0/0).
          fj[0] = o.range > 0.0 ? (v - o.lo) / o.range : 0.0;
          break;
        }
        case DimensionKind::Categorical:
          // Scaled one-hot: two different levels are at Euclidean distance 1,
          // the same as the two ends of an ordinal or the two booleans.
          std::fill(fj, fj + d.levels(), 0.0);
          fj[p[j]] = kInvSqrt2;
          break;
        case DimensionKind::Boolean:
          fj[0] = p[j] ? 1.0 : 0.0;
          break;
      }
    }
  }
}

namespace {

// `take` distinct levels of [0, levels) other than `skip`, ascending, drawn
// by Floyd's algorithm (no O(levels) work or memory).
std::vector<std::int32_t> sample_other_levels(int levels, std::int32_t skip, int take, Rng* rng) {
  const int others = levels - 1;
  std::vector<std::int32_t> chosen;
  chosen.reserve(take);
  for (int j = others - take; j < others; ++j) {
    const auto t = static_cast<std::int32_t>(rng->below(static_cast<std::uint32_t>(j + 1)));
    const bool seen = std::find(chosen.begin(), chosen.end(), t) != chosen.end();
    chosen.push_back(seen ? j : t);
  }
  for (std::int32_t& c : chosen) c += c >= skip ? 1 : 0;  // skip the current level
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

}  // namespace

void DiscreteSpace::neighbours(const std::int32_t* point, std::vector<std::int32_t>* out, int max_categorical,
                               std::uint64_t seed) const {
  const int nd = num_dims();
  auto push = [&](int j, std::int32_t level) {
    const std::size_t base = out->size();
    out->insert(out->end(), point, point + nd);
    (*out)[base + j] = level;
  };
  for (int j = 0; j < nd; ++j) {
    const Dimension& d = dims_[j];
    const std::int32_t v = point[j];
    switch (d.kind) {
      case DimensionKind::Ordinal:
        if (v > 0) push(j, v - 1);
        if (v + 1 < d.levels()) push(j, v + 1);
        break;
      case DimensionKind::Categorical:
        if (max_categorical > 0 && d.levels() - 1 > max_categorical) {
          std::uint64_t state = seed ^ hash(point);
          state += static_cast<std::uint64_t>(j) * 0x9E3779B97F4A7C15ull;
          Rng rng(splitmix64(&state));
          for (std::int32_t c : sample_other_levels(d.levels(), v, max_categorical, &rng)) push(j, c);
        } else {
          for (int c = 0; c < d.levels(); ++c) {
            if (c != v) push(j, c);
          }
        }
        break;
      case DimensionKind::Boolean:
        push(j, v ? 0 : 1);
        break;
    }
  }
}

void DiscreteSpace::validate(const std::int32_t* points, int count) const {
  const int nd = num_dims();
  for (long long i = 0; i < count; ++i) {
    for (int j = 0; j < nd; ++j) {
      const std::int32_t v = points[i * nd + j];
      const int k = dims_[j].levels();
      if (v < 0 || v >= k) {
        throw std::invalid_argument("point " + std::to_string(i) + ": index " + std::to_string(v) +
                                    " out of range [0, " + std::to_string(k) + ") for " +
                                    kind_name(dims_[j].kind) + " " +
                                    dim_label(dims_[j], static_cast<std::size_t>(j)));
      }
    }
  }
}

std::uint64_t DiscreteSpace::hash(const std::int32_t* point) const {
  // Two indices per 64-bit word, one multiply-xorshift round per word and a
  // splitmix64 finaliser: fixed integer arithmetic, so the same on every
  // platform, and short (the maximiser hashes every pool point).
  const int nd = num_dims();
  std::uint64_t h = 0x243F6A8885A308D3ull ^ (static_cast<std::uint64_t>(nd) * 0x9E3779B97F4A7C15ull);
  int j = 0;
  for (; j + 2 <= nd; j += 2) {
    const std::uint64_t w = static_cast<std::uint32_t>(point[j]) |
                            (static_cast<std::uint64_t>(static_cast<std::uint32_t>(point[j + 1])) << 32);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  if (j < nd) {
    h = (h ^ static_cast<std::uint32_t>(point[j])) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  return splitmix64(&h);
}

PointSet::PointSet(int num_dims) : num_dims_(num_dims) {
  if (num_dims < 1)
    throw std::invalid_argument("PointSet: num_dims must be >= 1, got " + std::to_string(num_dims));
}

std::string PointSet::key(const std::int32_t* point) const {
  return std::string(reinterpret_cast<const char*>(point),
                     sizeof(std::int32_t) * static_cast<std::size_t>(num_dims_));
}

void PointSet::insert(const std::int32_t* point) {
  keys_.insert(key(point));
}

bool PointSet::contains(const std::int32_t* point) const {
  return keys_.count(key(point)) != 0;
}

}  // namespace hh
