// Token sampling from logits. The chain, in llama.cpp's default order: logit bias, repetition /
// frequency / presence penalties over the recent history, then greedy (temperature <= 0) or
// top-k -> top-p -> min-p -> temperature -> a draw from a seeded generator. The generator is
// our own (splitmix64 + a 24-bit uniform), so a seed gives the same tokens on every platform.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <vector>

namespace weblm {

struct SamplingParams {
  float temperature = 0.8f;
  int32_t top_k = 40;       // <= 0: off
  float top_p = 0.95f;      // >= 1: off
  float min_p = 0.05f;      // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off (llama.cpp's divide-positive / multiply-negative rule)
  int32_t repeat_last_n = 64;   // history window for all penalties
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  std::map<int32_t, float> logit_bias;
  uint64_t seed = 0;

  // Throws Error naming the parameter when a value is out of range.
  void validate(int32_t n_vocab) const;
};

struct TokenProb {
  int32_t token;
  float logprob;  // natural log of the probability under the (biased, penalized) distribution
};

class Sampler {
 public:
  Sampler(SamplingParams params, int32_t n_vocab);

  // Picks the next token from one row of logits.
  int32_t sample(std::span<const float> logits);
  // The distribution sample() draws from, over the whole vocabulary [n_vocab]: bias, penalties,
  // top-k, top-p, min-p and temperature applied, zero outside the kept candidates (one-hot on
  // the argmax at temperature 0). Speculative verification judges drafts against it.
  void distribution(std::span<const float> logits, std::vector<float>& probs);
  // Records a token of the context (prompt or generated) for the penalties.
  void accept(int32_t token);
  // Log-probabilities (after bias and penalties, before truncation and temperature) of the `n`
  // most likely tokens and of `token`, as OpenAI's logprobs report them.
  std::vector<TokenProb> top_logprobs(std::span<const float> logits, int n) const;
  float logprob(std::span<const float> logits, int32_t token) const;

  const SamplingParams& params() const { return params_; }
  // Uniform in [0, 1) from the sampler's generator (shared with speculative acceptance tests).
  float uniform();

 private:
  void adjust(std::span<const float> logits, std::vector<float>& out) const;
  // From adjusted_: the kept candidates (best first) and their probabilities at the temperature.
  void keep_candidates();

  SamplingParams params_;
  int32_t n_vocab_;
  uint64_t rng_state_;
  std::deque<int32_t> history_;
  std::vector<float> adjusted_;
  std::vector<int32_t> candidates_;
  std::vector<float> probs_;
};

}  // namespace weblm
