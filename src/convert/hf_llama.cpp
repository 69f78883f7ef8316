#include "convert/hf_llama.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <vector>

#include "format/quants.h"
#include "format/safetensors.h"
#include "tokenizer/hf_vocab.h"
#include "util/error.h"

namespace weblm {

namespace {

using nlohmann::json;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open ", path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool file_exists(const std::string& path) { return static_cast<bool>(std::ifstream(path)); }

json parse_json(std::string_view text, const std::string& path) {
  json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) fail(path, ": not valid JSON");
  if (!doc.is_object()) fail(path, ": not a JSON object");
  return doc;
}

json read_json(const std::string& path) { return parse_json(read_text(path), path); }

// Hyperparameters become u32 GGUF values and index arithmetic: bounded well below overflow.
int64_t positive(const json& config, const std::string& path, const char* key) {
  const auto it = config.find(key);
  if (it == config.end()) fail(path, ": '", key, "' is missing");
  if (!it->is_number_integer() || it->get<int64_t>() <= 0 || it->get<int64_t>() >= (int64_t{1} << 31))
    fail(path, ": '", key, "' must be a positive integer below 2^31, not ", it->dump());
  return it->get<int64_t>();
}

double number(const json& config, const std::string& path, const char* key, double fallback) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  if (!it->is_number() || !(it->get<double>() > 0)) fail(path, ": '", key, "' must be a positive number, not ", it->dump());
  return it->get<double>();
}

bool flag(const json& config, const std::string& path, const char* key) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return false;
  if (!it->is_boolean()) fail(path, ": '", key, "' must be true or false, not ", it->dump());
  return it->get<bool>();
}

std::string string_or_empty(const json& config, const char* key) {
  const auto it = config.find(key);
  return it != config.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The directory's last component names the model.
std::string base_name(const std::string& dir) {
  const size_t end = dir.find_last_not_of('/');
  if (end == std::string::npos) return dir;
  const size_t slash = dir.find_last_of('/', end);
  const size_t begin = slash == std::string::npos ? 0 : slash + 1;
  return dir.substr(begin, end + 1 - begin);
}

// The checkpoint's tensors: model.safetensors, or the shards its index names.
class Checkpoint {
 public:
  explicit Checkpoint(const std::string& dir) {
    const std::string single = dir + "/model.safetensors";
    const std::string index_path = dir + "/model.safetensors.index.json";
    if (file_exists(single)) {
      add(SafetensorsFile::open(single));
      return;
    }
    if (!file_exists(index_path)) fail(dir, ": neither model.safetensors nor model.safetensors.index.json is there");
    const json index = read_json(index_path);
    if (!index.contains("weight_map") || !index["weight_map"].is_object())
      fail(index_path, ": 'weight_map' is missing or not an object");
    std::set<std::string> shards;
    for (const auto& [tensor, shard] : index["weight_map"].items()) {
      if (!shard.is_string() || shard.get<std::string>().find('/') != std::string::npos)
        fail(index_path, ": tensor '", tensor, "' maps to ", shard.dump(), ", not a file name in the directory");
      shards.insert(shard.get<std::string>());
    }
    for (const std::string& shard : shards) add(SafetensorsFile::open(dir + "/" + shard));
  }

  // The tensor and the file it is in; nullptr when absent.
  const SafetensorsFile::Tensor* find(const std::string& name, const SafetensorsFile** file) const {
    const auto it = where_.find(name);
    if (it == where_.end()) return nullptr;
    *file = &files_[it->second];
    return files_[it->second].find(name);
  }
  std::vector<std::string> names() const {
    std::vector<std::string> all;
    for (const auto& [name, unused] : where_) all.push_back(name);
    return all;
  }

 private:
  void add(SafetensorsFile file) {
    for (const SafetensorsFile::Tensor& t : file.tensors())
      if (!where_.emplace(t.name, files_.size()).second) fail(file.name(), ": tensor '", t.name, "' is in two shards");
    files_.push_back(std::move(file));
  }
  std::vector<SafetensorsFile> files_;
  std::map<std::string, size_t> where_;  // tensor name -> index in files_
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// llama.cpp's llama_ftype numbers for general.file_type ("mostly" this type).
uint32_t llama_file_type(DType type) {
  switch (type) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q8_0: return 7;
    case DType::BF16: return 32;
    default: fail("convert: weight type ", dtype_name(type), " is not supported (f32, f16, bf16, q8_0)");
  }
}

class TensorConverter {
 public:
  TensorConverter(const std::string& dir, DType type, GgufWriter& w) : checkpoint_(dir), dir_(dir), type_(type), w_(w) {}

  // Copies HF tensor `hf` of `shape` (PyTorch order) to GGUF tensor `gguf`; rope_heads > 0
  // reorders its rows for adjacent-pair rope.
  void add(const std::string& hf, const std::string& gguf, const std::vector<int64_t>& shape, int64_t rope_heads = 0) {
    const SafetensorsFile* file = nullptr;
    const SafetensorsFile::Tensor* t = checkpoint_.find(hf, &file);
    if (!t) fail(dir_, ": tensor '", hf, "' is missing from the checkpoint");
    if (t->shape != shape)
      fail(file->name(), ": tensor '", hf, "' has shape ", shape_text(t->shape), ", expected ", shape_text(shape));
    std::vector<float> values = SafetensorsFile::to_f32(*t);  // [rows, cols]
    const int64_t cols = shape.back();
    if (rope_heads > 0) values = interleave_rope_halves(values, rope_heads, cols);
    const std::vector<int64_t> dims(shape.rbegin(), shape.rend());  // ggml order: row length first
    const DType type = takes_weight_type(type_, dims) ? type_ : DType::F32;
    w_.add_tensor(gguf, type, dims, quantize_tensor(type, values, cols));
    converted_.insert(hf);
  }

  // Every checkpoint tensor must have been converted (or be known to be redundant): a tensor
  // weblm does not know means a model it would compute wrongly.
  void check_all_used(bool tied) const {
    for (const std::string& name : checkpoint_.names()) {
      if (converted_.count(name)) continue;
      const bool derived = name.size() >= 19 && name.compare(name.size() - 19, 19, "rotary_emb.inv_freq") == 0;
      if (derived || (tied && name == "lm_head.weight")) continue;
      fail(dir_, ": tensor '", name, "' is not part of a llama model weblm converts");
    }
  }

 private:
  Checkpoint checkpoint_;
  std::string dir_;
  DType type_;
  GgufWriter& w_;
  std::set<std::string> converted_;
};

}  // namespace

