// Boundary conversions shared by the binding files: every array that reaches
// the core is C-contiguous with the expected dtype and shape, or the caller
// gets a TypeError (dtype) or ValueError (shape) naming the argument.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "convert.hpp"

namespace hh_bind {

namespace py = pybind11;

// forcecast converts float32 / int64 / non-contiguous input to a fresh
// contiguous float64 (or int32) array; to_double_array and to_index_array
// check first that the conversion loses nothing that matters.
using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using IndexArray = py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>;

inline py::array as_array(py::handle value) {
  static const py::handle asarray = numpy_attr("asarray");
  return asarray(value);
}

// Real (or bool) data as float64; strings, objects and complex numbers are a
// TypeError.
inline DoubleArray to_double_array(py::handle value, const char* name) {
  const py::array a = as_array(value);
  const char kind = a.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b') {
    throw py::type_error(std::string(name) + " must be real numbers, got dtype " +
                         std::string(py::str(a.dtype())));
  }
  return DoubleArray::ensure(a);
}

// Integer level indices as int32 (an empty array of any dtype is fine);
// floats and bools are a TypeError (no silent truncation), values outside
// int32 a ValueError.
inline IndexArray to_index_array(py::handle value, const char* name) {
  const py::array a = as_array(value);
  const char kind = a.dtype().kind();
  if (a.size() > 0) {
    if (kind != 'i' && kind != 'u') {
      throw py::type_error(std::string(name) + " must hold integer level indices, got dtype " +
                           std::string(py::str(a.dtype())));
    }
    const bool low = a.attr("min")() < py::int_(-2147483647LL - 1);
    const bool high = a.attr("max")() > py::int_(2147483647);
    if (low || high) {
      throw py::value_error(std::string(name) + " holds values outside the int32 range");
    }
  }
  return IndexArray::ensure(a);
}

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
void require_matrix(const Array& a, py::ssize_t cols, const char* name, py::ssize_t min_rows = 1) {
  if (a.ndim() != 2) {
    throw py::value_error(std::string(name) + " must be a 2-D array, got shape " + shape_of(a));
  }
  if (cols >= 0 && a.shape(1) != cols) {
    throw py::value_error(std::string(name) + " must have " + std::to_string(cols) + " columns, got shape " +
                          shape_of(a));
  }
  if (a.shape(0) < min_rows) {
    throw py::value_error(std::string(name) + " must have at least " + std::to_string(min_rows) +
                          " row(s), got shape " + shape_of(a));
  }
}

template <class Array>
void require_vector(const Array& a, py::ssize_t length, const char* name) {
  if (a.ndim() != 1) {
    throw py::value_error(std::string(name) + " must be a 1-D array, got shape " + shape_of(a));
  }
  if (length >= 0 && a.shape(0) != length) {
    throw py::value_error(std::string(name) + " must have length " + std::to_string(length) + ", got shape " +
                          shape_of(a));
  }
}

inline int checked_int(py::ssize_t v, const char* what) {
  if (v > 2147483647) throw py::value_error(std::string(what) + " is too large (more than 2**31 - 1)");
  return static_cast<int>(v);
}

}  // namespace hh_bind
