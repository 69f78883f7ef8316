// Prompt-lookup drafting: no second model. The last n tokens of the context (n = 3, then 2, then
// 1) are looked up earlier in the context; what followed their latest occurrence is proposed.
// It pays off where output repeats input (summaries, edits, code) and costs nothing otherwise.
#pragma once

#include "runtime/drafter.h"

namespace weblm {

class NgramDrafter final : public Drafter {
 public:
  static constexpr int32_t kLongestNgram = 3;

  void propose(int32_t stream, std::span<const int32_t> context, int32_t max_tokens,
               std::vector<int32_t>& out) override;
};

}  // namespace weblm
