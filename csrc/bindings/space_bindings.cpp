// Bindings for hh::DiscreteSpace, hh::PointSet and the acquisition functions.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>

#include "acquisition.hpp"
#include "arrays.hpp"
#include "space.hpp"

namespace py = pybind11;
using hh_bind::DoubleArray;
using hh_bind::IndexArray;

namespace {

py::array_t<std::int32_t> index_matrix(const std::vector<std::int32_t>& flat, int cols) {
  const py::ssize_t rows = cols ? static_cast<py::ssize_t>(flat.size()) / cols : 0;
  py::array_t<std::int32_t> out({rows, static_cast<py::ssize_t>(cols)});
  std::copy(flat.begin(), flat.end(), out.mutable_data());
  return out;
}

hh::AcquisitionOptions make_options(int kind, double best, double ucb_beta, int batch_size,
                                    int pool_size, int local_starts, int local_max_steps,
                                    std::uint64_t seed, int threads, double fantasy_repetitions) {
  if (kind < 0 || kind > 3) throw py::value_error("unknown acquisition kind " + std::to_string(kind));
  if (!std::isfinite(best)) throw py::value_error("best must be finite");
  if (batch_size < 1) throw py::value_error("batch_size must be >= 1");
  if (pool_size < 1) throw py::value_error("pool_size must be >= 1");
  if (local_starts < 0 || local_max_steps < 0) throw py::value_error("local search sizes must be >= 0");
  if (threads < 0) throw py::value_error("threads must be >= 0");
  if (!(fantasy_repetitions > 0)) throw py::value_error("fantasy_repetitions must be > 0");
  hh::AcquisitionOptions o;
  o.kind = static_cast<hh::AcquisitionKind>(kind);
  o.best = best;
  o.ucb_beta = ucb_beta;
  o.batch_size = batch_size;
  o.pool_size = pool_size;
  o.local_starts = local_starts;
  o.local_max_steps = local_max_steps;
  o.seed = seed;
  o.threads = threads;
  o.fantasy_repetitions = fantasy_repetitions;
  return o;
}

hh::AcquisitionModels make_models(const hh::DiscreteSpace& space, const hh::GaussianProcess& objective,
                                  const hh::GaussianProcess* cost, const hh::GaussianProcess* feasibility,
                                  double feasibility_floor) {
  const hh::GaussianProcess* all[] = {&objective, cost, feasibility};
  const char* names[] = {"objective", "cost", "feasibility"};
  for (int i = 0; i < 3; ++i) {
    if (all[i] && all[i]->dim() != space.num_features()) {
      throw py::value_error(std::string(names[i]) + " model has dim " + std::to_string(all[i]->dim()) +
                            " but the space has " + std::to_string(space.num_features()) + " features");
    }
  }
  if (!(feasibility_floor > 0 && feasibility_floor <= 1)) {
    throw py::value_error("feasibility_floor must be in (0, 1]");
  }
  hh::AcquisitionModels models;
  models.objective = &objective;
  models.cost = cost;
  models.feasibility = feasibility;
  models.feasibility_floor = feasibility_floor;
  return models;
}

}  // namespace

