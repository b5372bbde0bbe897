// Minimal threading helpers for the core: a fork-join parallel_for over a
// fixed number of tasks and a scope guard for OpenBLAS's thread count.
#pragma once

#include <functional>

namespace hh {

// Resolves a requested thread count: 0 (or negative) means get_num_threads().
int resolve_threads(int requested);

// Runs fn(task, worker) for task in [0, num_tasks) on up to `threads` threads
// (the calling thread is worker 0). Tasks are handed out dynamically, so the
// task -> worker mapping is not deterministic; callers must make each task's
// result independent of the worker (worker only indexes scratch space).
// The first exception thrown by any task is rethrown after all workers end.
void parallel_for(int num_tasks, int threads,
                  const std::function<void(int task, int worker)>& fn);

// Sets OpenBLAS's thread count for the lifetime of the object and restores
// the previous count afterwards. OpenBLAS's count is process-global, so two
// scopes on different threads can race; the worst case is oversubscription,
// never a wrong result.
class BlasThreadScope {
 public:
  explicit BlasThreadScope(int threads);
  ~BlasThreadScope();
  BlasThreadScope(const BlasThreadScope&) = delete;
  BlasThreadScope& operator=(const BlasThreadScope&) = delete;

 private:
  int previous_;
  bool changed_;
};

}  // namespace hh
