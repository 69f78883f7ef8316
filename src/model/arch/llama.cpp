// llama (Llama 2/3, Mistral, TinyLlama) and mistral3: the reference decoder. Rope rotates
// adjacent pairs; Llama 3.1's rope scaling arrives precomputed as the `rope_freqs` tensor.
#include "format/gguf.h"
#include "model/arch/architectures.h"
#include "util/error.h"

namespace weblm {

void configure_llama(const GgufFile& file, ModelConfig& config) {
  config.rope_layout = RopeLayout::Adjacent;
  if (config.n_rot != config.head_dim)
    fail(file.name(), ": ", config.arch, " needs rope over the whole head (", config.n_rot, " != ", config.head_dim, ")");
  if (file.get_float(config.arch + ".attention.temperature_scale", 0.f) != 0.f)
    fail(file.name(), ": attention temperature scaling (llama 4 style) is not supported");
}

}  // namespace weblm
