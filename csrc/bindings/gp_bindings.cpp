// Bindings for hh::GaussianProcess and hh::FitOptions. Thin: conversions at
// the boundary (arrays, exact scalar types), the reader-writer lock, GIL
// release, dicts. Every rule on values is the core's.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "convert.hpp"
#include "gp.hpp"
#include "options.hpp"
#include "shared.hpp"
#include "threading.hpp"

namespace py = pybind11;
using hh_bind::DoubleArray;
using hh_bind::SharedGp;

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

hh::Hyperparameters to_hyperparameters(py::handle lengthscales, py::handle signal_variance,
                                       py::handle noise_variance, py::handle noise_floor, py::handle mean) {
  hh::Hyperparameters hp;
  hp.lengthscales = hh_bind::to_reals(lengthscales, "lengthscales");
  hp.signal_variance = hh_bind::to_real(signal_variance, "signal_variance");
  hp.noise_variance = hh_bind::to_real(noise_variance, "noise_variance");
  hp.noise_floor = hh_bind::to_real(noise_floor, "noise_floor");
  hp.mean = hh_bind::to_real(mean, "mean");
  return hp;
}

// Training data converted at the boundary: X (n, dim), y (n,), optional
// repetitions (n,). Holds the converted arrays while the core reads them.
struct TrainingData {
  DoubleArray x, y, reps;
  bool has_reps = false;
  int n = 0;
  const double* reps_data() const { return has_reps ? reps.data() : nullptr; }
};

void require_one_per_row(const DoubleArray& v, const DoubleArray& x, const char* name) {
  hh_bind::require_vector(v, -1, name);
  if (v.shape(0) != x.shape(0)) {
    throw py::value_error(std::string(name) + " has length " + std::to_string(v.shape(0)) + " but X has " +
                          std::to_string(x.shape(0)) + " rows");
  }
}

TrainingData to_training_data(py::handle x, py::handle y, py::handle reps, int dim) {
  TrainingData t;
  t.x = hh_bind::to_double_array(x, "X");
  hh_bind::require_matrix(t.x, dim, "X", 0);
  t.y = hh_bind::to_double_array(y, "y");
  require_one_per_row(t.y, t.x, "y");
  if (!reps.is_none()) {
    t.reps = hh_bind::to_double_array(reps, "repetitions");
    t.has_reps = true;
    require_one_per_row(t.reps, t.x, "repetitions");
  }
  t.n = hh_bind::checked_int(t.x.shape(0), "number of rows");
  return t;
}

py::dict fit_result_to_dict(const hh::FitResult& r) {
  py::dict d;
  d["log_marginal_likelihood"] = r.log_marginal_likelihood;
  d["evaluations"] = r.evaluations;
  d["starts"] = r.starts;
  return d;
}

// Posterior mean and (with_variance) variance; the variance array is empty
// otherwise.
std::pair<py::array_t<double>, py::array_t<double>> predict(const SharedGp& gp, py::handle x, int threads,
                                                            bool with_variance) {
  const DoubleArray xc = hh_bind::to_double_array(x, "X");
  hh_bind::require_matrix(xc, gp.value.dim(), "X", 0);
  const py::ssize_t m = xc.shape(0);
  const int mi = hh_bind::checked_int(m, "number of candidates");
  py::array_t<double> mean(m), variance(with_variance ? m : 0);
  double* mp = mean.mutable_data();
  double* vp = with_variance ? variance.mutable_data() : nullptr;
  hh_bind::read(gp, [&](const hh::GaussianProcess& g) {
    g.predict(xc.data(), mi, mp, vp, threads);
    return 0;
  });
  return {mean, variance};
}

void register_fit_options(py::module_& m) {
  hh_bind::OptionsBinder<hh::FitOptions>(m, "FitOptions", &hh::validate,
                                         "Options of GaussianProcess.fit (validated by the core).")
      .field("restarts", &hh::FitOptions::restarts, "random restarts besides the warm/default start")
      .field("max_iterations", &hh::FitOptions::max_iterations, "L-BFGS iterations per start")
      .field("tolerance", &hh::FitOptions::tolerance, "relative objective change that ends a start")
      .field("seed", &hh::FitOptions::seed, "seeds the restarts and the screening subset")
      .field("warm_start", &hh::FitOptions::warm_start, "start from the current hyperparameters")
      .field("threads", &hh::FitOptions::threads, "threads (0 = the core's default)")
      .field("screening_size", &hh::FitOptions::screening_size, "subset size for screening starts (0 = off)")
      .field("lengthscale_min", &hh::FitOptions::lengthscale_min, "lower lengthscale bound")
      .field("lengthscale_max", &hh::FitOptions::lengthscale_max, "upper lengthscale bound")
      .field("signal_variance_min", &hh::FitOptions::signal_variance_min, "lower bound (standardised units)")
      .field("signal_variance_max", &hh::FitOptions::signal_variance_max, "upper bound (standardised units)")
      .field("noise_min", &hh::FitOptions::noise_min, "lower noise bound (standardised units)")
      .field("noise_max", &hh::FitOptions::noise_max, "upper noise bound (standardised units)")
      .field("lengthscale_prior_center", &hh::FitOptions::lengthscale_prior_center, "0 disables the prior")
      .field("lengthscale_prior_width", &hh::FitOptions::lengthscale_prior_width, "0 disables the prior")
      .field("mean_min", &hh::FitOptions::mean_min, "lower mean bound (standardised units)")
      .field("mean_max", &hh::FitOptions::mean_max, "upper mean bound (standardised units)")
      .finish();
}

}  // namespace

