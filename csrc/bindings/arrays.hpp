// Boundary checks shared by the binding files: every array that reaches the
// core is C-contiguous with the expected dtype and shape, or the caller gets
// a ValueError naming the argument and the reason.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

namespace hh_bind {

namespace py = pybind11;

// forcecast converts float32 / int64 / non-contiguous input to a fresh
// contiguous float64 (or int32) array.
using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using IndexArray = py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>;

inline std::string shape_of(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    if (i) s += ", ";
    s += std::to_string(a.shape(i));
  }
  if (a.ndim() == 1) s += ",";
  return s + ")";
}

// A 2-D array with `cols` columns (cols < 0: any) and at least `min_rows` rows.
template <class Array>
void require_matrix(const Array& a, py::ssize_t cols, const char* name,
                    py::ssize_t min_rows = 1) {
  if (a.ndim() != 2) {
    throw py::value_error(std::string(name) + " must be a 2-D array, got shape " + shape_of(a));
  }
  if (cols >= 0 && a.shape(1) != cols) {
    throw py::value_error(std::string(name) + " must have " + std::to_string(cols) +
                          " columns, got shape " + shape_of(a));
  }
  if (a.shape(0) < min_rows) {
    throw py::value_error(std::string(name) + " must have at least " +
                          std::to_string(min_rows) + " row(s), got shape " + shape_of(a));
  }
}

template <class Array>
void require_vector(const Array& a, py::ssize_t length, const char* name) {
  if (a.ndim() != 1) {
    throw py::value_error(std::string(name) + " must be a 1-D array, got shape " + shape_of(a));
  }
  if (length >= 0 && a.shape(0) != length) {
    throw py::value_error(std::string(name) + " must have length " + std::to_string(length) +
                          ", got shape " + shape_of(a));
  }
}

inline int checked_int(py::ssize_t v, const char* what) {
  if (v > 2147483647) throw py::value_error(std::string(what) + " is too large");
  return static_cast<int>(v);
}

}  // namespace hh_bind
