// DiscreteSpace and PointSet. See space.hpp for the contract.
#include "space.hpp"

#include "random.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

namespace hh {

namespace {

const char* kind_name(DimensionKind kind) {
  switch (kind) {
    case DimensionKind::Ordinal: return "ordinal";
    case DimensionKind::Categorical: return "categorical";
    case DimensionKind::Boolean: return "boolean";
  }
  return "unknown";
}

std::string dim_label(const Dimension& d, std::size_t i) {
  std::string s = "dimension " + std::to_string(i);
  if (!d.name.empty()) s += " ('" + d.name + "')";
  return s;
}

}  // namespace

DiscreteSpace::DiscreteSpace(std::vector<Dimension> dims) : dims_(std::move(dims)) {
  // A space with no dimension has one (empty) point and no features; nothing
  // downstream (GP with dim 0, neighbours) makes sense for it, so refuse it.
  if (dims_.empty()) {
    throw std::invalid_argument("a DiscreteSpace needs at least one dimension");
  }
  feature_offset_.resize(dims_.size());
  num_features_ = 0;
  for (std::size_t i = 0; i < dims_.size(); ++i) {
    const Dimension& d = dims_[i];
    const int k = d.levels();
    switch (d.kind) {
      case DimensionKind::Ordinal:
        if (k < 1) throw std::invalid_argument(dim_label(d, i) + ": an ordinal dimension needs at least one value");
        for (int j = 0; j < k; ++j) {
          if (!std::isfinite(d.values[j])) {
            throw std::invalid_argument(dim_label(d, i) + ": ordinal value " + std::to_string(j) + " is not finite");
          }
          if (j > 0 && !(d.values[j] > d.values[j - 1])) {
            throw std::invalid_argument(dim_label(d, i) + ": ordinal values must be strictly increasing (value " +
                                        std::to_string(j) + " is not greater than value " + std::to_string(j - 1) + ")");
          }
        }
        feature_offset_[i] = num_features_;
        num_features_ += 1;
        break;
      case DimensionKind::Categorical:
        if (k < 1) throw std::invalid_argument(dim_label(d, i) + ": a categorical dimension needs at least one level");
        feature_offset_[i] = num_features_;
        num_features_ += k;
        break;
      case DimensionKind::Boolean:
        if (k != 2) {
          throw std::invalid_argument(dim_label(d, i) + ": a boolean dimension has exactly 2 levels, got " +
                                      std::to_string(k));
        }
        feature_offset_[i] = num_features_;
        num_features_ += 1;
        break;
      default:
        throw std::invalid_argument(dim_label(d, i) + ": unknown dimension kind " +
                                    std::to_string(static_cast<int>(d.kind)));
    }
    if (k > std::numeric_limits<std::int32_t>::max()) {
      throw std::invalid_argument(dim_label(d, i) + ": too many levels");
    }
  }
}

double DiscreteSpace::log10_size() const {
  double s = 0.0;
  for (const auto& d : dims_) s += std::log10(static_cast<double>(d.levels()));
  return s;
}

void DiscreteSpace::sample(std::uint64_t seed, int count, std::int32_t* out) const {
  if (count < 0) throw std::invalid_argument("sample: count must be >= 0");
  Rng rng(seed);
  const int nd = num_dims();
  for (long long i = 0; i < count; ++i) {
    std::int32_t* row = out + i * nd;
    for (int j = 0; j < nd; ++j) {
      row[j] = static_cast<std::int32_t>(rng.below(static_cast<std::uint32_t>(dims_[j].levels())));
    }
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
          const double lo = d.values.front(), hi = d.values.back();
          // A single-level ordinal is constant: feature 0 (no 0/0).
          fj[0] = hi > lo ? (d.values[p[j]] - lo) / (hi - lo) : 0.0;
          break;
        }
        case DimensionKind::Categorical:
          // Scaled one-hot: two different levels are at Euclidean distance 1,
          // the same as the two ends of an ordinal or the two booleans.
          for (int c = 0; c < d.levels(); ++c) fj[c] = 0.0;
          fj[p[j]] = kInvSqrt2;
          break;
        case DimensionKind::Boolean:
          fj[0] = p[j] ? 1.0 : 0.0;
          break;
      }
    }
  }
}

void DiscreteSpace::neighbours(const std::int32_t* point, std::vector<std::int32_t>* out) const {
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
        for (int c = 0; c < d.levels(); ++c) {
          if (c != v) push(j, c);
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
        throw std::invalid_argument("point " + std::to_string(i) + ": index " + std::to_string(v) + " out of range [0, " +
                                    std::to_string(k) + ") for " + kind_name(dims_[j].kind) + " " +
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

std::string PointSet::key(const std::int32_t* point) const {
  return std::string(reinterpret_cast<const char*>(point), sizeof(std::int32_t) * static_cast<std::size_t>(num_dims_));
}

void PointSet::insert(const std::int32_t* point) { keys_.insert(key(point)); }

bool PointSet::contains(const std::int32_t* point) const { return keys_.count(key(point)) != 0; }

}  // namespace hh
