#include "util/thread_pool.h"

#include <thread>

#ifdef __EMSCRIPTEN__
#include <emscripten/threading.h>

#include <climits>
#include <cmath>
#endif

namespace weblm {

namespace {
// ~50-100 us of spinning: long enough to span the gap between consecutive ops of a forward pass.
constexpr int kSpinIterations = 1 << 16;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Emscripten 3.1.6's libc++ implements atomic::wait by polling with a backoff that sleeps up to
// 8 ms (no futex there), which made every wasm decode step wait for sleeping workers; its own
// futex (Atomics.wait / Atomics.notify) wakes them at once.
void wait_while_equal(std::atomic<uint32_t>& a, uint32_t old) {
#ifdef __EMSCRIPTEN__
  emscripten_futex_wait(&a, old, INFINITY);
#else
  a.wait(old, std::memory_order_acquire);
#endif
}

void wake_all(std::atomic<uint32_t>& a) {
#ifdef __EMSCRIPTEN__
  emscripten_futex_wake(&a, INT_MAX);
#else
  a.notify_all();
#endif
}
}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(1, std::memory_order_release);
  wake_all(generation_);
  for (auto& w : workers_) w.join();
}

int ThreadPool::default_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void ThreadPool::drain(int thread) {
  for (;;) {
    int64_t task = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (task >= n_tasks_) return;
    fn_(ctx_, task, thread);
  }
}

void ThreadPool::dispatch(int64_t n_tasks, TaskFn fn, void* ctx) {
  fn_ = fn;
  ctx_ = ctx;
  n_tasks_ = n_tasks;
  next_task_.store(0, std::memory_order_relaxed);
  busy_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  wake_all(generation_);
  drain(0);
  // A worker still on its task may have been preempted (more runnable threads than cores): after
  // the spin window, give the core away instead of burning the rest of the time slice.
  for (int spin = 0; busy_.load(std::memory_order_acquire) != 0; ++spin) {
    if (spin < kSpinIterations)
      cpu_relax();
    else
      std::this_thread::yield();
  }
}

void ThreadPool::worker_loop(int thread) {
  uint32_t seen = 0;
  for (;;) {
    uint32_t gen = generation_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < kSpinIterations; ++spin) {
      cpu_relax();
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      wait_while_equal(generation_, seen);
      continue;
    }
    seen = gen;
    if (stop_.load()) return;
    drain(thread);
    busy_.fetch_sub(1, std::memory_order_release);
  }
}

}  // namespace weblm
