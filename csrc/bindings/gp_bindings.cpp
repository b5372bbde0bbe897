// Bindings for hh::GaussianProcess. Thin: shape checks, GIL release, dicts.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "gp.hpp"

namespace py = pybind11;
using hh_bind::DoubleArray;

namespace {

py::dict hyperparameters_to_dict(const hh::Hyperparameters& hp) {
  py::dict d;
  d["lengthscales"] = py::array_t<double>(hp.lengthscales.size(), hp.lengthscales.data());
  d["signal_variance"] = hp.signal_variance;
  d["noise_variance"] = hp.noise_variance;
  d["noise_floor"] = hp.noise_floor;
  d["mean"] = hp.mean;
  return d;
}

const double* optional_reps(const py::object& reps, py::ssize_t n, DoubleArray* holder) {
  if (reps.is_none()) return nullptr;
  *holder = DoubleArray::ensure(reps);
  if (!*holder) throw py::type_error("repetitions must be array-like of numbers");
  hh_bind::require_vector(*holder, n, "repetitions");
  return holder->data();
}

}  // namespace

void register_gp(py::module_& m) {
  py::class_<hh::GaussianProcess>(m, "GaussianProcess")
      .def(py::init([](int dim) {
             if (dim < 1) throw py::value_error("dim must be >= 1, got " + std::to_string(dim));
             return new hh::GaussianProcess(dim);
           }),
           py::arg("dim"))
      .def_property_readonly("dim", &hh::GaussianProcess::dim)
      .def_property_readonly("size", &hh::GaussianProcess::size)
      .def(
          "set_data",
          [](hh::GaussianProcess& gp, DoubleArray x, DoubleArray y, py::object reps) {
            hh_bind::require_matrix(x, gp.dim(), "X");
            hh_bind::require_vector(y, x.shape(0), "y");
            DoubleArray reps_holder;
            const double* r = optional_reps(reps, x.shape(0), &reps_holder);
            const int n = hh_bind::checked_int(x.shape(0), "number of rows");
            py::gil_scoped_release release;
            gp.set_data(x.data(), y.data(), r, n);
          },
          py::arg("X"), py::arg("y"), py::arg("repetitions") = py::none())
      .def(
          "add_points",
          [](hh::GaussianProcess& gp, DoubleArray x, DoubleArray y, py::object reps) {
            hh_bind::require_matrix(x, gp.dim(), "X");
            hh_bind::require_vector(y, x.shape(0), "y");
            DoubleArray reps_holder;
            const double* r = optional_reps(reps, x.shape(0), &reps_holder);
            const int k = hh_bind::checked_int(x.shape(0), "number of rows");
            py::gil_scoped_release release;
            gp.add_points(x.data(), y.data(), r, k);
          },
          py::arg("X"), py::arg("y"), py::arg("repetitions") = py::none())
      .def(
          "set_hyperparameters",
          [](hh::GaussianProcess& gp, DoubleArray lengthscales, double signal_variance,
             double noise_variance, double noise_floor, double mean) {
            hh_bind::require_vector(lengthscales, gp.dim(), "lengthscales");
            hh::Hyperparameters hp;
            hp.lengthscales.assign(lengthscales.data(), lengthscales.data() + gp.dim());
            hp.signal_variance = signal_variance;
            hp.noise_variance = noise_variance;
            hp.noise_floor = noise_floor;
            hp.mean = mean;
            py::gil_scoped_release release;
            gp.set_hyperparameters(hp);
          },
          py::arg("lengthscales"), py::arg("signal_variance"), py::arg("noise_variance"),
          py::arg("noise_floor"), py::arg("mean"))
      .def("hyperparameters",
           [](const hh::GaussianProcess& gp) { return hyperparameters_to_dict(gp.hyperparameters()); })
      .def(
          "fit",
          [](hh::GaussianProcess& gp, int restarts, int max_iterations, double tolerance,
             std::uint64_t seed, bool warm_start) {
            if (gp.size() == 0) throw py::value_error("fit needs data: call set_data first");
            if (restarts < 0) throw py::value_error("restarts must be >= 0");
            if (max_iterations < 1) throw py::value_error("max_iterations must be >= 1");
            if (!(tolerance > 0)) throw py::value_error("tolerance must be > 0");
            hh::FitOptions options;
            options.restarts = restarts;
            options.max_iterations = max_iterations;
            options.tolerance = tolerance;
            options.seed = seed;
            options.warm_start = warm_start;
            hh::FitResult result;
            {
              py::gil_scoped_release release;
              result = gp.fit(options);
            }
            py::dict d;
            d["log_marginal_likelihood"] = result.log_marginal_likelihood;
            d["evaluations"] = result.evaluations;
            d["starts"] = result.starts;
            return d;
          },
          py::arg("restarts"), py::arg("max_iterations"), py::arg("tolerance"), py::arg("seed"),
          py::arg("warm_start"))
      .def_property_readonly("log_marginal_likelihood", &hh::GaussianProcess::log_marginal_likelihood)
      .def(
          "lml_and_gradient",
          [](const hh::GaussianProcess& gp, DoubleArray packed) {
            hh_bind::require_vector(packed, gp.dim() + 4, "packed parameters");
            std::vector<double> p(packed.data(), packed.data() + packed.shape(0));
            std::vector<double> grad;
            double lml;
            {
              py::gil_scoped_release release;
              lml = gp.lml_and_gradient(p, &grad);
            }
            return py::make_tuple(lml, py::array_t<double>(grad.size(), grad.data()));
          },
          py::arg("packed"))
      .def("pack",
           [](const hh::GaussianProcess& gp) {
             auto p = gp.pack(gp.hyperparameters());
             return py::array_t<double>(p.size(), p.data());
           })
      .def(
          "predict",
          [](const hh::GaussianProcess& gp, DoubleArray xc, int threads) {
            hh_bind::require_matrix(xc, gp.dim(), "X", 0);
            const py::ssize_t m = xc.shape(0);
            py::array_t<double> mean(m), variance(m);
            double* mp = mean.mutable_data();
            double* vp = variance.mutable_data();
            const int mi = hh_bind::checked_int(m, "number of candidates");
            {
              py::gil_scoped_release release;
              gp.predict(xc.data(), mi, mp, vp, threads);
            }
            return py::make_tuple(mean, variance);
          },
          py::arg("X"), py::arg("threads") = 0)
      .def(
          "predict_mean",
          [](const hh::GaussianProcess& gp, DoubleArray xc, int threads) {
            hh_bind::require_matrix(xc, gp.dim(), "X", 0);
            const py::ssize_t m = xc.shape(0);
            py::array_t<double> mean(m);
            double* mp = mean.mutable_data();
            const int mi = hh_bind::checked_int(m, "number of candidates");
            {
              py::gil_scoped_release release;
              gp.predict_mean(xc.data(), mi, mp, threads);
            }
            return mean;
          },
          py::arg("X"), py::arg("threads") = 0);

  m.def("set_num_threads", [](int threads) {
    if (threads < 1) throw py::value_error("threads must be >= 1, got " + std::to_string(threads));
    hh::set_num_threads(threads);
  }, py::arg("threads"));
  m.def("get_num_threads", &hh::get_num_threads);
}
