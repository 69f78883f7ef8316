#include "tokenizer/vocab.h"

#include "format/gguf.h"
#include "tokenizer/pretokenize.h"
#include "util/error.h"

namespace weblm {

namespace {

const GgufValue* find_array(const GgufFile& f, std::string_view key, bool numeric) {
  const GgufValue* v = f.find(key);
  if (!v) return nullptr;
  const bool ok = v->type == GgufType::Array &&
                  (numeric ? v->array_type != GgufType::String && v->array_type != GgufType::Array &&
                                 v->array_type != GgufType::Bool
                           : v->array_type == GgufType::String);
  if (!ok) {
    fail(f.name(), ": ", key, " must be an array of ", numeric ? "numbers" : "strings", ", not ",
         gguf_type_name(v->type), v->type == GgufType::Array ? str_cat(" of ", gguf_type_name(v->array_type)) : "");
  }
  return v;
}

double number_of(const GgufValue& e) {
  switch (e.type) {
    case GgufType::Float32:
    case GgufType::Float64: return e.f;
    case GgufType::Int8:
    case GgufType::Int16:
    case GgufType::Int32:
    case GgufType::Int64: return static_cast<double>(e.i);
    default: return static_cast<double>(e.u);
  }
}

// A per-token array (scores, types): at least one entry per token, as llama.cpp requires.
template <class T>
std::vector<T> per_token_numbers(const GgufFile& f, std::string_view key, size_t n_tokens) {
  const GgufValue* v = find_array(f, key, true);
  if (!v) return {};
  if (v->array.size() < n_tokens) fail(f.name(), ": ", key, " has ", v->array.size(), " entries for ", n_tokens, " tokens");
  std::vector<T> out(n_tokens);
  for (size_t i = 0; i < n_tokens; ++i) out[i] = static_cast<T>(number_of(v->array[i]));
  return out;
}

std::vector<std::string> strings_of(const GgufValue& v) {
  std::vector<std::string> out;
  out.reserve(v.array.size());
  for (const GgufValue& e : v.array) out.push_back(e.str);
  return out;
}

}  // namespace

Vocab Vocab::from_gguf(const GgufFile& f) {
  Vocab v;
  const std::string model = f.get_string("tokenizer.ggml.model");
  v.pre = f.get_string("tokenizer.ggml.pre", "");
  std::optional<BpePreset> preset;
  if (model == "llama") {
    v.kind = Kind::Spm;
  } else if (model == "gpt2") {
    v.kind = Kind::Bpe;
    preset = find_bpe_preset(v.pre);
    if (!preset) fail(f.name(), ": unknown or unsupported pre-tokenizer tokenizer.ggml.pre = '", v.pre, "'");
  } else {
    fail(f.name(), ": unsupported tokenizer.ggml.model '", model, "' (weblm reads 'llama' and 'gpt2')");
  }
  if (v.pre.empty()) v.pre = "default";

  const GgufValue* tokens = find_array(f, "tokenizer.ggml.tokens", false);
  if (!tokens) fail(f.name(), ": missing key tokenizer.ggml.tokens");
  v.tokens = strings_of(*tokens);
  const size_t n = v.tokens.size();
  v.scores = per_token_numbers<float>(f, "tokenizer.ggml.scores", n);
  v.types = per_token_numbers<int32_t>(f, "tokenizer.ggml.token_type", n);
  if (v.kind == Kind::Bpe) {
    const GgufValue* merges = find_array(f, "tokenizer.ggml.merges", false);
    if (!merges) fail(f.name(), ": missing key tokenizer.ggml.merges (needed by a gpt2 tokenizer)");
    v.merges = strings_of(*merges);
  }

  // llama.cpp's defaults, dropped when outside the vocabulary; a file's id outside it is ignored.
  if (v.kind == Kind::Spm) {
    v.bos = 1, v.eos = 2, v.unk = 0;
    v.add_bos = true, v.add_space_prefix = true;
  } else {
    v.bos = preset->no_default_bos ? -1 : 11, v.eos = 11;
    v.add_bos = preset->add_bos;
  }
  const struct {
    const char* key;
    int32_t* id;
  } ids[] = {
      {"tokenizer.ggml.bos_token_id", &v.bos},         {"tokenizer.ggml.eos_token_id", &v.eos},
      {"tokenizer.ggml.eot_token_id", &v.eot},         {"tokenizer.ggml.eom_token_id", &v.eom},
      {"tokenizer.ggml.unknown_token_id", &v.unk},     {"tokenizer.ggml.seperator_token_id", &v.sep},
      {"tokenizer.ggml.padding_token_id", &v.pad},     {"tokenizer.ggml.fim_pre_token_id", &v.fim_pre},
      {"tokenizer.ggml.fim_suf_token_id", &v.fim_suf}, {"tokenizer.ggml.fim_mid_token_id", &v.fim_mid},
      {"tokenizer.ggml.fim_pad_token_id", &v.fim_pad}, {"tokenizer.ggml.fim_rep_token_id", &v.fim_rep},
      {"tokenizer.ggml.fim_sep_token_id", &v.fim_sep}, {"tokenizer.ggml.prefix_token_id", &v.fim_pre},
      {"tokenizer.ggml.suffix_token_id", &v.fim_suf},  {"tokenizer.ggml.middle_token_id", &v.fim_mid},
  };
  for (const auto& [key, id] : ids) {
    if (*id >= static_cast<int64_t>(n)) *id = -1;
    if (!f.has(key)) continue;
    const int64_t value = f.get_int(key);
    if (value >= 0 && value < static_cast<int64_t>(n)) *id = static_cast<int32_t>(value);
  }
  v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token", v.add_bos);
  v.add_eos = f.get_bool("tokenizer.ggml.add_eos_token", v.add_eos);
  v.add_space_prefix = f.get_bool("tokenizer.ggml.add_space_prefix", v.add_space_prefix);
  v.chat_template = f.get_string("tokenizer.chat_template", "");
  v.model_name = f.get_string("general.name", "");
  return v;
}

void Vocab::write_gguf(GgufWriter& w) const {
  w.set("tokenizer.ggml.model", GgufValue::of_string(kind == Kind::Spm ? "llama" : "gpt2"));
  w.set("tokenizer.ggml.pre", GgufValue::of_string(pre));
  w.set("tokenizer.ggml.tokens", GgufValue::of_strings(tokens));
  if (!scores.empty()) w.set("tokenizer.ggml.scores", GgufValue::of_f32s(scores));
  if (!types.empty()) w.set("tokenizer.ggml.token_type", GgufValue::of_i32s(types));
  if (kind == Kind::Bpe) w.set("tokenizer.ggml.merges", GgufValue::of_strings(merges));
  const struct {
    const char* key;
    int32_t id;
  } ids[] = {
      {"tokenizer.ggml.bos_token_id", bos},         {"tokenizer.ggml.eos_token_id", eos},
      {"tokenizer.ggml.eot_token_id", eot},         {"tokenizer.ggml.eom_token_id", eom},
      {"tokenizer.ggml.unknown_token_id", unk},     {"tokenizer.ggml.seperator_token_id", sep},
      {"tokenizer.ggml.padding_token_id", pad},     {"tokenizer.ggml.fim_pre_token_id", fim_pre},
      {"tokenizer.ggml.fim_suf_token_id", fim_suf}, {"tokenizer.ggml.fim_mid_token_id", fim_mid},
      {"tokenizer.ggml.fim_pad_token_id", fim_pad}, {"tokenizer.ggml.fim_rep_token_id", fim_rep},
      {"tokenizer.ggml.fim_sep_token_id", fim_sep},
  };
  for (const auto& [key, id] : ids) {
    if (id >= 0) w.set(key, GgufValue::of_u32(static_cast<uint32_t>(id)));
  }
  w.set("tokenizer.ggml.add_bos_token", GgufValue::of_bool(add_bos));
  w.set("tokenizer.ggml.add_eos_token", GgufValue::of_bool(add_eos));
  w.set("tokenizer.ggml.add_space_prefix", GgufValue::of_bool(add_space_prefix));
  if (!chat_template.empty()) w.set("tokenizer.chat_template", GgufValue::of_string(chat_template));
}

}  // namespace weblm
