// Exact types at the boundary. The bindings convert and nothing else: an int
// argument takes a Python int or a NumPy integer (never bool, float or str),
// a real argument an int, float or NumPy real (never bool or str), a flag a
// bool; a value the C type cannot hold is a ValueError. What values are
// allowed (ranges, finiteness, counts) is the core's rule, not decided here.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace hh_bind {

namespace py = pybind11;

// A NumPy attribute, looked up once and kept for the process's lifetime.
inline py::handle numpy_attr(const char* name) {
  return py::object(py::module_::import("numpy").attr(name)).release();
}

inline std::string type_name(py::handle value) {
  return py::str(py::type::handle_of(value).attr("__name__"));
}

inline bool is_bool(py::handle value) {
  static const py::handle numpy_bool = numpy_attr("bool_");
  return PyBool_Check(value.ptr()) || py::isinstance(value, numpy_bool);
}

inline bool is_integer(py::handle value) {
  static const py::handle numpy_integer = numpy_attr("integer");
  return !is_bool(value) && (PyLong_Check(value.ptr()) || py::isinstance(value, numpy_integer));
}

// A Python integer in [lo, hi] as long long.
inline long long to_integer(py::handle value, const char* name,
                            long long lo = std::numeric_limits<long long>::min(),
                            long long hi = std::numeric_limits<long long>::max()) {
  if (!is_integer(value)) {
    throw py::type_error(std::string(name) + " must be an int, got " + type_name(value) + " " +
                         std::string(py::repr(value)));
  }
  const py::int_ exact(py::reinterpret_steal<py::object>(PyNumber_Index(value.ptr())));
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(exact.ptr(), &overflow);
  if (overflow != 0 || v < lo || v > hi) {
    throw py::value_error(std::string(name) + " must be in [" + std::to_string(lo) + ", " +
                          std::to_string(hi) + "], got " + std::string(py::repr(exact)));
  }
  return v;
}

// A C int (the core's counts and sizes).
inline int to_int(py::handle value, const char* name) {
  return static_cast<int>(
      to_integer(value, name, std::numeric_limits<int>::min(), std::numeric_limits<int>::max()));
}

// A 64-bit unsigned seed.
inline std::uint64_t to_seed(py::handle value, const char* name) {
  if (!is_integer(value)) {
    throw py::type_error(std::string(name) + " must be an int, got " + type_name(value));
  }
  const py::int_ exact(py::reinterpret_steal<py::object>(PyNumber_Index(value.ptr())));
  const unsigned long long v = PyLong_AsUnsignedLongLong(exact.ptr());
  if (PyErr_Occurred()) {
    PyErr_Clear();
    throw py::value_error(std::string(name) + " must be in [0, 2**64), got " + std::string(py::repr(exact)));
  }
  return v;
}

inline double to_real(py::handle value, const char* name) {
  static const py::handle numpy_floating = numpy_attr("floating");
  const bool real = !is_bool(value) && (PyFloat_Check(value.ptr()) || is_integer(value) ||
                                        py::isinstance(value, numpy_floating));
  if (!real) {
    throw py::type_error(std::string(name) + " must be a real number, got " + type_name(value) + " " +
                         std::string(py::repr(value)));
  }
  const double v = PyFloat_AsDouble(value.ptr());
  if (PyErr_Occurred()) {  // an int too large for a double
    PyErr_Clear();
    throw py::value_error(std::string(name) + " is too large for a double");
  }
  return v;
}

inline bool to_flag(py::handle value, const char* name) {
  if (!is_bool(value)) throw py::type_error(std::string(name) + " must be a bool, got " + type_name(value));
  return py::cast<bool>(py::bool_(py::reinterpret_borrow<py::object>(value)));
}

// A sequence (list, tuple, 1-D array) of real numbers; a str is not one.
inline std::vector<double> to_reals(py::handle value, const char* name) {
  if (py::isinstance<py::str>(value) || py::isinstance<py::bytes>(value) ||
      !py::isinstance<py::sequence>(value)) {
    if (!py::isinstance<py::array>(value)) {
      throw py::type_error(std::string(name) + " must be a sequence of real numbers, got " +
                           type_name(value));
    }
  }
  std::vector<double> out;
  const std::string item = std::string(name) + " item";
  for (py::handle v : value) out.push_back(to_real(v, item.c_str()));
  return out;
}

}  // namespace hh_bind
