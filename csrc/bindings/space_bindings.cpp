// Bindings for hh::Dimension, hh::DiscreteSpace, hh::PointSet, the
// acquisition functions and hh::AcquisitionOptions. Conversions only; every
// rule on values is the core's.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "acquisition.hpp"
#include "arrays.hpp"
#include "convert.hpp"
#include "options.hpp"
#include "shared.hpp"
#include "space.hpp"

namespace py = pybind11;
using hh_bind::DoubleArray;
using hh_bind::IndexArray;
using hh_bind::SharedGp;
using hh_bind::SharedPointSet;

namespace {

py::array_t<std::int32_t> index_matrix(const std::vector<std::int32_t>& flat, int cols) {
  const py::ssize_t rows = cols ? static_cast<py::ssize_t>(flat.size()) / cols : 0;
  py::array_t<std::int32_t> out({rows, static_cast<py::ssize_t>(cols)});
  std::copy(flat.begin(), flat.end(), out.mutable_data());
  return out;
}

// Points of `space`, shape (n, num_dims).
IndexArray to_points(const hh::DiscreteSpace& space, py::handle points, const char* name) {
  IndexArray a = hh_bind::to_index_array(points, name);
  hh_bind::require_matrix(a, space.num_dims(), name, 0);
  return a;
}

hh::Dimension to_dimension(py::handle kind, py::handle values, py::handle levels, py::handle name) {
  hh::Dimension d;
  if (!py::isinstance<hh::DimensionKind>(kind)) throw py::type_error("kind must be a DimensionKind");
  d.kind = kind.cast<hh::DimensionKind>();
  d.values = hh_bind::to_reals(values, "values");
  d.count = hh_bind::to_integer(levels, "levels");
  if (!py::isinstance<py::str>(name)) throw py::type_error("name must be a str");
  d.name = py::cast<std::string>(name);
  hh::validate(d);
  return d;
}

using Pointwise = void (*)(const double*, const double*, int, double, double*);

py::array_t<double> pointwise(Pointwise f, py::handle mean, py::handle variance, py::handle best) {
  const DoubleArray m = hh_bind::to_double_array(mean, "mean");
  hh_bind::require_vector(m, -1, "mean");
  const DoubleArray v = hh_bind::to_double_array(variance, "variance");
  hh_bind::require_vector(v, m.shape(0), "variance (one per mean)");
  py::array_t<double> out(m.shape(0));
  f(m.data(), v.data(), hh_bind::checked_int(m.shape(0), "length"), hh_bind::to_real(best, "best"),
    out.mutable_data());
  return out;
}

hh::AcquisitionModels make_models(const SharedGp& objective, const SharedGp* cost,
                                  const SharedGp* feasibility) {
  hh::AcquisitionModels models;
  models.objective = &objective.value;
  models.cost = cost ? &cost->value : nullptr;
  models.feasibility = feasibility ? &feasibility->value : nullptr;
  return models;
}

py::dict result_to_dict(const hh::AcquisitionResult& r, int num_dims) {
  py::dict d;
  d["points"] = index_matrix(r.points, num_dims);
  d["scores"] = py::array_t<double>(r.scores.size(), r.scores.data());
  d["means"] = py::array_t<double>(r.means.size(), r.means.data());
  d["variances"] = py::array_t<double>(r.variances.size(), r.variances.data());
  d["candidates_scored"] = r.candidates_scored;
  d["exact_evaluations"] = r.exact_evaluations;
  return d;
}

void register_acquisition_options(py::module_& m) {
  using O = hh::AcquisitionOptions;
  hh_bind::OptionsBinder<O>(m, "AcquisitionOptions", &hh::validate,
                            "Options of maximize_acquisition / score_points (validated by the core).")
      .field("kind", &O::kind, "0 log EI, 1 EI, 2 UCB, 3 log EI per cost")
      .field("best", &O::best, "incumbent objective value (EI kinds)")
      .field("ucb_beta", &O::ucb_beta, "exploration weight of UCB")
      .field("batch_size", &O::batch_size, "points returned")
      .field("pool_size", &O::pool_size, "random candidates scored (capped by the space's size)")
      .field("local_starts", &O::local_starts, "hill-climbs from the pool's best points")
      .field("local_max_steps", &O::local_max_steps, "steps per hill-climb")
      .field("seed", &O::seed, "seeds the pool and the neighbour sampling")
      .field("threads", &O::threads, "threads (0 = the core's default)")
      .field("fantasy_repetitions", &O::fantasy_repetitions, "repetitions assumed for fantasised picks")
      .field("feasibility_floor", &O::feasibility_floor, "lower clip of the feasibility probability")
      .field("max_categorical_neighbours", &O::max_categorical_neighbours,
             "other levels of a categorical tried per climb step (0 = all)")
      .field("prune", &O::prune, "false: score every candidate exactly (tests, benchmarks)")
      .finish();
}

void register_space_classes(py::module_& m) {
  py::enum_<hh::DimensionKind>(m, "DimensionKind")
      .value("ORDINAL", hh::DimensionKind::Ordinal)
      .value("CATEGORICAL", hh::DimensionKind::Categorical)
      .value("BOOLEAN", hh::DimensionKind::Boolean);

  py::class_<hh::Dimension>(m, "Dimension", "One validated dimension (the core's rules).")
      .def(py::init(&to_dimension), py::arg("kind"), py::arg("values") = py::tuple(), py::arg("levels") = 0,
           py::arg("name") = "")
      .def_property_readonly("kind", [](const hh::Dimension& d) { return d.kind; })
      .def_property_readonly("levels", &hh::Dimension::levels)
      .def_property_readonly("name", [](const hh::Dimension& d) { return d.name; })
      .def_property_readonly("values", [](const hh::Dimension& d) { return py::tuple(py::cast(d.values)); });

  py::class_<hh::DiscreteSpace>(m, "DiscreteSpace")
      .def(py::init([](const std::vector<hh::Dimension>& dims) { return new hh::DiscreteSpace(dims); }),
           py::arg("dimensions"))
      .def_property_readonly("num_dims", &hh::DiscreteSpace::num_dims)
      .def_property_readonly("num_features", &hh::DiscreteSpace::num_features)
      .def_property_readonly("log10_size", &hh::DiscreteSpace::log10_size)
      .def(
          "sample",
          [](const hh::DiscreteSpace& s, py::handle seed, py::handle count) {
            const std::uint64_t sd = hh_bind::to_seed(seed, "seed");
            const int c = hh_bind::to_int(count, "count");
            std::vector<std::int32_t> out;
            {
              py::gil_scoped_release release;
              out = s.sample(sd, c);
            }
            return index_matrix(out, s.num_dims());
          },
          py::arg("seed"), py::arg("count"))
      .def(
          "features",
          [](const hh::DiscreteSpace& s, py::handle points) {
            const IndexArray p = to_points(s, points, "points");
            const int n = hh_bind::checked_int(p.shape(0), "number of points");
            s.validate(p.data(), n);
            py::array_t<double> out(
                {static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(s.num_features())});
            double* o = out.mutable_data();
            {
              py::gil_scoped_release release;
              s.features(p.data(), n, o);
            }
            return out;
          },
          py::arg("points"))
      .def(
          "neighbours",
          [](const hh::DiscreteSpace& s, py::handle point) {
            const IndexArray p = hh_bind::to_index_array(point, "point");
            hh_bind::require_vector(p, s.num_dims(), "point");
            s.validate(p.data(), 1);
            std::vector<std::int32_t> out;
            s.neighbours(p.data(), &out);
            return index_matrix(out, s.num_dims());
          },
          py::arg("point"))
      .def(
          "validate",
          [](const hh::DiscreteSpace& s, py::handle points) {
            const IndexArray p = to_points(s, points, "points");
            s.validate(p.data(), hh_bind::checked_int(p.shape(0), "number of points"));
          },
          py::arg("points"));

  py::class_<SharedPointSet>(m, "PointSet", "Safe to share between threads (add is exclusive).")
      .def(py::init(
               [](py::handle num_dims) { return new SharedPointSet(hh_bind::to_int(num_dims, "num_dims")); }),
           py::arg("num_dims"))
      .def_property_readonly("num_dims", [](const SharedPointSet& s) { return s.value.num_dims(); })
      .def(
          "add",
          [](SharedPointSet& set, py::handle points) {
            const IndexArray p = hh_bind::to_index_array(points, "points");
            const int nd = set.value.num_dims();
            hh_bind::require_matrix(p, nd, "points", 0);
            hh_bind::write(set, [&](hh::PointSet& s) {
              for (py::ssize_t i = 0; i < p.shape(0); ++i) s.insert(p.data() + i * nd);
              return 0;
            });
          },
          py::arg("points"))
      .def(
          "contains",
          [](const SharedPointSet& set, py::handle point) {
            const IndexArray p = hh_bind::to_index_array(point, "point");
            hh_bind::require_vector(p, set.value.num_dims(), "point");
            return hh_bind::read(set, [&](const hh::PointSet& s) { return s.contains(p.data()); });
          },
          py::arg("point"))
      .def("__len__", [](const SharedPointSet& set) {
        return hh_bind::read(set, [](const hh::PointSet& s) { return s.size(); });
      });
}

}  // namespace

