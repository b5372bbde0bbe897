// Binds a core options struct as a Python class: keyword construction,
// one property per field, replace(**changes) for a modified copy. Values are
// converted with the exact types of convert.hpp; the core's validate()
// decides what is allowed and runs after every construction and change, so
// an options object is always valid (a rejected change leaves it as it was).
#pragma once

#include <pybind11/pybind11.h>

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "convert.hpp"

namespace hh_bind {

namespace py = pybind11;

template <class Options>
class OptionsBinder {
 public:
  OptionsBinder(py::module_& m, const char* name, void (*validate)(const Options&), const char* doc)
      : cls_(m, name, doc), validate_(validate), fields_(std::make_shared<std::vector<Field>>()) {}

  // A field of type int, std::uint64_t, double, bool or an int-backed enum.
  template <class T>
  OptionsBinder& field(const char* name, T Options::* member, const char* doc) {
    Field f;
    f.name = name;
    f.set = [member, name](Options& o, py::handle v) { o.*member = convert<T>(v, name); };
    f.get = [member](const Options& o) -> py::object {
      if constexpr (std::is_enum_v<T>) {
        return py::int_(static_cast<int>(o.*member));
      } else {
        return py::cast(o.*member);
      }
    };
    fields_->push_back(f);
    auto validate = validate_;
    cls_.def_property(
        name, [member, get = f.get](const Options& o) { return get(o); },
        [set = f.set, validate](Options& o, py::handle v) {
          Options changed = o;
          set(changed, v);
          validate(changed);
          o = changed;
        },
        doc);
    return *this;
  }

  py::class_<Options>& finish() {
    auto fields = fields_;
    auto validate = validate_;
    auto apply = [fields, validate](Options o, const py::kwargs& changes) {
      for (auto item : changes) {
        const std::string key = py::str(item.first);
        const Field* f = nullptr;
        for (const Field& candidate : *fields)
          if (key == candidate.name) f = &candidate;
        if (f == nullptr) throw py::type_error("unexpected option '" + key + "'");
        f->set(o, item.second);
      }
      validate(o);
      return o;
    };
    cls_.def(py::init([apply](const py::kwargs& kw) { return apply(Options(), kw); }));
    cls_.def(
        "replace", [apply](const Options& o, const py::kwargs& kw) { return apply(o, kw); },
        "A validated copy with the given fields changed.");
    cls_.def("__repr__", [fields, name = std::string(py::str(cls_.attr("__name__")))](const Options& o) {
      std::string s = name + "(";
      for (std::size_t i = 0; i < fields->size(); ++i) {
        if (i) s += ", ";
        s += (*fields)[i].name + "=" + std::string(py::repr((*fields)[i].get(o)));
      }
      return s + ")";
    });
    return cls_;
  }

 private:
  struct Field {
    std::string name;
    std::function<void(Options&, py::handle)> set;
    std::function<py::object(const Options&)> get;
  };

  template <class T>
  static T convert(py::handle v, const char* name) {
    if constexpr (std::is_same_v<T, bool>) {
      return to_flag(v, name);
    } else if constexpr (std::is_same_v<T, std::uint64_t>) {
      return to_seed(v, name);
    } else if constexpr (std::is_same_v<T, double>) {
      return to_real(v, name);
    } else if constexpr (std::is_enum_v<T>) {
      return static_cast<T>(to_int(v, name));
    } else {
      static_assert(std::is_same_v<T, int>, "unsupported option type");
      return to_int(v, name);
    }
  }

  py::class_<Options> cls_;
  void (*validate_)(const Options&);
  std::shared_ptr<std::vector<Field>> fields_;
};

}  // namespace hh_bind
