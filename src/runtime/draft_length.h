// How many tokens to draft for one sequence, adapted to what speculation achieves:
// - length: start at 4, one more after a fully accepted draft, down to just past the accepted
//   ones after a rejection, within [1, max];
// - pauses: drafting stops (plain decoding, no draft cost) for a while when the recent
//   acceptance rate falls below a floor, or when speculative steps have cost more time per
//   generated token than plain steps; each consecutive pause is four times as long, so
//   speculation that does not pay costs only rare probes. The first few steps are plain, to time
//   them, and the acceptance starts at a middling rate so that a useless drafter is dropped
//   after two drafts.
#pragma once

#include <cstdint>

namespace weblm {

class DraftLength {
 public:
  static constexpr int32_t kStart = 4;
  static constexpr double kAcceptanceFloor = 0.3;
  static constexpr int32_t kTimedSteps = 3;  // steps of each kind timed before comparing them

  explicit DraftLength(int32_t max = 8);

  // Tokens to draft at this step (0: decode plainly). Counts down a pause.
  int32_t next();
  // The outcome of one step: `drafted` tokens proposed (0: a plain step), `accepted` of them
  // kept, `tokens` generated in all, in `ms` of wall time (drafting and the pass).
  void record(int32_t drafted, int32_t accepted, int32_t tokens, double ms);

 private:
  void pause();

  int32_t max_;
  int32_t length_;
  double recent_rate_ = 0.5;  // moving average of the per-step acceptance rate
  int32_t paused_ = kTimedSteps;
  int32_t next_pause_ = 8;
  // Moving averages of wall time per generated token, and how many steps each has seen (the
  // speculative one since drafting last resumed, leaving out its first step: a draft model
  // catches up on the tokens of the pause there).
  double plain_ms_ = 0, speculative_ms_ = 0;
  int32_t plain_steps_ = 0, speculative_steps_ = 0, since_resume_ = 0;
};

}  // namespace weblm
