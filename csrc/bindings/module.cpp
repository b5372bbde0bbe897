// Entry point of helion_hybrid._core. Each binding file registers one part of
// the core; the core itself knows nothing of Python.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void register_gp(py::module_& m);
void register_space(py::module_& m);

PYBIND11_MODULE(_core, m) {
  m.doc() =
      "C++ core of helion_hybrid: Gaussian processes and acquisition "
      "maximisation over discrete spaces (private; use helion_hybrid)";
  register_gp(m);
  register_space(m);
}
