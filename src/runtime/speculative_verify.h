// Verification of drafted tokens against the target model's logits, one rule for every
// drafter. The target evaluated [last token, d_0 .. d_{n-1}] in one pass with all logits, so
// row i is its prediction for the position of d_i (row n: the bonus position after them all).
//   temperature 0: d_i is kept while it equals the argmax (output identical to plain decoding);
//   temperature > 0: the rejection-sampling rule of speculative sampling (Leviathan et al. 2023,
//   Chen et al. 2023): keep d_i with probability min(1, p(d_i) / q(d_i)), else draw from
//   norm(max(0, p - q)). Drafters here are deterministic, so q is one-hot on d_i: keep with
//   probability p(d_i), else draw from p with d_i removed. Each kept token, and the final one,
//   is then distributed exactly as the target's p.
// p is the sampler's processed distribution (bias, penalties, top-k/p, min-p, temperature), and
// the sampler's history advances token by token, so penalties see what plain decoding sees.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "runtime/sampler.h"

namespace weblm {

// The token for one verified position: `drafted` when the rule keeps it, else a replacement;
// drafted < 0 (no draft at this position): an ordinary sample.
int32_t verify_token(Sampler& sampler, std::span<const float> logits, int32_t drafted, std::vector<float>& scratch);

// Walks the rows [draft.size() + 1, n_vocab] in order: picks each position's token
// (verify_token), hands it with its row to `take` (which records it: the sampler's accept()
// among others, and returns false when generation ends there), and stops after the first token
// that differs from the draft. Returns how many drafted tokens were taken unchanged; the
// caller's caches keep the positions of the last token plus that many drafts and drop the rest.
int32_t verify_draft(Sampler& sampler, std::span<const float> rows, std::span<const int32_t> draft,
                     const std::function<bool(int32_t token, std::span<const float> row)>& take);

}  // namespace weblm
