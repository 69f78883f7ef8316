// One HTTP request's results on their way from the engine thread (which produces them through the
// Service's sink) to the HTTP handler thread that serves them. The engine thread never blocks on a
// client: it appends to this mailbox and moves on, so a slow or stalled reader costs only its own
// handler thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include "api/api_error.h"
#include "api/service.h"

namespace weblm::server {

class Exchange {
 public:
  enum class State {
    Pending,   // handed to the engine thread, not yet validated
    Accepted,  // validated and queued or running: chunks may follow
    Finished,  // response() or error() holds the outcome
  };

  explicit Exchange(bool stream) : stream_(stream) {}
  bool stream() const { return stream_; }

  // --- engine thread ---
  void accept(api::RequestId id);
  void push_event(std::string event);  // one server-sent event, already framed
  void finish(api::Json response);
  void fail(const api::ApiError& error);  // rejected before acceptance, or failed after it

  // --- handler threads ---
  // Blocks until the request is accepted or finished; returns the state then.
  State wait_submitted();
  // Blocks until the request is finished.
  void wait_finished();
  // Takes the events produced so far, waiting up to `timeout` for one (or the end). `finished`
  // is read together with them: when true, no event can follow.
  struct Events {
    std::deque<std::string> events;
    bool finished = false;
  };
  Events take_events(std::chrono::milliseconds timeout);

  State state() const;
  api::RequestId id() const;
  // Valid once finished: exactly one of them is set.
  const std::optional<api::Json>& response() const { return response_; }
  const std::optional<api::ApiError>& error() const { return error_; }

 private:
  const bool stream_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  State state_ = State::Pending;
  api::RequestId id_ = 0;
  std::deque<std::string> events_;
  std::optional<api::Json> response_;
  std::optional<api::ApiError> error_;
};

}  // namespace weblm::server
