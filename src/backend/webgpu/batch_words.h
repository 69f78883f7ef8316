// The forward batch as the kernels read it (layout in shaders/batch.wgsl): a header of offsets,
// tokens, positions, sequence of each token, KV rows, output rows, page tables, then rope's
// cos/sin tables, which the host computes so that they equal the CPU backend's to the bit.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "backend/backend.h"

namespace weblm::webgpu {

class BatchWords {
 public:
  void reset(const ForwardBatch& batch);

  // The word where the [token][pair] (cos, sin) table of `spec` starts; made once per pass for
  // each distinct spec. factors: spec.freq_factors' n_rot/2 values, or nullptr.
  uint32_t rope_table(const ForwardBatch& batch, const RopeSpec& spec, const float* factors);

  std::span<const uint8_t> bytes() const {
    return {reinterpret_cast<const uint8_t*>(words_.data()), words_.size() * sizeof(uint32_t)};
  }

 private:
  struct RopeKey {
    int n_rot;
    float freq_base, freq_scale;
    const float* factors;
    uint32_t at;
  };
  std::vector<uint32_t> words_;
  std::vector<RopeKey> ropes_;
};

}  // namespace weblm::webgpu
