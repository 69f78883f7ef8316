#include "tokenizer/hf_vocab.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "tokenizer/pretokenize.h"
#include "util/error.h"

namespace weblm {

namespace {

using json = nlohmann::json;

// Vocabularies beyond this many ids are not real; the bound keeps a corrupt id from sizing a
// vector to gigabytes.
constexpr int64_t kMaxVocab = 1 << 22;

// The split regexes of the tokenizer.json pre-tokenizers weblm implements, verbatim.
constexpr std::string_view kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";
constexpr std::string_view kQwen2Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";
constexpr std::string_view kQwen35Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr std::string_view kDeepseekV3Regexes[] = {
    "\\p{N}{1,3}",
    "[\xE4\xB8\x80-\xE9\xBE\xA5\xE3\x81\x80-\xE3\x82\x9F\xE3\x82\xA0-\xE3\x83\xBF]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+"
    "[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
};

json parse_json(std::string_view text, std::string_view what) {
  if (text.empty()) return json();
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) fail(what, ": not valid JSON");
  return j;
}

const json* member(const json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  const auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string string_member(const json& j, std::string_view key) {
  const json* m = member(j, key);
  return m && m->is_string() ? m->get<std::string>() : std::string();
}

std::optional<bool> bool_member(const json& j, std::string_view key) {
  const json* m = member(j, key);
  if (m && m->is_boolean()) return m->get<bool>();
  return std::nullopt;
}

std::optional<int64_t> int_member(const json& j, std::string_view key) {
  const json* m = member(j, key);
  if (m && m->is_number_integer()) return m->get<int64_t>();
  return std::nullopt;
}

// A tokenizer_config.json token entry: a string, or an AddedToken object with "content".
std::string token_content(const json* entry) {
  if (!entry) return {};
  if (entry->is_string()) return entry->get<std::string>();
  return string_member(*entry, "content");
}

bool looks_special(std::string_view t) {
  const auto starts = [&](std::string_view p) { return t.substr(0, p.size()) == p; };
  const auto ends = [&](std::string_view s) { return t.size() >= s.size() && t.substr(t.size() - s.size()) == s; };
  return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" || (starts("<|") && ends("|>")) ||
         (starts("<\xEF\xBD\x9C") && ends("\xEF\xBD\x9C>")) || (starts("<unused") && ends(">"));
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

int32_t checked_id(int64_t id, std::string_view where) {
  if (id < 0 || id >= kMaxVocab) fail(where, ": token id ", id, " is out of range");
  return static_cast<int32_t>(id);
}

struct AddedToken {
  int32_t id;
  std::string content;
  bool special;
};

std::vector<AddedToken> added_tokens(const json& tok) {
  std::vector<AddedToken> out;
  const json* list = member(tok, "added_tokens");
  if (!list) return out;
  if (!list->is_array()) fail("tokenizer.json: added_tokens must be an array");
  for (const json& t : *list) {
    const std::optional<int64_t> id = int_member(t, "id");
    if (!id) fail("tokenizer.json: an added token has no integer id");
    out.push_back({checked_id(*id, "tokenizer.json added_tokens"), string_member(t, "content"),
                   bool_member(t, "special").value_or(false)});
  }
  return out;
}

// What gguf-py's SpecialVocab takes from tokenizer.json's post-processor, tokenizer_config.json
// and config.json.
struct Specials {
  std::map<std::string, int32_t> ids;  // "bos", "eos", "unk", "sep", "pad"
  std::optional<bool> add_bos, add_eos;
  std::string chat_template;
};

Specials read_specials(const json& tok, const json& cfg, const json& config, const std::vector<AddedToken>& added,
                       int64_t n_vocab) {
  Specials s;
  std::string bos = token_content(member(cfg, "bos_token"));
  const std::string eos = token_content(member(cfg, "eos_token"));
  if (const json* post = member(tok, "post_processor")) {
    std::vector<const json*> processors;
    if (const json* list = member(*post, "processors"); list && list->is_array()) {
      for (const json& p : *list) processors.push_back(&p);
    } else {
      processors.push_back(post);
    }
    for (const json* p : processors) {
      if (string_member(*p, "type") != "TemplateProcessing") continue;
      const json* single = member(*p, "single");
      if (!single || !single->is_array() || single->size() < 2) continue;
      const auto special_id = [](const json& item) {
        const json* t = member(item, "SpecialToken");
        return t ? string_member(*t, "id") : std::string();
      };
      const std::string first = special_id(single->front());
      const std::string last = special_id(single->back());
      if (!first.empty()) {
        if (bos.empty()) bos = first;
        s.add_bos = first == bos;
      }
      if (!last.empty()) s.add_eos = last == eos;
    }
  }
  if (const std::optional<bool> b = bool_member(cfg, "add_bos_token")) s.add_bos = b;
  if (const std::optional<bool> b = bool_member(cfg, "add_eos_token")) s.add_eos = b;
  const auto set = [&](const std::string& type, int64_t id) {
    if (id >= 0 && id < n_vocab && !s.ids.count(type)) s.ids[type] = static_cast<int32_t>(id);
  };
  for (const std::string type : {"bos", "eos", "unk", "sep", "pad"}) {
    const std::string content = type == "bos" ? bos : token_content(member(cfg, type + "_token"));
    if (content.empty()) continue;
    for (const AddedToken& t : added) {
      if (t.content == content) {
        set(type, t.id);
        break;
      }
    }
  }
  for (const std::string type : {"bos", "eos", "unk", "sep", "pad"}) {
    if (const std::optional<int64_t> id = int_member(config, type + "_token_id")) set(type, *id);
  }
  if (const json* t = member(cfg, "chat_template")) {
    if (t->is_string()) {
      s.chat_template = t->get<std::string>();
    } else if (t->is_array()) {  // named templates: the "default" one
      for (const json& named : *t) {
        if (string_member(named, "name") == "default") s.chat_template = string_member(named, "template");
      }
    }
  }
  return s;
}

void apply_specials(Vocab& v, const Specials& s, bool default_add_bos) {
  const auto id = [&](const char* type, int32_t fallback) {
    const auto it = s.ids.find(type);
    return it != s.ids.end() ? it->second : fallback;
  };
  if (v.kind == Vocab::Kind::Spm) {
    v.bos = id("bos", 1), v.eos = id("eos", 2), v.unk = id("unk", 0);
  } else {
    v.bos = id("bos", 11), v.eos = id("eos", 11), v.unk = id("unk", -1);
  }
  for (int32_t* i : {&v.bos, &v.eos, &v.unk}) {
    if (*i >= v.size()) *i = -1;
  }
  v.pad = id("pad", -1);
  v.sep = id("sep", -1);
  v.add_bos = s.add_bos.value_or(default_add_bos) && v.bos >= 0;
  v.add_eos = s.add_eos.value_or(false) && v.eos >= 0;
  v.chat_template = s.chat_template;
}

// The vocabulary size: one past the largest id, or config.json's vocab_size if larger (the
// model's embedding rows; the ids in between become unused "[PAD<id>]" tokens, as convert pads).
int64_t vocab_size(int64_t max_id, const json& config) {
  int64_t n = max_id + 1;
  if (const std::optional<int64_t> size = int_member(config, "vocab_size")) n = std::max(n, *size);
  if (n > kMaxVocab) fail("config.json: vocab_size ", n, " is out of range");
  return n;
}

void pad_vocab(Vocab& v, int64_t n) {
  v.tokens.resize(n);
  v.types.resize(n, static_cast<int32_t>(TokenType::Unused));
  for (int64_t i = 0; i < n; ++i) {
    if (v.tokens[i].empty()) v.tokens[i] = str_cat("[PAD", i, "]");
  }
}

std::vector<std::string> merges_of(const json& model) {
  std::vector<std::string> out;
  const json* merges = member(model, "merges");
  if (!merges) return out;
  if (!merges->is_array()) fail("tokenizer.json: model.merges must be an array");
  out.reserve(merges->size());
  for (const json& m : *merges) {
    if (m.is_string()) {
      out.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      // Pair form (transformers >= 4.45): spaces inside a part are written as U+0120, as convert does.
      out.push_back(replace_all(m[0].get<std::string>(), " ", "\xC4\xA0") + " " +
                    replace_all(m[1].get<std::string>(), " ", "\xC4\xA0"));
    } else {
      fail("tokenizer.json: model.merges entry ", out.size(), " is neither \"a b\" nor [\"a\", \"b\"]");
    }
  }
  return out;
}

// tokenizer.ggml.pre for a byte-level BPE, from its pre-tokenizer (convert_hf_to_gguf.py hashes
// the tokenization of a test text instead; the regexes decide the same for the models here).
std::string detect_pre(const json& tok, const json& cfg) {
  const json* pre = member(tok, "pre_tokenizer");
  std::vector<const json*> steps;
  if (pre && string_member(*pre, "type") == "Sequence") {
    if (const json* list = member(*pre, "pretokenizers"); list && list->is_array()) {
      for (const json& p : *list) steps.push_back(&p);
    }
  } else if (pre && !pre->is_null()) {
    steps.push_back(pre);
  }
  std::vector<std::string> regexes;
  bool byte_level = false, byte_level_regex = false, single_digits = false;
  for (const json* step : steps) {
    const std::string type = string_member(*step, "type");
    if (type == "Split") {
      const json* pattern = member(*step, "pattern");
      const std::string regex = pattern ? string_member(*pattern, "Regex") : std::string();
      if (regex.empty()) fail("tokenizer.json: unsupported Split pre-tokenizer ", step->dump());
      regexes.push_back(regex);
    } else if (type == "ByteLevel") {
      byte_level = true;
      byte_level_regex = bool_member(*step, "use_regex").value_or(true);
    } else if (type == "Digits") {
      single_digits = bool_member(*step, "individual_digits").value_or(false);
    } else {
      fail("tokenizer.json: unsupported pre-tokenizer ", type);
    }
  }
  if (!byte_level) fail("tokenizer.json: a BPE model without byte_fallback needs a ByteLevel pre-tokenizer");
  const bool ignore_merges = bool_member(*member(tok, "model"), "ignore_merges").value_or(false);
  if (regexes.size() == 1 && regexes[0] == kLlama3Regex && !byte_level_regex) {
    return ignore_merges ? "llama-bpe" : "smaug-bpe";
  }
  if (regexes.size() == 1 && regexes[0] == kQwen2Regex && !byte_level_regex) return "qwen2";
  if (regexes.size() == 1 && regexes[0] == kQwen35Regex && !byte_level_regex) return "qwen35";
  if (regexes.size() == 3 && !byte_level_regex &&
      std::equal(regexes.begin(), regexes.end(), std::begin(kDeepseekV3Regexes))) {
    return "deepseek-v3";
  }
  if (regexes.empty() && byte_level_regex) {
    if (!single_digits) return "gpt-2";
    return bool_member(cfg, "clean_up_tokenization_spaces").value_or(false) ? "starcoder" : "smollm";
  }
  fail("tokenizer.json: pre-tokenizer not recognized (weblm knows the GPT-2, Llama 3, Qwen 2, Qwen 3.5, "
       "DeepSeek-V3 and StarCoder splits): ",
       pre ? pre->dump() : "none");
}

// Llama-2 / Gemma style: SentencePiece pieces (U+2581 for spaces) with byte fallback.
bool adds_space_prefix(const json& tok) {
  bool found = false;
  const std::function<void(const json&)> visit = [&](const json& n) {
    const std::string type = string_member(n, "type");
    if (type == "Prepend" && string_member(n, "prepend") == "\xE2\x96\x81") found = true;
    if (type == "Metaspace") {
      const std::string scheme = string_member(n, "prepend_scheme");
      if (scheme == "always" || scheme == "first" || (scheme.empty() && bool_member(n, "add_prefix_space").value_or(true))) {
        found = true;
      }
    }
    for (const char* key : {"normalizers", "pretokenizers"}) {
      if (const json* list = member(n, key); list && list->is_array()) {
        for (const json& c : *list) visit(c);
      }
    }
  };
  for (const char* key : {"normalizer", "pre_tokenizer"}) {
    if (const json* n = member(tok, key)) visit(*n);
  }
  return found;
}

bool is_byte_piece(std::string_view t) {
  const auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); };
  return t.size() == 6 && t.substr(0, 3) == "<0x" && hex(t[3]) && hex(t[4]) && t[5] == '>';
}

Vocab from_tokenizer_json(const json& tok, const json& cfg, const json& config) {
  if (!tok.is_object()) fail("tokenizer.json: not a JSON object");
  const json* model = member(tok, "model");
  if (!model || string_member(*model, "type") != "BPE") {
    fail("tokenizer.json: unsupported model type '", model ? string_member(*model, "type") : "", "' (weblm reads BPE)");
  }
  const json* vocab = member(*model, "vocab");
  if (!vocab || !vocab->is_object()) fail("tokenizer.json: model.vocab must be an object");
  const std::vector<AddedToken> added = added_tokens(tok);

  int64_t max_id = -1;
  for (const auto& [text, id] : vocab->items()) {
    if (!id.is_number_integer()) fail("tokenizer.json: model.vocab[\"", text, "\"] is not an integer id");
    max_id = std::max<int64_t>(max_id, checked_id(id.get<int64_t>(), "tokenizer.json model.vocab"));
  }
  for (const AddedToken& t : added) max_id = std::max<int64_t>(max_id, t.id);
  if (max_id < 0) fail("tokenizer.json: the vocabulary is empty");
  const int64_t n = vocab_size(max_id, config);

  Vocab v;
  const bool spm = bool_member(*model, "byte_fallback").value_or(false);
  v.kind = spm ? Vocab::Kind::Spm : Vocab::Kind::Bpe;
  v.tokens.resize(n);
  v.types.resize(n, static_cast<int32_t>(TokenType::Unused));
  const std::string unk = string_member(*model, "unk_token");
  for (const auto& [text, id] : vocab->items()) {
    const int32_t i = static_cast<int32_t>(id.get<int64_t>());
    v.tokens[i] = text;
    TokenType type = TokenType::Normal;
    if (spm && is_byte_piece(text)) type = TokenType::Byte;
    if (spm && text == unk) type = TokenType::Unknown;
    v.types[i] = static_cast<int32_t>(type);
  }
  for (const AddedToken& t : added) {
    if (v.types[t.id] == static_cast<int32_t>(TokenType::Unknown)) continue;
    if (t.special || looks_special(t.content)) {
      v.tokens[t.id] = t.content;
      v.types[t.id] = static_cast<int32_t>(TokenType::Control);
    } else {
      // convert_hf_to_gguf.py pre-normalizes user-defined spaces
      v.tokens[t.id] = replace_all(t.content, "\xE2\x96\x81", " ");
      v.types[t.id] = static_cast<int32_t>(TokenType::UserDefined);
    }
  }
  pad_vocab(v, n);

  const std::vector<std::string> merges = merges_of(*model);
  bool default_add_bos = true;
  if (spm) {
    // SentencePiece BPE scores a piece by when its merge was learned; merging by best score then
    // replays the merges. Pieces no merge makes rank below all that one does.
    v.pre = "default";
    std::unordered_map<std::string, int32_t> id_of;
    for (int32_t i = 0; i < static_cast<int32_t>(n); ++i) id_of.emplace(v.tokens[i], i);
    v.scores.assign(n, 1.f);  // 1: not yet scored
    for (size_t r = 0; r < merges.size(); ++r) {
      const size_t space = merges[r].find(' ', 1);
      if (space == std::string::npos) continue;
      const auto it = id_of.find(merges[r].substr(0, space) + merges[r].substr(space + 1));
      if (it != id_of.end() && v.scores[it->second] > 0.f) v.scores[it->second] = -static_cast<float>(r);
    }
    for (int32_t i = 0; i < static_cast<int32_t>(n); ++i) {
      if (v.scores[i] <= 0.f) continue;
      const bool piece = v.types[i] == static_cast<int32_t>(TokenType::Normal);
      v.scores[i] = piece ? -static_cast<float>(merges.size() + i) : 0.f;
    }
    v.add_space_prefix = adds_space_prefix(tok);
  } else {
    v.pre = detect_pre(tok, cfg);
    v.merges = merges;
    default_add_bos = find_bpe_preset(v.pre)->add_bos;
  }
  apply_specials(v, read_specials(tok, cfg, config, added, n), default_add_bos);
  return v;
}

// A minimal protobuf reader for SentencePiece's ModelProto.
class ProtoReader {
 public:
  ProtoReader(std::span<const uint8_t> bytes, std::string_view what) : bytes_(bytes), what_(what) {}
  bool done() const { return pos_ >= bytes_.size(); }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (done()) fail(what_, ": truncated varint at byte ", pos_);
      const uint8_t b = bytes_[pos_++];
      v |= uint64_t(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    fail(what_, ": varint longer than 10 bytes at byte ", pos_);
  }
  std::span<const uint8_t> bytes(size_t n) {
    if (n > bytes_.size() - pos_) fail(what_, ": field of ", n, " bytes runs past the end at byte ", pos_);
    const std::span<const uint8_t> out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  // Reads a field header; the value is then read with the matching call or skip().
  std::pair<uint32_t, uint32_t> field() {
    const uint64_t key = varint();
    return {static_cast<uint32_t>(key >> 3), static_cast<uint32_t>(key & 7)};
  }
  std::span<const uint8_t> length_delimited() { return bytes(varint()); }
  float fixed32_float() {
    const std::span<const uint8_t> b = bytes(4);
    uint32_t u = uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  void skip(uint32_t wire_type) {
    switch (wire_type) {
      case 0: varint(); break;
      case 1: bytes(8); break;
      case 2: length_delimited(); break;
      case 5: bytes(4); break;
      default: fail(what_, ": unsupported protobuf wire type ", wire_type, " at byte ", pos_);
    }
  }

 private:
  std::span<const uint8_t> bytes_;
  std::string_view what_;
  size_t pos_ = 0;
};

}  // namespace

Vocab vocab_from_hf_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json,
                         std::string_view config_json) {
  try {
    return from_tokenizer_json(parse_json(tokenizer_json, "tokenizer.json"),
                               parse_json(tokenizer_config_json, "tokenizer_config.json"),
                               parse_json(config_json, "config.json"));
  } catch (const json::exception& e) {
    fail("tokenizer.json: ", e.what());
  }
}

Vocab vocab_from_sentencepiece(std::span<const uint8_t> model, std::string_view tokenizer_config_json,
                               std::string_view config_json) {
  constexpr std::string_view kWhat = "tokenizer.model";
  Vocab v;
  v.kind = Vocab::Kind::Spm;
  v.pre = "default";
  v.add_space_prefix = true;  // NormalizerSpec.add_dummy_prefix defaults to true
  int64_t trainer_ids[4] = {0, 1, 2, -1};  // unk, bos, eos, pad: TrainerSpec defaults
  ProtoReader r(model, kWhat);
  while (!r.done()) {
    const auto [field, wire] = r.field();
    if (field == 1 && wire == 2) {  // SentencePiece pieces
      ProtoReader p(r.length_delimited(), kWhat);
      std::string piece;
      float score = 0.f;
      int32_t type = static_cast<int32_t>(TokenType::Normal);
      while (!p.done()) {
        const auto [f, w] = p.field();
        if (f == 1 && w == 2) {
          const std::span<const uint8_t> b = p.length_delimited();
          piece.assign(b.begin(), b.end());
        } else if (f == 2 && w == 5) {
          score = p.fixed32_float();
        } else if (f == 3 && w == 0) {
          type = static_cast<int32_t>(p.varint());
        } else {
          p.skip(w);
        }
      }
      if (v.tokens.size() >= static_cast<size_t>(kMaxVocab)) fail(kWhat, ": more than ", kMaxVocab, " pieces");
      v.tokens.push_back(std::move(piece));
      v.scores.push_back(score);
      v.types.push_back(type);
    } else if (field == 2 && wire == 2) {  // TrainerSpec
      ProtoReader t(r.length_delimited(), kWhat);
      while (!t.done()) {
        const auto [f, w] = t.field();
        if (f >= 40 && f <= 43 && w == 0) {
          trainer_ids[f - 40] = static_cast<int32_t>(t.varint());  // int32 fields: negatives are 64-bit varints
        } else {
          t.skip(w);
        }
      }
    } else if (field == 3 && wire == 2) {  // NormalizerSpec
      ProtoReader n(r.length_delimited(), kWhat);
      while (!n.done()) {
        const auto [f, w] = n.field();
        if (f == 3 && w == 0) {
          v.add_space_prefix = n.varint() != 0;
        } else {
          n.skip(w);
        }
      }
    } else {
      r.skip(wire);
    }
  }
  if (v.tokens.empty()) fail(kWhat, ": no pieces");

  try {
    const json cfg = parse_json(tokenizer_config_json, "tokenizer_config.json");
    const json config = parse_json(config_json, "config.json");
    // added_tokens_decoder overrides pieces, as convert_hf_to_gguf.py applies it.
    std::vector<AddedToken> added;
    if (const json* dec = member(cfg, "added_tokens_decoder"); dec && dec->is_object()) {
      for (const auto& [key, t] : dec->items()) {
        int64_t id = -1;
        std::istringstream(key) >> id;
        added.push_back({checked_id(id, "tokenizer_config.json added_tokens_decoder"), string_member(t, "content"),
                         bool_member(t, "special").value_or(false)});
      }
    }
    int64_t max_id = static_cast<int64_t>(v.tokens.size()) - 1;
    for (const AddedToken& t : added) max_id = std::max<int64_t>(max_id, t.id);
    const int64_t n = vocab_size(max_id, config);
    v.scores.resize(n, -1000.f);
    pad_vocab(v, n);
    for (const AddedToken& t : added) {
      const bool control = t.special || looks_special(t.content);
      v.tokens[t.id] = control ? t.content : replace_all(t.content, "\xE2\x96\x81", " ");
      v.types[t.id] = static_cast<int32_t>(control ? TokenType::Control : TokenType::UserDefined);
      v.scores[t.id] = -1000.f;
    }
    Specials s = read_specials(json(), cfg, config, added, n);
    const char* names[] = {"unk", "bos", "eos", "pad"};
    for (int k = 0; k < 4; ++k) {
      if (trainer_ids[k] >= 0 && trainer_ids[k] < n) s.ids.emplace(names[k], static_cast<int32_t>(trainer_ids[k]));
    }
    apply_specials(v, s, true);
    if (!s.ids.count("unk")) v.unk = -1;
    if (!s.ids.count("bos")) v.bos = -1, v.add_bos = false;
  } catch (const json::exception& e) {
    fail("tokenizer_config.json: ", e.what());
  }
  return v;
}

Vocab vocab_from_hf(const std::string& dir) {
  const auto read = [&](const char* name, bool required) -> std::optional<std::string> {
    std::ifstream in(dir + "/" + name, std::ios::binary);
    if (!in) {
      if (required) fail(dir, "/", name, ": cannot read");
      return std::nullopt;
    }
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  };
  const std::string cfg = read("tokenizer_config.json", false).value_or("");
  const std::string config = read("config.json", false).value_or("");
  Vocab v;
  const auto with_path = [&](const char* name, auto&& load) {
    try {
      return load();
    } catch (const Error& e) {
      fail(dir, "/", name, ": ", e.what());
    }
  };
  if (const std::optional<std::string> tok = read("tokenizer.json", false)) {
    v = with_path("tokenizer.json", [&] { return vocab_from_hf_json(*tok, cfg, config); });
  } else if (const std::optional<std::string> sp = read("tokenizer.model", false)) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(sp->data());
    v = with_path("tokenizer.model", [&] { return vocab_from_sentencepiece({bytes, sp->size()}, cfg, config); });
  } else {
    fail(dir, ": no tokenizer.json or tokenizer.model");
  }
  if (v.chat_template.empty()) v.chat_template = read("chat_template.jinja", false).value_or("");
  return v;
}

}  // namespace weblm
