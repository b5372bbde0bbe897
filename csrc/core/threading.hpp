// Minimal threading helpers for the core: a fork-join parallel_for over a
// fixed number of tasks and the OpenBLAS thread setting.
#pragma once

#include <functional>

namespace hh {

// Resolves a requested thread count: 0 (or negative) means get_num_threads().
// Callers validate user input first (negative counts are errors there).
int resolve_threads(int requested);

// Runs fn(task, worker) for task in [0, num_tasks) on up to `threads` threads
// (the calling thread is worker 0). Tasks are handed out dynamically, so the
// task -> worker mapping is not deterministic; callers must make each task's
// result independent of the worker (worker only indexes scratch space).
// The first exception thrown by any task is rethrown after all workers end.
void parallel_for(int num_tasks, int threads, const std::function<void(int task, int worker)>& fn);

// Makes OpenBLAS (the core's own copy, scipy-openblas32) run single-threaded;
// cheap when it already does, so entry points call it every time (something
// else, e.g. threadpoolctl, may have changed it). Why: OpenBLAS's threaded
// routines round differently for different thread counts (measured: GEMM,
// SYMM, TRSM, POTRF, TRTRI, LAUUM differ between 1 and 2 threads), and they
// oversubscribe a loaded machine (a fit at N=1000 ran 10x slower on 2
// threads than on 1 next to another busy process). The core parallelises
// over its own fixed partitions instead, so results do not depend on the
// thread count.
void use_single_threaded_blas();

}  // namespace hh
