// A discrete search space: a list of dimensions, each ordinal (ordered numeric
// values), categorical (k unordered levels) or boolean. A point is a vector of
// level indices (int32), one per dimension. No Python here.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

namespace hh {

enum class DimensionKind : int { Ordinal = 0, Categorical = 1, Boolean = 2 };

// Most levels one dimension may have, and most model features a space may
// have (a categorical level is one feature): checked before anything of
// that size is allocated, so an absurd level count fails at once.
constexpr std::int64_t kMaxLevels = std::int64_t{1} << 20;
constexpr std::int64_t kMaxFeatures = std::int64_t{1} << 20;

struct Dimension {
  DimensionKind kind = DimensionKind::Ordinal;
  // Ordinal only: the numeric values in order (e.g. log2 of block sizes); the
  // feature is the value rescaled to [0, 1] over the dimension's range.
  std::vector<double> values;
  // Categorical only: the number of levels; features are one-hot scaled by
  // 1/sqrt(2) so two different levels are at distance 1.
  // (Boolean: two levels, one feature in {0, 1}.)
  std::int64_t count = 0;
  std::string name;

  static Dimension ordinal(std::vector<double> values, std::string name = "");
  static Dimension categorical(std::int64_t levels, std::string name = "");
  static Dimension boolean(std::string name = "");

  int levels() const;
  int features() const { return kind == DimensionKind::Categorical ? levels() : 1; }
};

// Throws std::invalid_argument naming the dimension (index, unless kNoIndex,
// and name) when d is not a valid dimension: an ordinal needs 1..kMaxLevels
// finite, strictly increasing values; a categorical 1..kMaxLevels levels;
// only ordinals carry values.
constexpr std::size_t kNoIndex = static_cast<std::size_t>(-1);
void validate(const Dimension& d, std::size_t index = kNoIndex);

class DiscreteSpace {
 public:
  // Validates every dimension and the total feature count (<= kMaxFeatures).
  explicit DiscreteSpace(std::vector<Dimension> dims);

  int num_dims() const { return static_cast<int>(dims_.size()); }
  int num_features() const { return num_features_; }
  const std::vector<Dimension>& dims() const { return dims_; }
  // log10 of the number of points (it overflows 64-bit integers quickly).
  double log10_size() const;
  // The number of points, or `cap` + 1 if it exceeds cap (no overflow).
  std::int64_t size_capped(std::int64_t cap) const;

  // Uniform samples: out is count x num_dims.
  void sample(std::uint64_t seed, int count, std::int32_t* out) const;
  // The same, allocated; throws std::invalid_argument if count < 0.
  std::vector<std::int32_t> sample(std::uint64_t seed, int count) const;
  // The point with the given index in mixed radix (dimension 0 fastest), for
  // index in [0, size): enumerates the space.
  void point_at(std::int64_t index, std::int32_t* out) const;
  // Features: points is count x num_dims, out is count x num_features.
  void features(const std::int32_t* points, int count, double* out) const;
  // Single-step neighbours of one point: ordinal +-1 level, the other levels
  // of a categorical, the flipped boolean. Appends rows to out. With
  // max_categorical > 0, a categorical with more other levels than that
  // contributes only max_categorical of them, sampled without replacement
  // from (seed, the point), so the count per step stays bounded (and the
  // memory of a hill-climb linear in the level count).
  void neighbours(const std::int32_t* point, std::vector<std::int32_t>* out, int max_categorical = 0,
                  std::uint64_t seed = 0) const;
  // Throws std::invalid_argument when a row has an index out of range.
  void validate(const std::int32_t* points, int count) const;
  std::uint64_t hash(const std::int32_t* point) const;

 private:
  std::vector<Dimension> dims_;
  std::vector<int> feature_offset_;
  // Ordinal feature = (value - lo) / range, or, when the range overflows a
  // double (e.g. -1e308 .. 1e308), the same on halved values.
  struct OrdinalScale {
    double lo = 0.0, range = 0.0;
    bool halved = false;
  };
  std::vector<OrdinalScale> ordinal_scale_;
  int num_features_ = 0;
};

// Hash set of points (by exact index vector) used to exclude what the search
// has already tried.
class PointSet {
 public:
  explicit PointSet(int num_dims);  // throws if num_dims < 1
  void insert(const std::int32_t* point);
  bool contains(const std::int32_t* point) const;
  std::size_t size() const { return keys_.size(); }
  int num_dims() const { return num_dims_; }

 private:
  std::string key(const std::int32_t* point) const;
  int num_dims_;
  std::unordered_set<std::string> keys_;
};

}  // namespace hh
