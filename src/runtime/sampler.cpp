#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "util/error.h"

namespace weblm {

void SamplingParams::validate(int32_t n_vocab) const {
  if (!(temperature >= 0.f) || temperature > 100.f) fail("temperature must be in [0, 100], got ", temperature);
  if (!(top_p > 0.f && top_p <= 1.f)) fail("top_p must be in (0, 1], got ", top_p);
  if (!(min_p >= 0.f && min_p <= 1.f)) fail("min_p must be in [0, 1], got ", min_p);
  if (!(repeat_penalty > 0.f)) fail("repeat_penalty must be positive, got ", repeat_penalty);
  if (repeat_last_n < 0) fail("repeat_last_n must not be negative, got ", repeat_last_n);
  if (!(frequency_penalty >= -2.f && frequency_penalty <= 2.f)) fail("frequency_penalty must be in [-2, 2], got ", frequency_penalty);
  if (!(presence_penalty >= -2.f && presence_penalty <= 2.f)) fail("presence_penalty must be in [-2, 2], got ", presence_penalty);
  for (const auto& [token, bias] : logit_bias) {
    if (token < 0 || token >= n_vocab) fail("logit_bias names token ", token, " outside the vocabulary of ", n_vocab);
    if (!(bias >= -100.f && bias <= 100.f)) fail("logit_bias for token ", token, " must be in [-100, 100]");
  }
}

Sampler::Sampler(SamplingParams params, int32_t n_vocab)
    : params_(std::move(params)), n_vocab_(n_vocab), rng_state_(params_.seed) {
  params_.validate(n_vocab);
}

float Sampler::uniform() {
  uint64_t z = (rng_state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) / static_cast<float>(1 << 24);
}

void Sampler::accept(int32_t token) {
  if (params_.repeat_last_n == 0) return;
  history_.push_back(token);
  while (static_cast<int32_t>(history_.size()) > params_.repeat_last_n) history_.pop_front();
}

void Sampler::adjust(std::span<const float> logits, std::vector<float>& out) const {
  if (static_cast<int32_t>(logits.size()) != n_vocab_) fail("sampler: ", logits.size(), " logits for a vocabulary of ", n_vocab_);
  out.assign(logits.begin(), logits.end());
  for (const auto& [token, bias] : params_.logit_bias) out[token] += bias;
  const bool penalize = params_.repeat_penalty != 1.f || params_.frequency_penalty != 0.f ||
                        params_.presence_penalty != 0.f;
  if (!penalize || history_.empty()) return;
  std::unordered_map<int32_t, int> counts;
  for (int32_t t : history_) ++counts[t];
  for (const auto& [token, count] : counts) {
    if (token < 0 || token >= n_vocab_) continue;
    float& l = out[token];
    l = l > 0 ? l / params_.repeat_penalty : l * params_.repeat_penalty;
    l -= static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
  }
}

int32_t Sampler::sample(std::span<const float> logits) {
  adjust(logits, adjusted_);
  const std::vector<float>& l = adjusted_;
  if (params_.temperature <= 0.f) return static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
  keep_candidates();
  const float r = uniform();
  float cum = 0;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    cum += probs_[i];
    if (r < cum) return candidates_[i];
  }
  return candidates_.back();
}

void Sampler::distribution(std::span<const float> logits, std::vector<float>& probs) {
  adjust(logits, adjusted_);
  probs.assign(static_cast<size_t>(n_vocab_), 0.f);
  if (params_.temperature <= 0.f) {
    probs[std::max_element(adjusted_.begin(), adjusted_.end()) - adjusted_.begin()] = 1.f;
    return;
  }
  keep_candidates();
  for (size_t i = 0; i < candidates_.size(); ++i) probs[candidates_[i]] = probs_[i];
}

void Sampler::keep_candidates() {
  const std::vector<float>& l = adjusted_;
  // Candidates sorted by logit, truncated by top-k.
  candidates_.resize(n_vocab_);
  std::iota(candidates_.begin(), candidates_.end(), 0);
  auto by_logit = [&](int32_t a, int32_t b) { return l[a] > l[b] || (l[a] == l[b] && a < b); };
  size_t keep = candidates_.size();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) keep = params_.top_k;
  std::partial_sort(candidates_.begin(), candidates_.begin() + keep, candidates_.end(), by_logit);
  candidates_.resize(keep);

  // Softmax at temperature 1 for the top-p and min-p cuts (llama.cpp applies temperature last).
  auto softmax = [&](float temp) {
    probs_.resize(candidates_.size());
    const float max_logit = l[candidates_[0]];
    double sum = 0;
    for (size_t i = 0; i < candidates_.size(); ++i) {
      probs_[i] = std::exp((l[candidates_[i]] - max_logit) / temp);
      sum += probs_[i];
    }
    for (float& p : probs_) p = static_cast<float>(p / sum);
  };
  softmax(1.f);
  if (params_.top_p < 1.f) {
    double cum = 0;
    size_t n = 0;
    while (n < probs_.size()) {
      cum += probs_[n++];
      if (cum >= params_.top_p) break;
    }
    candidates_.resize(n);
  }
  if (params_.min_p > 0.f) {
    const float floor = probs_[0] * params_.min_p;
    size_t n = 1;
    while (n < candidates_.size() && probs_[n] >= floor) ++n;
    candidates_.resize(n);
  }
  softmax(params_.temperature);
}

namespace {
// log(sum(exp(l))), computed stably.
float log_normalizer(const std::vector<float>& l) {
  const float max_logit = *std::max_element(l.begin(), l.end());
  double sum = 0;
  for (float v : l) sum += std::exp(static_cast<double>(v - max_logit));
  return max_logit + static_cast<float>(std::log(sum));
}
}  // namespace

std::vector<TokenProb> Sampler::top_logprobs(std::span<const float> logits, int n) const {
  std::vector<float> l;
  adjust(logits, l);
  const float log_z = log_normalizer(l);
  std::vector<int32_t> ids(l.size());
  std::iota(ids.begin(), ids.end(), 0);
  n = std::min<int>(n, static_cast<int>(ids.size()));
  std::partial_sort(ids.begin(), ids.begin() + n, ids.end(),
                    [&](int32_t a, int32_t b) { return l[a] > l[b] || (l[a] == l[b] && a < b); });
  std::vector<TokenProb> out;
  for (int i = 0; i < n; ++i) out.push_back({ids[i], l[ids[i]] - log_z});
  return out;
}

float Sampler::logprob(std::span<const float> logits, int32_t token) const {
  std::vector<float> l;
  adjust(logits, l);
  return l.at(token) - log_normalizer(l);
}

}  // namespace weblm
