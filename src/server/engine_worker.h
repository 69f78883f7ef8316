// The one thread that owns the Service (which is not thread-safe). HTTP handler threads hand it
// submissions and cancellations through a task queue; it runs them between forward passes and
// loops step() while any request is queued or running, so requests that arrive while others
// decode join the next batched pass (continuous batching). It sleeps on a condition variable
// when there is nothing to do.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/service.h"
#include "server/exchange.h"

namespace weblm::server {

class EngineWorker {
 public:
  // At most `max_active` requests are accepted at once (running or waiting for KV room); more
  // are answered 503 at once rather than queued without bound.
  EngineWorker(api::Service& service, int32_t max_active);
  ~EngineWorker();  // stop() + join
  EngineWorker(const EngineWorker&) = delete;
  EngineWorker& operator=(const EngineWorker&) = delete;

  // Hands a request to the engine thread and returns at once; its exchange says what becomes of
  // it. Thread-safe.
  std::shared_ptr<Exchange> submit(api::Json body, api::Endpoint endpoint);
  // Ends the exchange's request at the next step (a client went away). Thread-safe; a no-op for
  // a finished one.
  void cancel(const std::shared_ptr<Exchange>& exchange);

  // Graceful stop: later submissions are refused (503) and every accepted request is cancelled,
  // so each client receives a well-formed end. The thread keeps running until join().
  void stop();
  // Waits for the engine thread to end (after stop(), once nothing is left to deliver).
  void join();

  int32_t active() const { return active_.load(); }  // accepted, not finished
  int32_t max_active() const { return max_active_; }

 private:
  using Task = std::function<void()>;
  void post(Task task);
  void loop();
  void run_submit(const std::shared_ptr<Exchange>& exchange, const api::Json& body, api::Endpoint endpoint);
  void fail_everything(const std::string& why);

  api::Service& service_;
  const int32_t max_active_;
  std::atomic<int32_t> active_{0};
  // Touched by the engine thread only: the exchanges of accepted requests, by request id.
  std::map<api::RequestId, std::shared_ptr<Exchange>> accepted_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Task> tasks_;
  bool stopping_ = false;
  bool exit_ = false;
  std::thread thread_;
};

}  // namespace weblm::server
