// Thread safety for the bound objects that can change: a core object and a
// reader-writer lock travel together. Readers (predict, acquisition, contains)
// share the lock, writers (fit, update, add) hold it alone. The GIL is
// released *before* taking the lock, so a thread waiting for the lock never
// blocks the one holding it (which needs the GIL only after unlocking).
#pragma once

#include <pybind11/pybind11.h>

#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <utility>
#include <vector>

#include "gp.hpp"
#include "space.hpp"

namespace hh_bind {

namespace py = pybind11;

template <class T>
struct Shared {
  template <class... Args>
  explicit Shared(Args&&... args) : value(std::forward<Args>(args)...) {}
  T value;
  mutable std::shared_mutex mutex;
};

using SharedGp = Shared<hh::GaussianProcess>;
using SharedPointSet = Shared<hh::PointSet>;

// fn(value) under a shared lock, without the GIL.
template <class T, class F>
auto read(const Shared<T>& s, F&& fn) {
  py::gil_scoped_release release;
  std::shared_lock<std::shared_mutex> lock(s.mutex);
  return fn(static_cast<const T&>(s.value));
}

// fn(value) under the exclusive lock, without the GIL.
template <class T, class F>
auto write(Shared<T>& s, F&& fn) {
  py::gil_scoped_release release;
  std::unique_lock<std::shared_mutex> lock(s.mutex);
  return fn(s.value);
}

// Shared locks on several objects at once (duplicates locked once, in
// address order). Take it with the GIL released.
class ReadLocks {
 public:
  explicit ReadLocks(std::vector<std::shared_mutex*> mutexes) {
    mutexes.erase(std::remove(mutexes.begin(), mutexes.end(), nullptr), mutexes.end());
    std::sort(mutexes.begin(), mutexes.end());
    mutexes.erase(std::unique(mutexes.begin(), mutexes.end()), mutexes.end());
    for (std::shared_mutex* m : mutexes) locks_.emplace_back(*m);
  }

 private:
  std::vector<std::shared_lock<std::shared_mutex>> locks_;
};

template <class T>
std::shared_mutex* mutex_of(const Shared<T>* s) {
  return s ? &s->mutex : nullptr;
}

}  // namespace hh_bind
