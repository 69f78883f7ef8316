// A loaded model: hyperparameters, weights resident in a backend, and the decoder forward pass
// written once against the op vocabulary (every architecture, every backend).
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "format/gguf.h"
#include "model/model_config.h"

namespace weblm {

struct LayerWeights {
  Tensor attn_norm;                   // [1, dim]
  Tensor wq, wk, wv;                  // [n_heads*head_dim | kv_width, dim] (views of attn_qkv if fused)
  std::optional<Tensor> bq, bk, bv;   // qwen2 biases, one row each
  std::optional<Tensor> q_norm, k_norm;  // [1, head_dim] (qwen3, gemma3)
  Tensor wo;                          // [dim, n_heads*head_dim]
  std::optional<Tensor> attn_post_norm;  // [1, dim] (gemma2/3)
  Tensor ffn_norm;                    // [1, dim]
  Tensor gate, up;                    // [n_ff, dim] (views of the fused gate|up for phi3)
  Tensor down;                        // [dim, n_ff]
  std::optional<Tensor> ffn_post_norm;   // [1, dim] (gemma2/3)
};

struct ModelWeights {
  Tensor tok_embd;                    // [n_vocab, dim]
  Tensor output_norm;                 // [1, dim]
  Tensor output;                      // [n_vocab, dim]; tok_embd itself when tied
  std::optional<Tensor> rope_freqs;   // [1, n_rot/2] (Llama 3.1 rope scaling)
  std::vector<LayerWeights> layers;
};

// One layer's slice of the paged KV cache: [kv rows, kv_width] each.
struct KvLayer {
  Tensor k, v;
};

class Model {
 public:
  // Reads the config, checks every tensor's presence, shape and type, and loads the weights into
  // the backend. Errors name the file and the tensor or key.
  Model(GgufFile file, Backend& backend);

  const ModelConfig& config() const { return config_; }
  const GgufFile& file() const { return file_; }
  Backend& backend() const { return *backend_; }

  // Records the forward pass of `batch` and submits it; logits of batch.output_rows land in
  // `logits` [output_rows, n_vocab] once backend().wait() returns. `batch` and `logits` must stay
  // alive until then.
  void enqueue_forward(const ForwardBatch& batch, std::span<const KvLayer> kv, float* logits) const;
  void forward(const ForwardBatch& batch, std::span<const KvLayer> kv, float* logits) const {
    enqueue_forward(batch, kv, logits);
    backend_->wait();
  }

 private:
  GgufFile file_;
  Backend* backend_;
  ModelConfig config_;
  ModelWeights weights_;
};

}  // namespace weblm
