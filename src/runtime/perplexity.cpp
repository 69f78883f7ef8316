#include "runtime/perplexity.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "util/error.h"

namespace weblm {

double token_nll(std::span<const float> logits, int32_t token) {
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  double sum_exp = 0;
  for (float x : logits) sum_exp += std::exp(x - max_logit);
  return -(static_cast<double>(logits[token] - max_logit) - std::log(sum_exp));
}

double NllAccumulator::ppl() const { return std::exp(sum_ / static_cast<double>(count_)); }

double NllAccumulator::ppl_error() const {
  if (count_ < 2) return 0;
  const double mean = sum_ / static_cast<double>(count_);
  const double variance = sum_sq_ / static_cast<double>(count_) - mean * mean;
  return variance > 0 ? std::sqrt(variance / static_cast<double>(count_ - 1)) * ppl() : 0;
}

PerplexityResult perplexity(Engine& engine, std::span<const int32_t> tokens, int32_t n_ctx, int32_t bos,
                            const std::function<void(int32_t, double)>& on_chunk) {
  if (n_ctx < 4) fail("perplexity: the context size must be at least 4, not ", n_ctx);
  if (n_ctx > engine.options().n_ctx)
    fail("perplexity: context ", n_ctx, " exceeds the engine's ", engine.options().n_ctx);
  if (tokens.size() < 2 * static_cast<size_t>(n_ctx))
    fail("the text has ", tokens.size(), " tokens; perplexity with a context of ", n_ctx, " needs at least ",
         2 * n_ctx, " (give more text or a smaller -c)");
  const int32_t n_chunks = static_cast<int32_t>(tokens.size() / static_cast<size_t>(n_ctx));
  const int32_t first = n_ctx / 2;
  const size_t n_vocab = static_cast<size_t>(engine.n_vocab());
  NllAccumulator acc;
  std::vector<int32_t> chunk(static_cast<size_t>(n_ctx));
  for (int32_t c = 0; c < n_chunks; ++c) {
    const auto begin = tokens.begin() + static_cast<std::ptrdiff_t>(c) * n_ctx;
    std::copy(begin, begin + n_ctx, chunk.begin());
    if (bos >= 0) chunk[0] = bos;
    const int32_t seq = engine.kv().create_sequence();
    const std::vector<float>& logits = engine.prefill(seq, chunk, true);  // [n_ctx, n_vocab]
    // Position j predicts token j + 1 (the original one: BOS only replaced position 0's input).
    for (int32_t j = first; j < n_ctx - 1; ++j)
      acc.add(token_nll(std::span<const float>(logits.data() + j * n_vocab, n_vocab), begin[j + 1]));
    engine.kv().release_sequence(seq);
    if (on_chunk) on_chunk(c + 1, acc.ppl());
  }
  return {n_chunks, acc.count(), acc.ppl(), acc.ppl_error()};
}

}  // namespace weblm
