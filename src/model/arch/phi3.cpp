// phi3: rope over halves, q scaled by 1/sqrt(head_dim). Its fused attn_qkv and gate|up
// (ffn_up with 2*n_ff rows, gate first) are split into row views when the weights are loaded.
// Phi-3's sliding-window key is ignored, as llama.cpp does (the converted files mislabel it).
#include <cmath>

#include "format/gguf.h"
#include "model/arch/architectures.h"

namespace weblm {

void configure_phi3(const GgufFile& file, ModelConfig& config) {
  config.rope_layout = RopeLayout::Halves;
  config.attn_scale = 1.0f / std::sqrt(static_cast<float>(config.head_dim));
}

}  // namespace weblm
