// weblm gen-model: random-weight GGUFs of any supported architecture, shape and tensor type,
// with a synthetic SPM or BPE vocabulary. These are the project's test and benchmark models:
// llama.cpp loads them too, which is what makes them an oracle test bed.
#include <cmath>
#include <cstdio>
#include <optional>

#include "cli/args.h"
#include "cli/commands.h"
#include "format/gguf.h"
#include "format/quants.h"
#include "model/model_config.h"
#include "tokenizer/hf_vocab.h"
#include "tokenizer/synthetic_vocab.h"
#include "util/error.h"

namespace weblm::cli {

namespace {

// Deterministic normal samples (splitmix64 + Box-Muller): the same seed gives the same file.
class Normal {
 public:
  explicit Normal(uint64_t seed) : state_(seed) {}
  float next() {
    const double u1 = (static_cast<double>(bits() >> 11) + 0.5) / 9007199254740992.0;
    const double u2 = static_cast<double>(bits() >> 11) / 9007199254740992.0;
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }

 private:
  uint64_t bits() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t state_;
};

struct Shape {
  std::string arch;
  int64_t dim, n_ff, n_vocab, n_ctx;
  int n_layers, n_heads, n_kv_heads, head_dim;
  int window;
  bool tied;
  bool rope_freqs;
};

class ModelWriter {
 public:
  ModelWriter(GgufWriter& w, DType type, uint64_t seed) : w_(w), type_(type), normal_(seed) {}

  // A [rows, cols] matrix, N(0, 1/cols): activations keep unit scale layer after layer.
  void matrix(const std::string& name, int64_t rows, int64_t cols) {
    std::vector<float> v(static_cast<size_t>(rows * cols));
    const float scale = 1.0f / std::sqrt(static_cast<float>(cols));
    for (float& x : v) x = normal_.next() * scale;
    const DType type = cols % traits(type_).block_size == 0 ? type_ : DType::F32;
    w_.add_tensor(name, type, {cols, rows}, quantize_tensor(type, v, cols));
  }
  // A vector around `center` (norm weights near 1, biases near 0), always F32.
  void vector(const std::string& name, int64_t n, float center, float spread) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = center + spread * normal_.next();
    add_f32(name, v);
  }
  void add_f32(const std::string& name, const std::vector<float>& v) {
    w_.add_tensor(name, DType::F32, {static_cast<int64_t>(v.size())}, quantize_tensor(DType::F32, v, v.size()));
  }

 private:
  GgufWriter& w_;
  DType type_;
  Normal normal_;
};

// Llama 3.1's rope scaling (factor 8, low/high frequency factors 1/4, original context 8192),
// precomputed per frequency as the converters write it.
std::vector<float> llama3_rope_factors(int head_dim, float base) {
  const float factor = 8, low = 1, high = 4, original = 8192;
  std::vector<float> f;
  for (int i = 0; i < head_dim; i += 2) {
    const float freq = 1.0f / std::pow(base, static_cast<float>(i) / head_dim);
    const float wavelen = 2 * static_cast<float>(M_PI) / freq;
    if (wavelen < original / high) f.push_back(1);
    else if (wavelen > original / low) f.push_back(factor);
    else {
      const float smooth = (original / wavelen - low) / (high - low);
      f.push_back(1 / ((1 - smooth) / factor + smooth));
    }
  }
  return f;
}

}  // namespace

