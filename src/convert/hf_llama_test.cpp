#include "convert/hf_llama.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

#include "format/quants.h"
#include "format/safetensors.h"
#include "util/error.h"

namespace weblm {
namespace {

constexpr const char* kConfig = R"({"model_type": "llama", "vocab_size": 9, "hidden_size": 4, "intermediate_size": 8,
  "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "rms_norm_eps": 1e-5,
  "max_position_embeddings": 64, "tie_word_embeddings": true, "rope_scaling": null, "hidden_act": "silu"})";

TEST(HfLlamaConfig, ReadsHyperparametersAndDefaults) {
  const HfLlamaConfig c = parse_hf_llama_config(kConfig, "config.json");
  EXPECT_EQ(c.vocab, 9);
  EXPECT_EQ(c.dim, 4);
  EXPECT_EQ(c.n_ff, 8);
  EXPECT_EQ(c.n_heads, 2);
  EXPECT_EQ(c.n_kv_heads, 1);
  EXPECT_EQ(c.head_dim, 2);  // hidden_size / heads when head_dim is absent
  EXPECT_EQ(c.n_ctx, 64);
  EXPECT_DOUBLE_EQ(c.eps, 1e-5);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000);
  EXPECT_TRUE(c.tied);
  const HfLlamaConfig old = parse_hf_llama_config(
      R"({"architectures": ["LlamaForCausalLM"], "vocab_size": 9, "hidden_size": 8, "intermediate_size": 8,
          "num_hidden_layers": 1, "num_attention_heads": 2, "head_dim": 6})", "old.json");
  EXPECT_EQ(old.n_kv_heads, 2);
  EXPECT_EQ(old.head_dim, 6);
  EXPECT_FALSE(old.tied);
}

void expect_error(const std::string& json, const std::string& part) {
  try {
    parse_hf_llama_config(json, "dir/config.json");
    FAIL() << "no error for " << json;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("dir/config.json"), std::string::npos) << e.what();
  }
}

TEST(HfLlamaConfig, RefusesWhatItCannotConvert) {
  const std::string base = R"("vocab_size": 9, "hidden_size": 4, "intermediate_size": 8, "num_hidden_layers": 1,
                              "num_attention_heads": 2)";
  expect_error("{\"model_type\": \"llama\", ", "not valid JSON");
  expect_error("[1, 2]", "not a JSON object");
  expect_error(R"({"model_type": "mistral", )" + base + "}", "model_type 'mistral' is not supported");
  expect_error(R"({"model_type": "llama", "rope_scaling": {"type": "linear"}, )" + base + "}", "rope_scaling");
  expect_error(R"({"model_type": "llama", "attention_bias": true, )" + base + "}", "attention_bias");
  expect_error(R"({"model_type": "llama", "hidden_act": "gelu", )" + base + "}", "hidden_act \"gelu\"");
  expect_error(R"({"model_type": "llama", "num_key_value_heads": 3, )" + base + "}", "not a multiple of");
  expect_error(R"({"model_type": "llama", "vocab_size": -1, "hidden_size": 4})", "'vocab_size' must be a positive integer");
  expect_error(R"({"model_type": "llama", "vocab_size": 9})", "'hidden_size' is missing");
  expect_error(R"({"model_type": "llama", "head_dim": 3, )" + base + "}", "head_dim 3 must be even");
  expect_error(R"({"model_type": "llama", "rms_norm_eps": "small", )" + base + "}", "'rms_norm_eps' must be a positive number");
}

