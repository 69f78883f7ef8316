// Hugging Face Llama checkpoints (config.json, model.safetensors or its sharded index, and the
// tokenizer files) -> GGUF, laid out the way llama.cpp's convert_hf_to_gguf.py writes them, so
// that weblm and llama.cpp both load the result.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "format/dtype.h"
#include "format/gguf.h"

namespace weblm {

// What of config.json the GGUF needs.
struct HfLlamaConfig {
  int64_t vocab = 0, dim = 0, n_ff = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0, n_ctx = 0;
  double eps = 1e-6, rope_theta = 10000;
  bool tied = false;
};

// Parses and validates config.json's text; `path` names it in errors. Throws Error for malformed
// JSON, a missing or invalid hyperparameter, or a model that is not a plain Llama (another
// model_type, rope_scaling, biases, an activation other than silu).
HfLlamaConfig parse_hf_llama_config(std::string_view json_text, const std::string& path);

// HF keeps each q_proj/k_proj head's rows in rotate_half order (first half, then second half,
// pairing row i with row i + hd/2 in rope); llama's GGUF rotates adjacent rows. Row
// h*hd + j*(hd/2) + i moves to h*hd + 2i + j, as convert_hf_to_gguf.py's
// reshape(n_head, 2, hd/2, cols).swapaxes(1, 2) does. w: [n_head * hd, cols] row-major.
std::vector<float> interleave_rope_halves(std::span<const float> w, int64_t n_head, int64_t cols);

// `type` (F32, F16, BF16 or Q8_0) is given to every matrix whose rows fit its blocks; norms stay
// F32. Throws Error naming the file and the tensor or key for an unsupported architecture, a
// missing or misshapen tensor, or a malformed file.
GgufWriter convert_hf_llama(const std::string& dir, DType type);

}  // namespace weblm
