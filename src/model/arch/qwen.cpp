// qwen2 (biases on q, k, v) and qwen3 (RMSNorm over each head of q and k). Rope rotates halves.
// Biases and norms are found by tensor name; the config only records what the graph does.
#include "format/gguf.h"
#include "model/arch/architectures.h"

namespace weblm {

void configure_qwen(const GgufFile& file, ModelConfig& config) {
  config.rope_layout = RopeLayout::Halves;
  config.qk_norm = config.arch == "qwen3";
}

}  // namespace weblm
