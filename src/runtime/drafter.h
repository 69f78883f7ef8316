// Speculative decoding's proposers: a drafter guesses the tokens that follow a sequence, and the
// target model checks them all in one forward pass (speculative_verify.h). Drafters here are
// deterministic given the context (greedy draft model, n-gram lookup), so the verification rule
// treats each drafted token's proposal distribution q as one-hot.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace weblm {

class Drafter {
 public:
  virtual ~Drafter() = default;

  // A stream is one sequence being generated. Drafters that keep state per sequence (a draft
  // model's KV cache) key it by the id open() returns; close() gives that state back.
  virtual int32_t open() { return 0; }
  virtual void close(int32_t /*stream*/) {}
  // The stream's prompt, once the target has processed it: a draft model reads it here, in the
  // prompt phase, rather than at its first proposal in the middle of decoding.
  virtual void start(int32_t /*stream*/, std::span<const int32_t> /*prompt*/) {}

  // Replaces `out` with at most `max_tokens` tokens guessed to follow `context` (every token of
  // the sequence so far, prompt included). Proposing nothing is always allowed.
  virtual void propose(int32_t stream, std::span<const int32_t> context, int32_t max_tokens,
                       std::vector<int32_t>& out) = 0;
};

// What one request's (or one run's) speculation achieved.
struct SpeculationStats {
  int64_t drafted = 0;   // tokens proposed and verified
  int64_t accepted = 0;  // of them, kept
  double acceptance_rate() const { return drafted > 0 ? static_cast<double>(accepted) / drafted : 0.0; }
};

}  // namespace weblm
