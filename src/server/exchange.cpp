#include "server/exchange.h"

namespace weblm::server {

void Exchange::accept(api::RequestId id) {
  std::lock_guard lock(mutex_);
  id_ = id;
  state_ = State::Accepted;
  changed_.notify_all();
}

void Exchange::push_event(std::string event) {
  std::lock_guard lock(mutex_);
  events_.push_back(std::move(event));
  changed_.notify_all();
}

void Exchange::finish(api::Json response) {
  std::lock_guard lock(mutex_);
  response_ = std::move(response);
  state_ = State::Finished;
  changed_.notify_all();
}

void Exchange::fail(const api::ApiError& error) {
  std::lock_guard lock(mutex_);
  error_ = error;
  state_ = State::Finished;
  changed_.notify_all();
}

Exchange::State Exchange::wait_submitted() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return state_ != State::Pending; });
  return state_;
}

void Exchange::wait_finished() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return state_ == State::Finished; });
}

Exchange::Events Exchange::take_events(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return !events_.empty() || state_ == State::Finished; });
  Events taken;
  taken.events.swap(events_);
  taken.finished = state_ == State::Finished;
  return taken;
}

Exchange::State Exchange::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

api::RequestId Exchange::id() const {
  std::lock_guard lock(mutex_);
  return id_;
}

}  // namespace weblm::server
