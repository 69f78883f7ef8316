#include "runtime/draft_length.h"

#include <algorithm>

#include "util/error.h"

namespace weblm {

namespace {
constexpr double kWeight = 0.25;  // of the newest step in the moving averages
constexpr int32_t kFirstPause = 8;
constexpr int32_t kLongestPause = 256;

void average_in(double& average, int32_t& steps, double value) {
  average = steps == 0 ? value : average + kWeight * (value - average);
  ++steps;
}
}  // namespace

DraftLength::DraftLength(int32_t max) : max_(max), length_(std::min(kStart, max)) {
  if (max < 1) fail("the draft length limit must be at least 1, got ", max);
}

int32_t DraftLength::next() {
  if (paused_ > 0) {
    --paused_;
    return 0;
  }
  return length_;
}

void DraftLength::record(int32_t drafted, int32_t accepted, int32_t tokens, double ms) {
  const double ms_per_token = ms / std::max(tokens, 1);
  if (drafted <= 0) {
    average_in(plain_ms_, plain_steps_, ms_per_token);
    return;
  }
  recent_rate_ += kWeight * (static_cast<double>(accepted) / drafted - recent_rate_);
  length_ = accepted == drafted ? std::min(length_ + 1, max_) : std::clamp(accepted + 1, 1, std::max(length_ - 1, 1));
  if (since_resume_++ > 0) average_in(speculative_ms_, speculative_steps_, ms_per_token);
  const bool slower = plain_steps_ >= kTimedSteps && speculative_steps_ >= kTimedSteps && speculative_ms_ > plain_ms_;
  if (recent_rate_ < kAcceptanceFloor || slower) {
    pause();
  } else if (speculative_steps_ >= kTimedSteps) {
    next_pause_ = kFirstPause;  // it pays: the next failure pauses briefly again
  }
}

// Plain decoding for a while, then a probe: a short draft judged from a neutral rate, so one
// good probe resumes.
void DraftLength::pause() {
  paused_ = next_pause_;
  next_pause_ = std::min(next_pause_ * 4, kLongestPause);
  length_ = 1;
  recent_rate_ = kAcceptanceFloor;
  speculative_steps_ = since_resume_ = 0;
}

}  // namespace weblm
