#include "runtime/speculative_verify.h"

#include "util/error.h"

namespace weblm {

int32_t verify_token(Sampler& sampler, std::span<const float> logits, int32_t drafted, std::vector<float>& p) {
  // At temperature 0 plain greedy sampling is the rule: the draft survives iff it is the argmax.
  if (drafted < 0 || sampler.params().temperature <= 0.f) return sampler.sample(logits);
  sampler.distribution(logits, p);
  const float keep = p.at(static_cast<size_t>(drafted));  // min(1, p / q) with q one-hot
  if (sampler.uniform() < keep) return drafted;
  // Rejected: draw from norm(max(0, p - q)), i.e. p without the drafted token.
  const double rest = 1.0 - static_cast<double>(keep);
  p[static_cast<size_t>(drafted)] = 0.f;
  if (rest <= 0) return drafted;  // p is one-hot on the draft: uniform() < 1 always kept it
  const double r = static_cast<double>(sampler.uniform()) * rest;
  double cum = 0;
  int32_t last = -1;
  for (size_t t = 0; t < p.size(); ++t) {
    if (p[t] <= 0.f) continue;
    cum += p[t];
    last = static_cast<int32_t>(t);
    if (r < cum) return last;
  }
  return last;  // rounding left r at the very top
}

int32_t verify_draft(Sampler& sampler, std::span<const float> rows, std::span<const int32_t> draft,
                     const std::function<bool(int32_t token, std::span<const float> row)>& take) {
  const size_t n_rows = draft.size() + 1;
  if (rows.empty() || rows.size() % n_rows != 0)
    fail("speculative verification: ", rows.size(), " logits are not ", n_rows, " rows");
  const size_t n_vocab = rows.size() / n_rows;
  std::vector<float> scratch;
  int32_t accepted = 0;
  for (size_t i = 0; i < n_rows; ++i) {
    const std::span<const float> row = rows.subspan(i * n_vocab, n_vocab);
    const int32_t drafted = i < draft.size() ? draft[i] : -1;
    const int32_t token = verify_token(sampler, row, drafted, scratch);
    const bool kept = token == drafted;
    if (kept) ++accepted;
    if (!take(token, row) || !kept) break;
  }
  return accepted;
}

}  // namespace weblm
