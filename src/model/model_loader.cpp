// Weight loading: GGUF tensor names (llama.cpp's) to ModelWeights, with every shape checked.
#include <string>

#include "model/model.h"
#include "util/error.h"

namespace weblm {

namespace {

class WeightLoader {
 public:
  WeightLoader(const GgufFile& file, Backend& backend) : file_(file), backend_(backend) {}

  const GgufTensorInfo* info(const std::string& name) const { return file_.find_tensor(name); }

  // A tensor of `rows` x `cols` (ggml dims {cols, rows}; 1-D tensors are one row).
  Tensor require(const std::string& name, int64_t cols, int64_t rows) const {
    const GgufTensorInfo* t = info(name);
    if (!t) fail(file_.name(), ": missing tensor '", name, "'");
    return load(*t, cols, rows);
  }

  std::optional<Tensor> optional(const std::string& name, int64_t cols, int64_t rows) const {
    const GgufTensorInfo* t = info(name);
    if (!t) return std::nullopt;
    return load(*t, cols, rows);
  }

 private:
  Tensor load(const GgufTensorInfo& t, int64_t cols, int64_t rows) const {
    const Op op = rows == 1 ? Op::Embed : Op::MatMul;
    if (!backend_.supports(op, t.type))
      fail(file_.name(), ": tensor '", t.name, "' has type ", dtype_name(t.type), ", which the ", backend_.name(),
           " backend does not support");
    if (t.cols() != cols || t.rows() != rows)
      fail(file_.name(), ": tensor '", t.name, "' has ", t.rows(), " rows of ", t.cols(), ", expected ", rows,
           " rows of ", cols);
    return backend_.load_weight(t.type, cols, rows, file_.tensor_data(t));
  }

  const GgufFile& file_;
  Backend& backend_;
};

std::string blk(int layer, const char* name) { return str_cat("blk.", layer, ".", name, ".weight"); }
std::string blk_bias(int layer, const char* name) { return str_cat("blk.", layer, ".", name, ".bias"); }

}  // namespace

Model::Model(GgufFile file, Backend& backend)
    : file_(std::move(file)), backend_(&backend), config_(read_model_config(file_)) {
  const ModelConfig& c = config_;
  const WeightLoader w(file_, backend);
  weights_.tok_embd = w.require("token_embd.weight", c.dim, c.n_vocab);
  if (!backend.supports(Op::Embed, weights_.tok_embd.type))
    fail(file_.name(), ": token_embd.weight type ", dtype_name(weights_.tok_embd.type), " cannot be looked up");
  weights_.output_norm = w.require("output_norm.weight", c.dim, 1);
  weights_.output = w.optional("output.weight", c.dim, c.n_vocab).value_or(weights_.tok_embd);
  weights_.rope_freqs = w.optional("rope_freqs.weight", c.n_rot / 2, 1);

  for (int l = 0; l < c.n_layers(); ++l) {
    const int64_t q_width = static_cast<int64_t>(c.layers[l].n_heads) * c.head_dim;
    const int64_t kv_width = c.kv_width(l);
    LayerWeights lw;
    lw.attn_norm = w.require(blk(l, "attn_norm"), c.dim, 1);
    if (w.info(blk(l, "attn_qkv"))) {
      const Tensor qkv = w.require(blk(l, "attn_qkv"), c.dim, q_width + 2 * kv_width);
      lw.wq = qkv.row_range(0, q_width);
      lw.wk = qkv.row_range(q_width, kv_width);
      lw.wv = qkv.row_range(q_width + kv_width, kv_width);
    } else {
      lw.wq = w.require(blk(l, "attn_q"), c.dim, q_width);
      lw.wk = w.require(blk(l, "attn_k"), c.dim, kv_width);
      lw.wv = w.require(blk(l, "attn_v"), c.dim, kv_width);
    }
    lw.bq = w.optional(blk_bias(l, "attn_q"), q_width, 1);
    lw.bk = w.optional(blk_bias(l, "attn_k"), kv_width, 1);
    lw.bv = w.optional(blk_bias(l, "attn_v"), kv_width, 1);
    if (c.qk_norm) {
      lw.q_norm = w.require(blk(l, "attn_q_norm"), c.head_dim, 1);
      lw.k_norm = w.require(blk(l, "attn_k_norm"), c.head_dim, 1);
    }
    lw.wo = w.require(blk(l, "attn_output"), q_width, c.dim);
    lw.ffn_norm = w.require(blk(l, "ffn_norm"), c.dim, 1);
    if (c.post_norms) {
      lw.attn_post_norm = w.require(blk(l, "post_attention_norm"), c.dim, 1);
      lw.ffn_post_norm = w.require(blk(l, "post_ffw_norm"), c.dim, 1);
    }
    if (w.info(blk(l, "ffn_gate"))) {
      lw.gate = w.require(blk(l, "ffn_gate"), c.dim, c.n_ff);
      lw.up = w.require(blk(l, "ffn_up"), c.dim, c.n_ff);
    } else {
      const Tensor gate_up = w.require(blk(l, "ffn_up"), c.dim, 2 * c.n_ff);
      lw.gate = gate_up.row_range(0, c.n_ff);
      lw.up = gate_up.row_range(c.n_ff, c.n_ff);
    }
    lw.down = w.require(blk(l, "ffn_down"), c.n_ff, c.dim);
    weights_.layers.push_back(lw);
  }
}

}  // namespace weblm
