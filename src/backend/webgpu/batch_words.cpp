#include "backend/webgpu/batch_words.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace weblm::webgpu {

namespace {
constexpr size_t kHeaderWords = 8;

uint32_t float_bits(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}
}  // namespace

void BatchWords::reset(const ForwardBatch& batch) {
  words_.assign(kHeaderWords, 0);
  ropes_.clear();
  auto append = [&](const std::vector<int32_t>& values) {
    const auto at = static_cast<uint32_t>(words_.size());
    words_.insert(words_.end(), values.begin(), values.end());
    return at;
  };
  const uint32_t header[kHeaderWords] = {
      static_cast<uint32_t>(batch.size()), static_cast<uint32_t>(batch.page_size), append(batch.tokens),
      append(batch.positions),             append(batch.seq_index),               append(batch.kv_rows),
      append(batch.output_rows),           static_cast<uint32_t>(words_.size())};
  std::copy(header, header + kHeaderWords, words_.begin());
  const size_t table_offsets = words_.size();
  words_.resize(words_.size() + batch.page_tables.size());
  for (size_t s = 0; s < batch.page_tables.size(); ++s) {
    const uint32_t at = append(batch.page_tables[s]);
    words_[table_offsets + s] = at;
  }
}

uint32_t BatchWords::rope_table(const ForwardBatch& batch, const RopeSpec& spec, const float* factors) {
  for (const RopeKey& k : ropes_)
    if (k.n_rot == spec.n_rot && k.freq_base == spec.freq_base && k.freq_scale == spec.freq_scale &&
        k.factors == factors)
      return k.at;
  const uint32_t at = static_cast<uint32_t>(words_.size());
  ropes_.push_back({spec.n_rot, spec.freq_base, spec.freq_scale, factors, at});
  // ggml's recurrence (theta multiplied step by step), as the CPU backend computes it.
  const float theta_scale = std::pow(spec.freq_base, -2.0f / spec.n_rot);
  const int pairs = spec.n_rot / 2;
  for (int64_t t = 0; t < batch.size(); ++t) {
    float theta = static_cast<float>(batch.positions[t]);
    for (int i = 0; i < pairs; ++i) {
      const float angle = spec.freq_scale * (factors ? theta / factors[i] : theta);
      words_.push_back(float_bits(std::cos(angle)));
      words_.push_back(float_bits(std::sin(angle)));
      theta *= theta_scale;
    }
  }
  return at;
}

}  // namespace weblm::webgpu