void register_gp(py::module_& m) {
  register_fit_options(m);
  py::class_<SharedGp>(m, "GaussianProcess",
                       "Core GP. Safe to share between threads: reads (predict, properties) run "
                       "concurrently, writes (set_data, add_points, set_hyperparameters, fit) alone.")
      .def(py::init([](py::handle dim) { return new SharedGp(hh_bind::to_int(dim, "dim")); }), py::arg("dim"))
      .def_property_readonly("dim", [](const SharedGp& gp) { return gp.value.dim(); })
      .def_property_readonly(
          "size", [](const SharedGp& gp) { return hh_bind::read(gp, [](auto& g) { return g.size(); }); })
      .def_property_readonly("log_marginal_likelihood",
                             [](const SharedGp& gp) {
                               return hh_bind::read(gp, [](auto& g) { return g.log_marginal_likelihood(); });
                             })
      .def(
          "set_data",
          [](SharedGp& gp, py::handle x, py::handle y, py::handle reps) {
            const TrainingData t = to_training_data(x, y, reps, gp.value.dim());
            hh_bind::write(gp, [&](hh::GaussianProcess& g) {
              g.set_data(t.x.data(), t.y.data(), t.reps_data(), t.n);
              return 0;
            });
          },
          py::arg("X"), py::arg("y"), py::arg("repetitions") = py::none())
      .def(
          "add_points",
          [](SharedGp& gp, py::handle x, py::handle y, py::handle reps) {
            const TrainingData t = to_training_data(x, y, reps, gp.value.dim());
            hh_bind::write(gp, [&](hh::GaussianProcess& g) {
              g.add_points(t.x.data(), t.y.data(), t.reps_data(), t.n);
              return 0;
            });
          },
          py::arg("X"), py::arg("y"), py::arg("repetitions") = py::none())
      .def(
          "set_hyperparameters",
          [](SharedGp& gp, py::handle lengthscales, py::handle signal_variance, py::handle noise_variance,
             py::handle noise_floor, py::handle mean) {
            const hh::Hyperparameters hp =
                to_hyperparameters(lengthscales, signal_variance, noise_variance, noise_floor, mean);
            hh_bind::write(gp, [&](hh::GaussianProcess& g) {
              g.set_hyperparameters(hp);
              return 0;
            });
          },
          py::arg("lengthscales"), py::arg("signal_variance"), py::arg("noise_variance"),
          py::arg("noise_floor"), py::arg("mean"))
      .def("hyperparameters",
           [](const SharedGp& gp) {
             return hyperparameters_to_dict(hh_bind::read(gp, [](auto& g) { return g.hyperparameters(); }));
           })
      .def(
          "fit",
          [](SharedGp& gp, const hh::FitOptions& options) {
            return fit_result_to_dict(
                hh_bind::write(gp, [&](hh::GaussianProcess& g) { return g.fit(options); }));
          },
          py::arg("options"), "Fit the hyperparameters on the current data.")
      .def(
          "fit_data",
          [](SharedGp& gp, py::handle x, py::handle y, py::handle reps, const hh::FitOptions& options) {
            const TrainingData t = to_training_data(x, y, reps, gp.value.dim());
            return fit_result_to_dict(hh_bind::write(gp, [&](hh::GaussianProcess& g) {
              return g.fit(t.x.data(), t.y.data(), t.reps_data(), t.n, options);
            }));
          },
          py::arg("X"), py::arg("y"), py::arg("repetitions"), py::arg("options"),
          "Replace the data and fit, as one step (on failure nothing changes).")
      .def(
          "lml_and_gradient",
          [](const SharedGp& gp, py::handle packed) {
            const DoubleArray a = hh_bind::to_double_array(packed, "packed");
            hh_bind::require_vector(a, gp.value.dim() + 4, "packed parameters");
            const std::vector<double> p(a.data(), a.data() + a.shape(0));
            std::vector<double> grad;
            const double lml = hh_bind::read(gp, [&](auto& g) { return g.lml_and_gradient(p, &grad); });
            return py::make_tuple(lml, py::array_t<double>(grad.size(), grad.data()));
          },
          py::arg("packed"))
      .def("pack",
           [](const SharedGp& gp) {
             const auto p = hh_bind::read(gp, [](auto& g) { return g.pack(g.hyperparameters()); });
             return py::array_t<double>(p.size(), p.data());
           })
      .def(
          "predict",
          [](const SharedGp& gp, py::handle x, py::handle threads) {
            auto [mean, variance] = predict(gp, x, hh_bind::to_int(threads, "threads"), true);
            return py::make_tuple(mean, variance);
          },
          py::arg("X"), py::arg("threads") = 0)
      .def(
          "predict_mean",
          [](const SharedGp& gp, py::handle x, py::handle threads) {
            return predict(gp, x, hh_bind::to_int(threads, "threads"), false).first;
          },
          py::arg("X"), py::arg("threads") = 0);

  m.def(
      "validate_hyperparameters",
      [](py::handle lengthscales, py::handle signal_variance, py::handle noise_variance,
         py::handle noise_floor, py::handle mean) {
        const hh::Hyperparameters hp =
            to_hyperparameters(lengthscales, signal_variance, noise_variance, noise_floor, mean);
        hh::validate(hp, static_cast<int>(hp.lengthscales.size()));
        return py::make_tuple(py::tuple(py::cast(hp.lengthscales)), hp.signal_variance, hp.noise_variance,
                              hp.noise_floor, hp.mean);
      },
      py::arg("lengthscales"), py::arg("signal_variance"), py::arg("noise_variance"), py::arg("noise_floor"),
      py::arg("mean"), "Converted, validated hyperparameters as a tuple (the core's rules).");
  m.def(
      "set_num_threads", [](py::handle threads) { hh::set_num_threads(hh_bind::to_int(threads, "threads")); },
      py::arg("threads"));
  m.def("get_num_threads", &hh::get_num_threads);
}