HfLlamaConfig parse_hf_llama_config(std::string_view json_text, const std::string& path) {
  const json c = parse_json(json_text, path);
  // transformers names the architecture in model_type; older exports only in architectures.
  std::string model_type = string_or_empty(c, "model_type");
  const auto archs = c.find("architectures");
  if (model_type.empty() && archs != c.end() && archs->is_array())
    for (const json& a : *archs)
      if (a == "LlamaForCausalLM") model_type = "llama";
  if (model_type != "llama")
    fail(path, ": model_type '", model_type, "' is not supported (weblm converts 'llama' checkpoints)");
  // Features the llama GGUF written here cannot express: better refused than silently wrong.
  const auto scaling = c.find("rope_scaling");
  if (scaling != c.end() && !scaling->is_null()) fail(path, ": rope_scaling ", scaling->dump(), " is not supported");
  if (flag(c, path, "attention_bias") || flag(c, path, "mlp_bias"))
    fail(path, ": attention_bias / mlp_bias are not supported");
  const auto act = c.find("hidden_act");
  if (act != c.end() && *act != "silu") fail(path, ": hidden_act ", act->dump(), " is not supported (llama uses silu)");

  HfLlamaConfig h;
  h.vocab = positive(c, path, "vocab_size");
  h.dim = positive(c, path, "hidden_size");
  h.n_ff = positive(c, path, "intermediate_size");
  h.n_layers = positive(c, path, "num_hidden_layers");
  h.n_heads = positive(c, path, "num_attention_heads");
  h.n_kv_heads = c.contains("num_key_value_heads") ? positive(c, path, "num_key_value_heads") : h.n_heads;
  if (h.n_heads % h.n_kv_heads != 0)
    fail(path, ": num_attention_heads ", h.n_heads, " is not a multiple of num_key_value_heads ", h.n_kv_heads);
  const auto head_dim = c.find("head_dim");
  h.head_dim = head_dim != c.end() && !head_dim->is_null() ? positive(c, path, "head_dim") : h.dim / h.n_heads;
  if (h.head_dim == 0 || h.head_dim % 2 != 0) fail(path, ": head_dim ", h.head_dim, " must be even and positive for rope");
  h.n_ctx = c.contains("max_position_embeddings") ? positive(c, path, "max_position_embeddings") : 2048;
  h.eps = number(c, path, "rms_norm_eps", 1e-6);
  h.rope_theta = number(c, path, "rope_theta", 10000);
  h.tied = flag(c, path, "tie_word_embeddings");
  return h;
}