int gen_model_command(const Argv& argv) {
  const Args a(argv, {
                         {{"--arch"}, true, "llama, mistral3, qwen2, qwen3, phi3, gemma, gemma2, gemma3 (default llama)"},
                         {{"--type"}, true, "weight type: f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q4_K q5_K q6_K (default f32)"},
                         {{"--vocab"}, true, "spm or bpe (default spm)"},
                         {{"--pre"}, true, "BPE pre-tokenizer: llama-bpe, qwen2, gpt2 (default llama-bpe)"},
                         {{"--n-vocab"}, true, "vocabulary size (default 512)"},
                         {{"--vocab-from"}, true, "a Hugging Face model directory whose tokenizer (and chat template) the model carries"},
                         {{"--dim"}, true, "embedding width (default 64)"},
                         {{"--layers"}, true, "layers (default 2)"},
                         {{"--heads"}, true, "attention heads (default 4)"},
                         {{"--kv-heads"}, true, "KV heads (default 2)"},
                         {{"--head-dim"}, true, "head size (default dim / heads)"},
                         {{"--ff"}, true, "feed-forward width (default 3 * dim)"},
                         {{"--ctx"}, true, "training context (default 4096)"},
                         {{"--window"}, true, "sliding window of gemma2/gemma3 local layers (default 64)"},
                         {{"--tied"}, false, "no output.weight: logits use token_embd"},
                         {{"--rope-freqs"}, false, "llama: add Llama 3.1 rope_freqs"},
                         {{"--seed"}, true, "random seed (default 1)"},
                         {{"-o", "--out"}, true, "output GGUF file"},
                     });
  Shape s;
  s.arch = a.str("--arch", "llama");
  bool known = false;
  for (const std::string& arch : supported_architectures()) known |= arch == s.arch;
  if (!known) fail("unknown architecture '", s.arch, "'");
  const DType type = parse_dtype(a.str("--type", "f32"));
  s.dim = a.integer("--dim", 64);
  s.n_layers = static_cast<int>(a.integer("--layers", 2));
  s.n_heads = static_cast<int>(a.integer("--heads", 4));
  s.n_kv_heads = static_cast<int>(a.integer("--kv-heads", 2));
  if (s.dim <= 0 || s.n_layers <= 0 || s.n_heads <= 0 || s.n_kv_heads <= 0 || s.n_heads % s.n_kv_heads != 0)
    fail("dimensions must be positive and heads a multiple of KV heads");
  s.head_dim = static_cast<int>(a.integer("--head-dim", s.dim / s.n_heads));
  s.n_ff = a.integer("--ff", 3 * s.dim);
  // A real vocabulary fixes the vocabulary size; the weights stay random.
  std::optional<Vocab> hf_vocab;
  if (a.has("--vocab-from")) {
    if (a.has("--vocab") || a.has("--n-vocab") || a.has("--pre"))
      fail("--vocab-from gives the vocabulary: drop --vocab, --n-vocab and --pre");
    hf_vocab = vocab_from_hf(a.str("--vocab-from", ""));
  }
  s.n_vocab = hf_vocab ? hf_vocab->size() : a.integer("--n-vocab", 512);
  s.n_ctx = a.integer("--ctx", 4096);
  s.window = static_cast<int>(a.integer("--window", 64));
  const bool gemma = s.arch.rfind("gemma", 0) == 0;
  s.tied = a.has("--tied") || gemma;
  s.rope_freqs = a.has("--rope-freqs");
  if (s.rope_freqs && s.arch != "llama") fail("--rope-freqs is for llama models");
  const int block = traits(type).block_size;
  if (s.dim % block != 0) fail("--dim ", s.dim, " must be a multiple of ", block, " for ", dtype_name(type));

  GgufWriter w;
  const std::string& arch = s.arch;
  auto key = [&](const char* k) { return arch + "." + k; };
  w.set("general.architecture", GgufValue::of_string(arch));
  w.set("general.name", GgufValue::of_string("weblm random " + arch));
  w.set(key("context_length"), GgufValue::of_u32(static_cast<uint32_t>(s.n_ctx)));
  w.set(key("embedding_length"), GgufValue::of_u32(static_cast<uint32_t>(s.dim)));
  w.set(key("block_count"), GgufValue::of_u32(static_cast<uint32_t>(s.n_layers)));
  w.set(key("feed_forward_length"), GgufValue::of_u32(static_cast<uint32_t>(s.n_ff)));
  w.set(key("attention.head_count"), GgufValue::of_u32(static_cast<uint32_t>(s.n_heads)));
  w.set(key("attention.head_count_kv"), GgufValue::of_u32(static_cast<uint32_t>(s.n_kv_heads)));
  w.set(key("attention.key_length"), GgufValue::of_u32(static_cast<uint32_t>(s.head_dim)));
  w.set(key("attention.value_length"), GgufValue::of_u32(static_cast<uint32_t>(s.head_dim)));
  w.set(key("rope.dimension_count"), GgufValue::of_u32(static_cast<uint32_t>(s.head_dim)));
  w.set(key("rope.freq_base"), GgufValue::of_f32(arch == "gemma3" ? 1000000.f : 10000.f));
  w.set(key("attention.layer_norm_rms_epsilon"), GgufValue::of_f32(1e-6f));
  w.set(key("vocab_size"), GgufValue::of_u32(static_cast<uint32_t>(s.n_vocab)));
  if (arch == "gemma2") {
    w.set(key("attn_logit_softcapping"), GgufValue::of_f32(50.f));
    w.set(key("final_logit_softcapping"), GgufValue::of_f32(30.f));
    w.set(key("attention.sliding_window"), GgufValue::of_u32(static_cast<uint32_t>(s.window)));
  }
  if (arch == "gemma3") w.set(key("attention.sliding_window"), GgufValue::of_u32(static_cast<uint32_t>(s.window)));

  const Vocab::Kind kind = a.str("--vocab", "spm") == "bpe" ? Vocab::Kind::Bpe : Vocab::Kind::Spm;
  if (a.str("--vocab", "spm") != "spm" && kind != Vocab::Kind::Bpe) fail("--vocab must be spm or bpe");
  if (hf_vocab)
    hf_vocab->write_gguf(w);
  else
    make_synthetic_vocab(kind, static_cast<int32_t>(s.n_vocab), a.str("--pre", "llama-bpe")).write_gguf(w);

  ModelWriter m(w, type, static_cast<uint64_t>(a.integer("--seed", 1)));
  const int64_t q_width = static_cast<int64_t>(s.n_heads) * s.head_dim;
  const int64_t kv_width = static_cast<int64_t>(s.n_kv_heads) * s.head_dim;
  m.matrix("token_embd.weight", s.n_vocab, s.dim);
  m.vector("output_norm.weight", s.dim, 1.f, 0.1f);
  if (!s.tied) m.matrix("output.weight", s.n_vocab, s.dim);
  if (s.rope_freqs) m.add_f32("rope_freqs.weight", llama3_rope_factors(s.head_dim, 10000.f));
  for (int l = 0; l < s.n_layers; ++l) {
    auto name = [&](const char* t, const char* suffix = "weight") { return str_cat("blk.", l, ".", t, ".", suffix); };
    m.vector(name("attn_norm"), s.dim, 1.f, 0.1f);
    if (arch == "phi3") {
      m.matrix(name("attn_qkv"), q_width + 2 * kv_width, s.dim);
    } else {
      m.matrix(name("attn_q"), q_width, s.dim);
      m.matrix(name("attn_k"), kv_width, s.dim);
      m.matrix(name("attn_v"), kv_width, s.dim);
    }
    if (arch == "qwen2") {
      m.vector(name("attn_q", "bias"), q_width, 0.f, 0.1f);
      m.vector(name("attn_k", "bias"), kv_width, 0.f, 0.1f);
      m.vector(name("attn_v", "bias"), kv_width, 0.f, 0.1f);
    }
    if (arch == "qwen3" || arch == "gemma3") {
      m.vector(name("attn_q_norm"), s.head_dim, 1.f, 0.1f);
      m.vector(name("attn_k_norm"), s.head_dim, 1.f, 0.1f);
    }
    m.matrix(name("attn_output"), s.dim, q_width);
    if (arch == "gemma2" || arch == "gemma3") m.vector(name("post_attention_norm"), s.dim, 1.f, 0.1f);
    m.vector(name("ffn_norm"), s.dim, 1.f, 0.1f);
    if (arch == "phi3") {
      m.matrix(name("ffn_up"), 2 * s.n_ff, s.dim);
    } else {
      m.matrix(name("ffn_gate"), s.n_ff, s.dim);
      m.matrix(name("ffn_up"), s.n_ff, s.dim);
    }
    m.matrix(name("ffn_down"), s.dim, s.n_ff);
    if (arch == "gemma2" || arch == "gemma3") m.vector(name("post_ffw_norm"), s.dim, 1.f, 0.1f);
  }
  const std::string out = a.required("-o");
  w.write(out);
  std::fprintf(stderr, "wrote %s: %s, %s weights, %d layers, dim %lld\n", out.c_str(), arch.c_str(),
               std::string(dtype_name(type)).c_str(), s.n_layers, static_cast<long long>(s.dim));
  return 0;
}

}  // namespace weblm::cli
