#include "server/engine_worker.h"

#include <cstdio>
#include <exception>

namespace weblm::server {

namespace {

std::string sse_event(const api::Json& data) { return "data: " + api::dump_json(data) + "\n\n"; }

// The request log: one line per finished completion, on stderr (stdout carries only the URL).
void log_completion(const api::Json& response, const api::RequestStats& stats) {
  const double ttft_ms = stats.queued_ms + stats.prompt_ms;
  // The first token's time is in the TTFT; the rate is over the tokens decoded after it.
  const double decode_rate = stats.completion_tokens > 1 && stats.decode_ms > 0
                                 ? (stats.completion_tokens - 1) * 1000.0 / stats.decode_ms
                                 : 0.0;
  std::string finish = "?";
  if (response.contains("choices") && !response["choices"].empty()) {
    const api::Json& reason = response["choices"][0]["finish_reason"];
    if (reason.is_string()) finish = reason.get<std::string>();
  }
  std::fprintf(stderr,
               "weblm serve: %s prompt=%d (cached %d) completion=%d ttft=%.1fms (queued %.1fms) decode=%.1f tok/s "
               "finish=%s\n",
               response.value("id", std::string("?")).c_str(), stats.prompt_tokens, stats.cached_tokens,
               stats.completion_tokens, ttft_ms, stats.queued_ms, decode_rate, finish.c_str());
}

}  // namespace

EngineWorker::EngineWorker(api::Service& service, int32_t max_active)
    : service_(service), max_active_(max_active), thread_([this] { loop(); }) {}

EngineWorker::~EngineWorker() {
  stop();
  join();
}

void EngineWorker::post(Task task) {
  std::lock_guard lock(mutex_);
  tasks_.push_back(std::move(task));
  wake_.notify_one();
}

std::shared_ptr<Exchange> EngineWorker::submit(api::Json body, api::Endpoint endpoint) {
  auto exchange = std::make_shared<Exchange>(body.is_object() && body.value("stream", false) == true);
  post([this, exchange, body = std::move(body), endpoint] { run_submit(exchange, body, endpoint); });
  return exchange;
}

void EngineWorker::cancel(const std::shared_ptr<Exchange>& exchange) {
  if (exchange->state() == Exchange::State::Finished) return;
  post([this, exchange] {
    // The submit task ran before this one (FIFO): the exchange is accepted or already finished.
    if (exchange->state() == Exchange::State::Accepted) service_.cancel(exchange->id());
  });
}

void EngineWorker::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  wake_.notify_one();
}

void EngineWorker::join() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = exit_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

void EngineWorker::run_submit(const std::shared_ptr<Exchange>& exchange, const api::Json& body,
                              api::Endpoint endpoint) {
  bool stopping;
  {
    std::lock_guard lock(mutex_);
    stopping = stopping_;
  }
  if (stopping) {
    exchange->fail(api::ApiError(503, "server_error", "The server is shutting down.", "", "server_shutting_down"));
    return;
  }
  if (active_.load() >= max_active_) {
    exchange->fail(api::ApiError(503, "server_error",
                                 str_cat("The server is overloaded: ", max_active_,
                                              " requests are already running or queued. Please retry later."),
                                 "", "server_overloaded"));
    return;
  }
  api::ResponseSink sink;
  // The sink's callbacks run on this thread inside step(); they only hand data to the exchange.
  if (exchange->stream()) sink.on_chunk = [exchange](const api::Json& chunk) { exchange->push_event(sse_event(chunk)); };
  sink.on_done = [this, exchange](const api::Json& response, const api::RequestStats& stats) {
    log_completion(response, stats);
    if (exchange->stream()) exchange->push_event("data: [DONE]\n\n");
    accepted_.erase(exchange->id());
    --active_;
    exchange->finish(response);
  };
  sink.on_error = [this, exchange](const api::ApiError& error) {
    std::fprintf(stderr, "weblm serve: request %lld failed: %s\n", static_cast<long long>(exchange->id()), error.what());
    // A stream has sent its headers already: the error travels as an event, as OpenAI does.
    if (exchange->stream()) exchange->push_event(sse_event(error.to_json()));
    accepted_.erase(exchange->id());
    --active_;
    exchange->fail(error);
  };
  try {
    const api::RequestId id = service_.submit(body, endpoint, std::move(sink));
    accepted_[id] = exchange;
    ++active_;
    exchange->accept(id);
  } catch (const api::ApiError& e) {
    exchange->fail(e);
  } catch (const std::exception& e) {
    // Anything else from validation is still about this request (a tokenizer or template
    // error on its content), not a reason to stop serving.
    exchange->fail(api::ApiError(400, "invalid_request_error", e.what(), "", "invalid_value"));
  }
}

void EngineWorker::fail_everything(const std::string& why) {
  const api::ApiError error = api::server_error(why);
  auto failed = std::move(accepted_);
  accepted_.clear();
  for (auto& [id, exchange] : failed) {
    service_.cancel(id);
    if (exchange->stream()) exchange->push_event(sse_event(error.to_json()));
    --active_;
    exchange->fail(error);
  }
}

void EngineWorker::loop() {
  bool cancelled_for_stop = false;
  for (;;) {
    std::vector<Task> tasks;
    bool stopping;
    {
      std::unique_lock lock(mutex_);
      // Sleep only when nothing is running: otherwise new tasks are picked up between passes.
      wake_.wait(lock, [&] { return !tasks_.empty() || exit_ || (stopping_ && !cancelled_for_stop) || !service_.idle(); });
      if (exit_ && tasks_.empty() && service_.idle()) return;
      tasks.swap(tasks_);
      stopping = stopping_;
    }
    for (Task& task : tasks) task();
    if (stopping && !cancelled_for_stop) {
      for (auto& [id, exchange] : accepted_) service_.cancel(id);
      cancelled_for_stop = true;
    }
    try {
      // Nothing to compute with requests still waiting cannot happen (submit rejects what can
      // never fit), so a false here means idle.
      service_.step();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "weblm serve: engine error: %s\n", e.what());
      fail_everything(str_cat("The engine failed: ", e.what()));
    }
  }
}

}  // namespace weblm::server