void register_space(py::module_& m) {
  register_space_classes(m);
  register_acquisition_options(m);

  m.def(
      "log_expected_improvement",
      [](py::handle mean, py::handle variance, py::handle best) {
        return pointwise(&hh::log_expected_improvement, mean, variance, best);
      },
      py::arg("mean"), py::arg("variance"), py::arg("best"));
  m.def(
      "expected_improvement",
      [](py::handle mean, py::handle variance, py::handle best) {
        return pointwise(&hh::expected_improvement, mean, variance, best);
      },
      py::arg("mean"), py::arg("variance"), py::arg("best"));

  m.def(
      "maximize_acquisition",
      [](const hh::DiscreteSpace& space, const SharedGp& objective, const SharedGp* cost,
         const SharedGp* feasibility, const hh::AcquisitionOptions& options, const SharedPointSet* exclude,
         py::handle incumbents) {
        IndexArray inc;
        int num_incumbents = 0;
        if (!incumbents.is_none()) {
          inc = to_points(space, incumbents, "incumbents");
          num_incumbents = hh_bind::checked_int(inc.shape(0), "number of incumbents");
        }
        const hh::AcquisitionModels models = make_models(objective, cost, feasibility);
        hh::AcquisitionResult r;
        {
          py::gil_scoped_release release;
          hh_bind::ReadLocks locks({&objective.mutex, hh_bind::mutex_of(cost), hh_bind::mutex_of(feasibility),
                                    hh_bind::mutex_of(exclude)});
          r = hh::maximize_acquisition(space, models, options, exclude ? &exclude->value : nullptr,
                                       num_incumbents ? inc.data() : nullptr, num_incumbents);
        }
        return result_to_dict(r, space.num_dims());
      },
      py::arg("space"), py::arg("objective"), py::arg("cost") = py::none(),
      py::arg("feasibility") = py::none(), py::arg("options") = hh::AcquisitionOptions(),
      py::arg("exclude") = py::none(), py::arg("incumbents") = py::none());

  m.def(
      "score_points",
      [](const hh::DiscreteSpace& space, const SharedGp& objective, const SharedGp* cost,
         const SharedGp* feasibility, const hh::AcquisitionOptions& options, py::handle points) {
        const IndexArray p = to_points(space, points, "points");
        const int n = hh_bind::checked_int(p.shape(0), "number of points");
        const hh::AcquisitionModels models = make_models(objective, cost, feasibility);
        std::vector<double> scores;
        {
          py::gil_scoped_release release;
          hh_bind::ReadLocks locks(
              {&objective.mutex, hh_bind::mutex_of(cost), hh_bind::mutex_of(feasibility)});
          scores = hh::score_points(space, models, options, p.data(), n);
        }
        return py::array_t<double>(scores.size(), scores.data());
      },
      py::arg("space"), py::arg("objective"), py::arg("cost"), py::arg("feasibility"), py::arg("options"),
      py::arg("points"));
}
