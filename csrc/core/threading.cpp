#include "threading.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "blas.hpp"
#include "gp.hpp"

namespace hh {
namespace {

int hardware_threads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

std::atomic<int>& default_threads() {
  static std::atomic<int> threads{hardware_threads()};
  return threads;
}

}  // namespace

void set_num_threads(int threads) {
  if (threads < 0)
    throw std::invalid_argument(
        "set_num_threads: threads must be >= 0 (0 = "
        "the hardware's count), got " +
        std::to_string(threads));
  default_threads().store(threads == 0 ? hardware_threads() : threads);
}

int get_num_threads() {
  return default_threads().load();
}

int resolve_threads(int requested) {
  return requested > 0 ? requested : get_num_threads();
}

void parallel_for(int num_tasks, int threads, const std::function<void(int task, int worker)>& fn) {
  if (num_tasks <= 0) return;
  const int workers = std::max(1, std::min(resolve_threads(threads), num_tasks));
  if (workers == 1) {
    for (int task = 0; task < num_tasks; ++task) fn(task, 0);
    return;
  }
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&](int worker) {
    while (!failed.load(std::memory_order_relaxed)) {
      const int task = next.fetch_add(1);
      if (task >= num_tasks) break;
      try {
        fn(task, worker);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        failed.store(true);
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  // A thread that cannot be created (EAGAIN under a process or memory limit)
  // must not escape here: unwinding would destroy the joinable threads
  // already started, which calls std::terminate. Tasks are claimed
  // dynamically, so the threads that did start do all the work.
  try {
    for (int w = 1; w < workers; ++w) pool.emplace_back(work, w);
  } catch (const std::system_error&) {
  }
  work(0);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

void use_single_threaded_blas() {
  if (scipy_openblas_get_num_threads() != 1) scipy_openblas_set_num_threads(1);
}

}  // namespace hh
