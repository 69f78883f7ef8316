// Perplexity of a model on a text, measured the way llama.cpp's `llama-perplexity` measures it,
// so the two numbers can be compared: the tokens are cut into chunks of n_ctx, each chunk is
// evaluated from an empty cache with its first token replaced by BOS (when the model adds one),
// and only the second half of each chunk's positions is scored (every scored token has at least
// n_ctx/2 tokens of context).
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "runtime/engine.h"

namespace weblm {

// -log p(token) under softmax(logits), in llama.cpp's precision (float max subtraction, double sum).
double token_nll(std::span<const float> logits, int32_t token);

struct PerplexityResult {
  int32_t n_chunks = 0;
  int64_t n_scored = 0;   // tokens scored
  double ppl = 0;         // exp(mean nll)
  double ppl_error = 0;   // ppl * standard error of the mean nll, as llama.cpp reports "+/-"
};

// Sums of nll and nll^2 over scored tokens; ppl and its error from them.
class NllAccumulator {
 public:
  void add(double nll) {
    sum_ += nll;
    sum_sq_ += nll * nll;
    ++count_;
  }
  int64_t count() const { return count_; }
  double ppl() const;
  double ppl_error() const;

 private:
  double sum_ = 0, sum_sq_ = 0;
  int64_t count_ = 0;
};

// `tokens` is the whole tokenized text (BOS first where the model adds one); `bos` is the id put
// at each chunk's start, or -1 for none. The engine must hold n_ctx positions of one sequence.
// on_chunk(chunk index from 1, running ppl) is called after each chunk. Throws Error when the
// text is shorter than two chunks.
PerplexityResult perplexity(Engine& engine, std::span<const int32_t> tokens, int32_t n_ctx, int32_t bos,
                            const std::function<void(int32_t, double)>& on_chunk);

}  // namespace weblm