TEST(InterleaveRopeHalves, MatchesConvertHfToGguf) {
  // 2 heads of 4 rows, 1 column: per head [a0 a1 b0 b1] -> [a0 b0 a1 b1].
  const std::vector<float> w = {0, 1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(interleave_rope_halves(w, 2, 1), (std::vector<float>{0, 2, 1, 3, 4, 6, 5, 7}));
  // Whole rows move: 1 head of 4 rows, 2 columns.
  const std::vector<float> m = {0, 10, 1, 11, 2, 12, 3, 13};
  EXPECT_EQ(interleave_rope_halves(m, 1, 2), (std::vector<float>{0, 10, 2, 12, 1, 11, 3, 13}));
}

// A whole tiny checkpoint on disk (byte-level BPE tokenizer.json, tied embeddings).
class HfLlamaConvert : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() / ("weblm_hf_llama_" + std::to_string(::getpid()))).string();
    std::filesystem::create_directories(dir_);
    write("config.json", kConfig);
    write("tokenizer.json", R"({"added_tokens": [{"id": 5, "content": "<|end|>", "special": true}],
      "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
      "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3, "\u0120ab": 4}, "merges": [["a", "b"]]}})");
    write("tokenizer_config.json", R"({"eos_token": "<|end|>", "chat_template": "{{x}}"})");
    const std::map<std::string, std::vector<int64_t>> shapes = {
        {"model.embed_tokens.weight", {9, 4}}, {"model.norm.weight", {4}},
        {"model.layers.0.input_layernorm.weight", {4}}, {"model.layers.0.post_attention_layernorm.weight", {4}},
        {"model.layers.0.self_attn.q_proj.weight", {4, 4}}, {"model.layers.0.self_attn.k_proj.weight", {2, 4}},
        {"model.layers.0.self_attn.v_proj.weight", {2, 4}}, {"model.layers.0.self_attn.o_proj.weight", {4, 4}},
        {"model.layers.0.mlp.gate_proj.weight", {8, 4}}, {"model.layers.0.mlp.up_proj.weight", {8, 4}},
        {"model.layers.0.mlp.down_proj.weight", {4, 8}}};
    // Element k of every tensor is k + 0.5: positions are visible after conversion.
    for (const auto& [name, shape] : shapes) {
      int64_t n = 1;
      for (int64_t d : shape) n *= d;
      std::vector<float> v(static_cast<size_t>(n));
      for (int64_t k = 0; k < n; ++k) v[k] = static_cast<float>(k) + 0.5f;
      bytes_.emplace_back(v.size() * 4);
      std::memcpy(bytes_.back().data(), v.data(), bytes_.back().size());
      tensors_.push_back({name, "F32", shape, bytes_.back()});
    }
    write_safetensors(dir_ + "/model.safetensors", tensors_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ + "/" + name) << text; }

  std::string dir_;
  std::vector<std::vector<uint8_t>> bytes_;
  std::vector<SafetensorsFile::Tensor> tensors_;
};

std::vector<float> floats_of(const GgufFile& f, const char* name) {
  const GgufTensorInfo* t = f.find_tensor(name);
  EXPECT_NE(t, nullptr) << name;
  std::vector<float> out(static_cast<size_t>(t->elements()));
  dequantize_row(t->type, f.tensor_data(*t).data(), out.data(), t->elements());
  return out;
}

TEST_F(HfLlamaConvert, WritesLlamaGguf) {
  const std::vector<uint8_t> bytes = convert_hf_llama(dir_, DType::F16).to_bytes();
  const GgufFile f = GgufFile::parse(bytes, "converted");
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_int("general.file_type"), 1);
  EXPECT_EQ(f.get_int("llama.attention.head_count_kv"), 1);
  EXPECT_EQ(f.get_int("llama.rope.dimension_count"), 2);
  EXPECT_EQ(f.get_string("tokenizer.chat_template"), "{{x}}");
  EXPECT_EQ(f.find_tensor("output.weight"), nullptr);  // tied
  EXPECT_EQ(f.find_tensor("blk.0.attn_norm.weight")->type, DType::F32);
  const GgufTensorInfo* q = f.find_tensor("blk.0.attn_q.weight");
  EXPECT_EQ(q->type, DType::F16);
  EXPECT_EQ(q->dims, (std::vector<int64_t>{4, 4}));
  // q: 2 heads of 2 rows; with head_dim 2 the halves are single rows, so nothing moves. k: one
  // head of 2 rows, likewise. The down projection keeps HF's row-major [4, 8] as ggml {8, 4}.
  EXPECT_EQ(floats_of(f, "blk.0.attn_q.weight")[4], 4.5f);
  EXPECT_EQ(f.find_tensor("blk.0.ffn_down.weight")->dims, (std::vector<int64_t>{8, 4}));
  EXPECT_EQ(floats_of(f, "blk.0.ffn_down.weight")[9], 9.5f);
}

TEST_F(HfLlamaConvert, ErrorsNameTheFileAndTensor) {
  write("config.json", std::string(kConfig).replace(std::string(kConfig).find("\"intermediate_size\": 8"), 22,
                                                    "\"intermediate_size\": 6"));
  try {
    convert_hf_llama(dir_, DType::F32);
    FAIL();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("model.safetensors: tensor 'model.layers.0.mlp.gate_proj.weight' has shape [8, 4], expected [6, 4]"),
              std::string::npos) << what;
  }
  EXPECT_THROW(convert_hf_llama(dir_, DType::Q4_K), Error);
}

}  // namespace
}  // namespace weblm
