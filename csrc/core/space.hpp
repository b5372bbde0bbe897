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

struct Dimension {
  DimensionKind kind = DimensionKind::Ordinal;
  // Ordinal: the numeric values in order (e.g. log2 of block sizes); the
  // feature is the value rescaled to [0, 1] over the dimension's range.
  // Categorical: only values.size() (= number of levels) matters; features are
  // one-hot scaled by 1/sqrt(2) so two different levels are at distance 1.
  // Boolean: two levels, one feature in {0, 1}.
  std::vector<double> values;
  std::string name;
  int levels() const { return static_cast<int>(values.size()); }
};

class DiscreteSpace {
 public:
  explicit DiscreteSpace(std::vector<Dimension> dims);

  int num_dims() const { return static_cast<int>(dims_.size()); }
  int num_features() const { return num_features_; }
  const std::vector<Dimension>& dims() const { return dims_; }
  // log10 of the number of points (it overflows 64-bit integers quickly).
  double log10_size() const;

  // Uniform samples: out is count x num_dims.
  void sample(std::uint64_t seed, int count, std::int32_t* out) const;
  // Features: points is count x num_dims, out is count x num_features.
  void features(const std::int32_t* points, int count, double* out) const;
  // Single-step neighbours of one point: ordinal +-1 level, every other level
  // of a categorical, the flipped boolean. Appends rows to out.
  void neighbours(const std::int32_t* point,
                  std::vector<std::int32_t>* out) const;
  // Throws std::invalid_argument when a row has an index out of range.
  void validate(const std::int32_t* points, int count) const;
  std::uint64_t hash(const std::int32_t* point) const;

 private:
  std::vector<Dimension> dims_;
  std::vector<int> feature_offset_;
  int num_features_ = 0;
};

// Hash set of points (by exact index vector) used to exclude what the search
// has already tried.
class PointSet {
 public:
  explicit PointSet(int num_dims) : num_dims_(num_dims) {}
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
