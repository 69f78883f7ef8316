// The gemma family: embeddings scaled by sqrt(dim), GELU-gated FFN, rope over halves, norm
// weights stored as (1 + w).
//   gemma2: post-attention/post-FFN norms, attention and final logit soft-capping, sliding
//           window on every other layer (even layers).
//   gemma3: q/k norms, post norms, sliding window on 5 of every 6 layers with their own rope
//           base (10000 unless rope.freq_base_swa), optional final soft-cap.
#include <cmath>

#include "format/gguf.h"
#include "model/arch/architectures.h"
#include "util/error.h"

namespace weblm {

namespace {

// Which layers slide: an explicit per-layer bool array, or "n - 1 of every n" (llama.cpp's
// set_swa_pattern without dense_first).
std::vector<bool> sliding_layers(const GgufFile& file, const ModelConfig& config, int64_t default_pattern) {
  const std::string key = config.arch + ".attention.sliding_window_pattern";
  const int n = config.n_layers();
  std::vector<bool> sliding(n);
  const GgufValue* value = file.find(key);
  if (value && value->type == GgufType::Array) {
    if (static_cast<int>(value->array.size()) != n)
      fail(file.name(), ": ", key, " has ", value->array.size(), " entries for ", n, " layers");
    for (int l = 0; l < n; ++l) sliding[l] = value->array[l].u != 0 || value->array[l].i != 0;
    return sliding;
  }
  const int64_t pattern = file.get_int(key, default_pattern);
  for (int l = 0; l < n; ++l) sliding[l] = pattern == 0 || (l % pattern < pattern - 1);
  return sliding;
}

}  // namespace

void configure_gemma(const GgufFile& file, ModelConfig& config) {
  const std::string& arch = config.arch;
  config.rope_layout = RopeLayout::Halves;
  config.embed_scale = std::sqrt(static_cast<float>(config.dim));
  config.activation = Activation::GeluTanh;
  config.attn_scale = 1.0f / std::sqrt(static_cast<float>(config.head_dim));
  if (arch == "gemma") return;

  config.post_norms = true;
  // Gemma 2/3 27B scale queries by 1/sqrt(dim / heads) rather than 1/sqrt(head_dim).
  const bool is_27b = (arch == "gemma2" && config.n_layers() == 46) || (arch == "gemma3" && config.n_layers() == 62);
  if (is_27b) config.attn_scale = 1.0f / std::sqrt(static_cast<float>(config.dim / config.layers[0].n_heads));

  int64_t window;
  std::vector<bool> sliding;
  float swa_base, swa_scale = 1.f;
  if (arch == "gemma2") {
    config.attn_softcap = file.get_float(arch + ".attn_logit_softcapping", 50.f);
    config.final_softcap = file.get_float(arch + ".final_logit_softcapping", 30.f);
    window = file.get_int(arch + ".attention.sliding_window", 4096);
    sliding = sliding_layers(file, config, 2);
    swa_base = file.get_float(arch + ".rope.freq_base_swa", config.layers[0].rope_base);
    swa_scale = config.layers[0].rope_scale;
  } else {
    config.qk_norm = true;
    config.final_softcap = file.get_float(arch + ".final_logit_softcapping", 0.f);
    window = file.get_int(arch + ".attention.sliding_window", 0);
    sliding = window > 0 ? sliding_layers(file, config, 6) : std::vector<bool>(config.n_layers(), false);
    swa_base = file.get_float(arch + ".rope.freq_base_swa", 10000.f);
  }
  if (window < 0) fail(file.name(), ": ", arch, ".attention.sliding_window is negative");
  for (int l = 0; l < config.n_layers(); ++l) {
    if (!sliding[l]) continue;
    config.layers[l].window = static_cast<int>(window);
    config.layers[l].rope_base = swa_base;
    config.layers[l].rope_scale = swa_scale;
  }
}

}  // namespace weblm
