// Hyperparameters of a decoder-only transformer, read from GGUF metadata by the architecture
// files in arch/. The decoder (decoder.cpp) runs any model described by this struct.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace weblm {

class GgufFile;

struct LayerConfig {
  int n_heads = 0;
  int n_kv_heads = 0;
  int window = 0;            // sliding-window size; 0 = full causal attention
  float rope_base = 10000.f;
  float rope_scale = 1.f;    // linear scaling: positions are multiplied by this
};

struct ModelConfig {
  std::string arch;          // llama.cpp's arch string, e.g. "llama", "gemma2"
  std::string name;          // general.name
  int64_t n_vocab = 0;
  int64_t dim = 0;           // embedding width (n_embd)
  int64_t n_ff = 0;          // feed-forward width
  int head_dim = 0;          // of queries, keys and values
  int n_rot = 0;             // rotated dims per head
  int64_t n_ctx_train = 0;
  float norm_eps = 1e-5f;
  RopeLayout rope_layout = RopeLayout::Adjacent;
  float embed_scale = 1.f;   // gemma multiplies embeddings by sqrt(dim)
  float attn_scale = 0.f;    // multiplies q.k (before any soft-cap)
  float attn_softcap = 0.f;  // gemma2
  float final_softcap = 0.f; // gemma2/3: logits = cap * tanh(logits / cap)
  Activation activation = Activation::Silu;
  bool qk_norm = false;      // qwen3, gemma3: RMSNorm over each head of q and k
  bool post_norms = false;   // gemma2/3: RMSNorm of attention and FFN outputs before the residual add
  std::vector<LayerConfig> layers;

  int n_layers() const { return static_cast<int>(layers.size()); }
  int64_t kv_width(int layer) const { return static_cast<int64_t>(layers[layer].n_kv_heads) * head_dim; }
};

// Reads the hyperparameters of any supported architecture; Error naming the architecture or key.
ModelConfig read_model_config(const GgufFile& file);
// The architectures read_model_config accepts, for error messages and `weblm gen-model`.
const std::vector<std::string>& supported_architectures();

}  // namespace weblm
