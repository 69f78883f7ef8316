#include "model/model_config.h"

#include <cmath>
#include <functional>
#include <map>

#include "format/gguf.h"
#include "model/arch/architectures.h"
#include "util/error.h"

namespace weblm {

namespace {

using Configure = void (*)(const GgufFile&, ModelConfig&);

const std::map<std::string, Configure>& registry() {
  static const std::map<std::string, Configure> archs = {
      {"llama", configure_llama}, {"mistral3", configure_llama}, {"qwen2", configure_qwen},
      {"qwen3", configure_qwen},  {"phi3", configure_phi3},      {"gemma", configure_gemma},
      {"gemma2", configure_gemma}, {"gemma3", configure_gemma},
  };
  return archs;
}

}  // namespace

const std::vector<std::string>& supported_architectures() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& [name, fn] : registry()) v.push_back(name);
    return v;
  }();
  return names;
}

ModelConfig read_common_config(const GgufFile& file, const std::string& arch) {
  auto key = [&](const char* suffix) { return arch + "." + suffix; };
  ModelConfig c;
  c.arch = arch;
  c.name = file.get_string("general.name", "");
  const int64_t n_layers = file.get_int(key("block_count"));
  if (n_layers <= 0 || n_layers > 1024) fail(file.name(), ": ", key("block_count"), " = ", n_layers, " is out of range");
  c.dim = file.get_int(key("embedding_length"));
  c.n_ctx_train = file.get_int(key("context_length"), 4096);
  c.norm_eps = file.get_float(key("attention.layer_norm_rms_epsilon"));

  const std::vector<int64_t> ff = file.get_int_per_layer(key("feed_forward_length"), n_layers);
  for (int64_t f : ff)
    if (f != ff[0]) fail(file.name(), ": ", key("feed_forward_length"), " differs between layers (not supported)");
  c.n_ff = ff[0];
  const std::vector<int64_t> heads = file.get_int_per_layer(key("attention.head_count"), n_layers);
  const std::vector<int64_t> kv_heads = file.has(key("attention.head_count_kv"))
                                            ? file.get_int_per_layer(key("attention.head_count_kv"), n_layers)
                                            : heads;
  if (heads[0] <= 0 || c.dim <= 0 || c.n_ff <= 0) fail(file.name(), ": model dimensions must be positive");
  c.head_dim = static_cast<int>(file.get_int(key("attention.key_length"), c.dim / heads[0]));
  const int64_t value_dim = file.get_int(key("attention.value_length"), c.head_dim);
  if (value_dim != c.head_dim)
    fail(file.name(), ": key length ", c.head_dim, " != value length ", value_dim, " (not supported)");
  c.n_rot = static_cast<int>(file.get_int(key("rope.dimension_count"), c.head_dim));
  if (c.head_dim <= 0 || c.n_rot <= 0 || c.n_rot > c.head_dim || c.n_rot % 2 != 0)
    fail(file.name(), ": rope dimension count ", c.n_rot, " invalid for head size ", c.head_dim);

  const std::string scaling = file.get_string(key("rope.scaling.type"), "linear");
  if (scaling != "linear" && scaling != "none")
    fail(file.name(), ": rope scaling type '", scaling, "' is not supported (linear or none)");
  float factor = file.get_float(key("rope.scaling.factor"), 0.f);
  if (factor == 0.f) factor = file.get_float(key("rope.scale_linear"), 0.f);
  const float rope_base = file.get_float(key("rope.freq_base"), 10000.f);
  const float rope_scale = (factor == 0.f || scaling == "none") ? 1.f : 1.f / factor;

  c.attn_scale = file.get_float(key("attention.scale"), 0.f);
  if (c.attn_scale == 0.f) c.attn_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));

  for (int64_t l = 0; l < n_layers; ++l) {
    LayerConfig layer;
    layer.n_heads = static_cast<int>(heads[l]);
    layer.n_kv_heads = static_cast<int>(kv_heads[l]);
    if (layer.n_heads <= 0 || layer.n_kv_heads <= 0 || layer.n_heads % layer.n_kv_heads != 0)
      fail(file.name(), ": layer ", l, " has ", layer.n_heads, " heads and ", layer.n_kv_heads,
           " KV heads (heads must be a multiple of KV heads)");
    layer.rope_base = rope_base;
    layer.rope_scale = rope_scale;
    c.layers.push_back(layer);
  }

  c.n_vocab = file.get_int(key("vocab_size"), 0);
  if (c.n_vocab == 0) {
    const GgufValue* tokens = file.find("tokenizer.ggml.tokens");
    if (!tokens) fail(file.name(), ": neither ", key("vocab_size"), " nor tokenizer.ggml.tokens is present");
    c.n_vocab = static_cast<int64_t>(tokens->array.size());
  }
  return c;
}

ModelConfig read_model_config(const GgufFile& file) {
  const std::string arch = file.get_string("general.architecture");
  const auto it = registry().find(arch);
  if (it == registry().end()) {
    std::string known;
    for (const std::string& name : supported_architectures()) known += (known.empty() ? "" : ", ") + name;
    fail(file.name(), ": unknown architecture '", arch, "' (supported: ", known, ")");
  }
  ModelConfig config = read_common_config(file, arch);
  it->second(file, config);
  return config;
}

}  // namespace weblm
