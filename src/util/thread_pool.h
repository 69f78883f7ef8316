// A fixed pool of worker threads for data-parallel ops. The calling thread takes part, so a
// pool of size 1 runs everything inline. Workers spin briefly between ops (a decode step runs
// hundreds of small ops), then sleep.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace weblm {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(task, thread) for every task in [0, n_tasks) and returns when all are done.
  // `thread` is in [0, size()): an index for per-thread scratch.
  template <class Fn>
  void run(int64_t n_tasks, Fn&& fn) {
    if (n_tasks <= 0) return;
    if (workers_.empty() || n_tasks == 1) {
      for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
      return;
    }
    dispatch(n_tasks, [](void* ctx, int64_t task, int thread) { (*static_cast<Fn*>(ctx))(task, thread); },
             &fn);
  }

  // Threads to use when the caller asks for "all cores".
  static int default_threads();

 private:
  using TaskFn = void (*)(void* ctx, int64_t task, int thread);
  void dispatch(int64_t n_tasks, TaskFn fn, void* ctx);
  void worker_loop(int thread);
  void drain(int thread);

  std::vector<std::thread> workers_;
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t n_tasks_ = 0;
  std::atomic<int64_t> next_task_{0};
  std::atomic<int> busy_{0};          // workers still inside the current job
  std::atomic<uint32_t> generation_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace weblm