std::vector<float> interleave_rope_halves(std::span<const float> w, int64_t n_head, int64_t cols) {
  const int64_t hd = static_cast<int64_t>(w.size()) / cols / n_head, half = hd / 2;
  std::vector<float> out(w.size());
  for (int64_t h = 0; h < n_head; ++h)
    for (int64_t j = 0; j < 2; ++j)
      for (int64_t i = 0; i < half; ++i) {
        const float* src = w.data() + (h * hd + j * half + i) * cols;
        std::copy(src, src + cols, out.data() + (h * hd + 2 * i + j) * cols);
      }
  return out;
}

GgufWriter convert_hf_llama(const std::string& dir, DType type) {
  const uint32_t file_type = llama_file_type(type);
  const std::string config_path = dir + "/config.json";
  const HfLlamaConfig h = parse_hf_llama_config(read_text(config_path), config_path);
  const Vocab vocab = vocab_from_hf(dir);
  if (vocab.size() != h.vocab)
    fail(dir, ": the tokenizer has ", vocab.size(), " tokens but config.json's vocab_size is ", h.vocab);

  GgufWriter w;
  auto u32 = [](int64_t v) { return GgufValue::of_u32(static_cast<uint32_t>(v)); };
  w.set("general.architecture", GgufValue::of_string("llama"));
  w.set("general.name", GgufValue::of_string(base_name(dir)));
  w.set("general.file_type", GgufValue::of_u32(file_type));
  w.set("llama.vocab_size", u32(h.vocab));
  w.set("llama.context_length", u32(h.n_ctx));
  w.set("llama.embedding_length", u32(h.dim));
  w.set("llama.block_count", u32(h.n_layers));
  w.set("llama.feed_forward_length", u32(h.n_ff));
  w.set("llama.attention.head_count", u32(h.n_heads));
  w.set("llama.attention.head_count_kv", u32(h.n_kv_heads));
  w.set("llama.attention.key_length", u32(h.head_dim));
  w.set("llama.attention.value_length", u32(h.head_dim));
  w.set("llama.rope.dimension_count", u32(h.head_dim));
  w.set("llama.rope.freq_base", GgufValue::of_f32(static_cast<float>(h.rope_theta)));
  w.set("llama.attention.layer_norm_rms_epsilon", GgufValue::of_f32(static_cast<float>(h.eps)));
  vocab.write_gguf(w);

  TensorConverter t(dir, type, w);
  const int64_t q_width = h.n_heads * h.head_dim, kv_width = h.n_kv_heads * h.head_dim;
  t.add("model.embed_tokens.weight", "token_embd.weight", {h.vocab, h.dim});
  t.add("model.norm.weight", "output_norm.weight", {h.dim});
  if (!h.tied) t.add("lm_head.weight", "output.weight", {h.vocab, h.dim});
  for (int64_t l = 0; l < h.n_layers; ++l) {
    const std::string hf = str_cat("model.layers.", l, "."), gguf = str_cat("blk.", l, ".");
    t.add(hf + "input_layernorm.weight", gguf + "attn_norm.weight", {h.dim});
    t.add(hf + "self_attn.q_proj.weight", gguf + "attn_q.weight", {q_width, h.dim}, h.n_heads);
    t.add(hf + "self_attn.k_proj.weight", gguf + "attn_k.weight", {kv_width, h.dim}, h.n_kv_heads);
    t.add(hf + "self_attn.v_proj.weight", gguf + "attn_v.weight", {kv_width, h.dim});
    t.add(hf + "self_attn.o_proj.weight", gguf + "attn_output.weight", {h.dim, q_width});
    t.add(hf + "post_attention_layernorm.weight", gguf + "ffn_norm.weight", {h.dim});
    t.add(hf + "mlp.gate_proj.weight", gguf + "ffn_gate.weight", {h.n_ff, h.dim});
    t.add(hf + "mlp.up_proj.weight", gguf + "ffn_up.weight", {h.n_ff, h.dim});
    t.add(hf + "mlp.down_proj.weight", gguf + "ffn_down.weight", {h.dim, h.n_ff});
  }
  t.check_all_used(h.tied);
  return w;
}

}  // namespace weblm