void register_space(py::module_& m) {
  py::enum_<hh::DimensionKind>(m, "DimensionKind")
      .value("ORDINAL", hh::DimensionKind::Ordinal)
      .value("CATEGORICAL", hh::DimensionKind::Categorical)
      .value("BOOLEAN", hh::DimensionKind::Boolean);

  py::class_<hh::DiscreteSpace>(m, "DiscreteSpace")
      .def(py::init([](const std::vector<std::tuple<hh::DimensionKind, std::vector<double>, std::string>>& dims) {
             std::vector<hh::Dimension> converted;
             for (const auto& [kind, values, name] : dims) {
               hh::Dimension d;
               d.kind = kind;
               d.values = values;
               d.name = name;
               converted.push_back(std::move(d));
             }
             return new hh::DiscreteSpace(std::move(converted));
           }),
           py::arg("dimensions"))
      .def_property_readonly("num_dims", &hh::DiscreteSpace::num_dims)
      .def_property_readonly("num_features", &hh::DiscreteSpace::num_features)
      .def_property_readonly("log10_size", &hh::DiscreteSpace::log10_size)
      .def(
          "sample",
          [](const hh::DiscreteSpace& s, std::uint64_t seed, int count) {
            if (count < 0) throw py::value_error("count must be >= 0");
            std::vector<std::int32_t> out(static_cast<size_t>(count) * s.num_dims());
            {
              py::gil_scoped_release release;
              s.sample(seed, count, out.data());
            }
            return index_matrix(out, s.num_dims());
          },
          py::arg("seed"), py::arg("count"))
      .def(
          "features",
          [](const hh::DiscreteSpace& s, IndexArray points) {
            hh_bind::require_matrix(points, s.num_dims(), "points", 0);
            const int n = hh_bind::checked_int(points.shape(0), "number of points");
            s.validate(points.data(), n);
            py::array_t<double> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(s.num_features())});
            double* o = out.mutable_data();
            {
              py::gil_scoped_release release;
              s.features(points.data(), n, o);
            }
            return out;
          },
          py::arg("points"))
      .def(
          "neighbours",
          [](const hh::DiscreteSpace& s, IndexArray point) {
            hh_bind::require_vector(point, s.num_dims(), "point");
            s.validate(point.data(), 1);
            std::vector<std::int32_t> out;
            s.neighbours(point.data(), &out);
            return index_matrix(out, s.num_dims());
          },
          py::arg("point"))
      .def(
          "validate",
          [](const hh::DiscreteSpace& s, IndexArray points) {
            hh_bind::require_matrix(points, s.num_dims(), "points", 0);
            s.validate(points.data(), hh_bind::checked_int(points.shape(0), "number of points"));
          },
          py::arg("points"));

  py::class_<hh::PointSet>(m, "PointSet")
      .def(py::init([](int num_dims) {
             if (num_dims < 1) throw py::value_error("num_dims must be >= 1");
             return new hh::PointSet(num_dims);
           }),
           py::arg("num_dims"))
      .def_property_readonly("num_dims", &hh::PointSet::num_dims)
      .def(
          "add",
          [](hh::PointSet& set, IndexArray points) {
            hh_bind::require_matrix(points, set.num_dims(), "points", 0);
            for (py::ssize_t i = 0; i < points.shape(0); ++i) set.insert(points.data() + i * set.num_dims());
          },
          py::arg("points"))
      .def(
          "contains",
          [](const hh::PointSet& set, IndexArray point) {
            hh_bind::require_vector(point, set.num_dims(), "point");
            return set.contains(point.data());
          },
          py::arg("point"))
      .def("__len__", &hh::PointSet::size);

  m.def(
      "log_expected_improvement",
      [](DoubleArray mean, DoubleArray variance, double best) {
        hh_bind::require_vector(mean, -1, "mean");
        hh_bind::require_vector(variance, mean.shape(0), "variance");
        py::array_t<double> out(mean.shape(0));
        for (py::ssize_t i = 0; i < mean.shape(0); ++i)
          out.mutable_data()[i] = hh::log_expected_improvement(mean.data()[i], variance.data()[i], best);
        return out;
      },
      py::arg("mean"), py::arg("variance"), py::arg("best"));
  m.def(
      "expected_improvement",
      [](DoubleArray mean, DoubleArray variance, double best) {
        hh_bind::require_vector(mean, -1, "mean");
        hh_bind::require_vector(variance, mean.shape(0), "variance");
        py::array_t<double> out(mean.shape(0));
        for (py::ssize_t i = 0; i < mean.shape(0); ++i)
          out.mutable_data()[i] = hh::expected_improvement(mean.data()[i], variance.data()[i], best);
        return out;
      },
      py::arg("mean"), py::arg("variance"), py::arg("best"));

  m.def(
      "maximize_acquisition",
      [](const hh::DiscreteSpace& space, const hh::GaussianProcess& objective,
         const hh::GaussianProcess* cost, const hh::GaussianProcess* feasibility,
         double feasibility_floor, int kind, double best, double ucb_beta, int batch_size,
         int pool_size, int local_starts, int local_max_steps, std::uint64_t seed, int threads,
         double fantasy_repetitions, const hh::PointSet* exclude, py::object incumbents) {
        auto options = make_options(kind, best, ucb_beta, batch_size, pool_size, local_starts,
                                    local_max_steps, seed, threads, fantasy_repetitions);
        auto models = make_models(space, objective, cost, feasibility, feasibility_floor);
        IndexArray inc;
        int num_incumbents = 0;
        if (!incumbents.is_none()) {
          inc = IndexArray::ensure(incumbents);
          if (!inc) throw py::type_error("incumbents must be an integer array");
          hh_bind::require_matrix(inc, space.num_dims(), "incumbents", 0);
          num_incumbents = hh_bind::checked_int(inc.shape(0), "number of incumbents");
          space.validate(inc.data(), num_incumbents);
        }
        hh::AcquisitionResult r;
        {
          py::gil_scoped_release release;
          r = hh::maximize_acquisition(space, models, options, exclude,
                                       num_incumbents ? inc.data() : nullptr, num_incumbents);
        }
        py::dict d;
        d["points"] = index_matrix(r.points, space.num_dims());
        d["scores"] = py::array_t<double>(r.scores.size(), r.scores.data());
        d["means"] = py::array_t<double>(r.means.size(), r.means.data());
        d["variances"] = py::array_t<double>(r.variances.size(), r.variances.data());
        d["candidates_scored"] = r.candidates_scored;
        d["exact_evaluations"] = r.exact_evaluations;
        return d;
      },
      py::arg("space"), py::arg("objective"), py::arg("cost"), py::arg("feasibility"),
      py::arg("feasibility_floor"), py::arg("kind"), py::arg("best"), py::arg("ucb_beta"),
      py::arg("batch_size"), py::arg("pool_size"), py::arg("local_starts"),
      py::arg("local_max_steps"), py::arg("seed"), py::arg("threads"),
      py::arg("fantasy_repetitions"), py::arg("exclude"), py::arg("incumbents"));

  m.def(
      "score_points",
      [](const hh::DiscreteSpace& space, const hh::GaussianProcess& objective,
         const hh::GaussianProcess* cost, const hh::GaussianProcess* feasibility,
         double feasibility_floor, int kind, double best, double ucb_beta, IndexArray points) {
        auto options = make_options(kind, best, ucb_beta, 1, 1, 0, 0, 0, 0, 1.0);
        auto models = make_models(space, objective, cost, feasibility, feasibility_floor);
        hh_bind::require_matrix(points, space.num_dims(), "points", 0);
        const int n = hh_bind::checked_int(points.shape(0), "number of points");
        space.validate(points.data(), n);
        std::vector<double> scores;
        {
          py::gil_scoped_release release;
          scores = hh::score_points(space, models, options, points.data(), n);
        }
        return py::array_t<double>(scores.size(), scores.data());
      },
      py::arg("space"), py::arg("objective"), py::arg("cost"), py::arg("feasibility"),
      py::arg("feasibility_floor"), py::arg("kind"), py::arg("best"), py::arg("ucb_beta"),
      py::arg("points"));
}
