#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <cctype>
#include <queue>
#include <utility>

#include "tokenizer/unicode.h"
#include "util/error.h"

namespace weblm {

namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581, SentencePiece's space

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string_view::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out += to;
  }
  out.append(s, pos);
  return out;
}

uint32_t attr_of_type(TokenType t) {
  switch (t) {
    case TokenType::Unknown: return kTokenAttrUnknown;
    case TokenType::Unused: return kTokenAttrUnused;
    case TokenType::Normal: return kTokenAttrNormal;
    case TokenType::Control: return kTokenAttrControl;
    case TokenType::UserDefined: return kTokenAttrUserDefined;
    case TokenType::Byte: return kTokenAttrByte;
    default: return kTokenAttrUndefined;
  }
}

// std::isspace in the C locale, on a byte.
bool is_c_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// The byte a <0xXX> token stands for (llama.cpp reads the two characters after "<0x").
uint8_t byte_of_hex_token(const std::string& text) {
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  int value = 0;
  for (size_t i = 3; i < std::min<size_t>(text.size(), 5); ++i) {
    const int h = hex(text[i]);
    if (h < 0) break;
    value = value * 16 + h;
  }
  return static_cast<uint8_t>(value);
}

// A byte-level BPE token's bytes (llama.cpp's llama_decode_text): each code point back to the
// byte it stands for; one outside GPT-2's alphabet is kept visibly, as llama.cpp writes it.
std::string gpt2_byte_decode(const std::string& text) {
  std::string out;
  for (uint32_t cpt : decode_utf8(text)) {
    const int byte = gpt2_cpt_to_byte(cpt);
    if (byte >= 0) {
      out += static_cast<char>(byte);
      continue;
    }
    std::string utf8;
    append_utf8(utf8, cpt);
    out += "[UNK_BYTE_0x";
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned char c : utf8) {
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
    out += text + "]";
  }
  return out;
}

// llama.cpp's clean_up_tokenization_spaces (llama_vocab::impl::detokenize), three in-place passes.
void clean_spaces(std::string& text) {
  // " ?", " !", " .", " ," lose the space
  size_t total = text.empty() ? 0 : 1;
  for (size_t i = 1; i < text.size(); ++i) {
    const char x = text[i];
    if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) --total;
    text[total++] = x;
  }
  text.resize(total);
  // " ' " loses both spaces
  total = text.empty() ? 0 : 1;
  for (size_t i = 1; i < text.size(); ++i) {
    const char x = text[i];
    if (x == '\'' && i + 1 < text.size() && text[i - 1] == ' ' && text[i + 1] == ' ') {
      --total;
      text[++i] = '\0';
    }
    text[total++] = x;
  }
  text.resize(total);
  // " 's", " 'm", " 're", " 've" lose the space
  total = text.empty() ? 0 : 1;
  for (size_t i = 1; i < text.size(); ++i) {
    const char x = text[i];
    if (text[i - 1] == ' ' && x == '\'' && i + 1 < text.size()) {
      const char x1 = text[i + 1];
      if (x1 == 's' || x1 == 'm') {
        --total;
      } else if (i + 2 < text.size() && ((x1 == 'r' || x1 == 'v') && text[i + 2] == 'e')) {
        --total;
      }
    }
    text[total++] = x;
  }
  text.resize(total);
}

std::string rank_key(std::string_view left, std::string_view right) {
  std::string key = std::to_string(left.size());
  key += ':';
  key += left;
  key += right;
  return key;
}

// Symbols of one word being merged: byte ranges of the word, linked in order.
struct Symbol {
  int prev, next;
  size_t offset, length;  // length 0: merged into its left neighbour
};

std::vector<Symbol> utf8_symbols(std::string_view text) {
  std::vector<Symbol> symbols;
  for (size_t offset = 0; offset < text.size();) {
    const size_t len = std::min(utf8_sequence_length(static_cast<uint8_t>(text[offset])), text.size() - offset);
    const int index = static_cast<int>(symbols.size());
    symbols.push_back({index - 1, offset + len == text.size() ? -1 : index + 1, offset, len});
    offset += len;
  }
  return symbols;
}

// A candidate merge of symbols[left] and symbols[right], valid while both still have the lengths
// they had when it was queued (their sum is `length`).
struct Bigram {
  int left, right;
  size_t length;
  float score;  // SPM: the merged piece's score, higher first
  int rank;     // BPE: the merge's rank, lower first
};

void merge(std::vector<Symbol>& symbols, const Bigram& b) {
  Symbol& left = symbols[b.left];
  Symbol& right = symbols[b.right];
  left.length += right.length;
  right.length = 0;
  left.next = right.next;
  if (right.next >= 0) symbols[right.next].prev = b.left;
}

bool still_valid(const std::vector<Symbol>& symbols, const Bigram& b) {
  const Symbol& l = symbols[b.left];
  const Symbol& r = symbols[b.right];
  return l.length > 0 && r.length > 0 && l.length + r.length == b.length;
}

}  // namespace

Tokenizer::Tokenizer(Vocab v) : vocab_(std::move(v)) {
  const size_t n = vocab_.tokens.size();
  if (n == 0) fail("tokenizer: the vocabulary has no tokens");
  if (!vocab_.scores.empty() && vocab_.scores.size() != n)
    fail("tokenizer: ", vocab_.scores.size(), " scores for ", n, " tokens");
  if (!vocab_.types.empty() && vocab_.types.size() != n)
    fail("tokenizer: ", vocab_.types.size(), " token types for ", n, " tokens");
  if (vocab_.kind == Vocab::Kind::Bpe) {
    const std::optional<BpePreset> preset = find_bpe_preset(vocab_.pre);
    if (!preset) fail("tokenizer: unknown or unsupported pre-tokenizer '", vocab_.pre, "'");
    bpe_ = *preset;
  }
  for (int32_t* id : {&vocab_.bos, &vocab_.eos, &vocab_.unk, &vocab_.pad, &vocab_.eot, &vocab_.eom, &vocab_.sep,
                      &vocab_.fim_pre, &vocab_.fim_suf, &vocab_.fim_mid, &vocab_.fim_pad, &vocab_.fim_rep,
                      &vocab_.fim_sep}) {
    if (*id >= static_cast<int64_t>(n)) fail("tokenizer: special token id ", *id, " is outside the vocabulary of ", n);
  }

  ids_.reserve(n);
  attrs_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    // llama.cpp renames empty tokens; the last of equal texts wins the text -> id map.
    std::string& text = vocab_.tokens[i];
    if (text.empty()) text = str_cat("[EMPTY_", i, "]");
    ids_[text] = static_cast<int32_t>(i);
    attrs_.push_back(vocab_.types.empty() ? kTokenAttrNormal : attr_of_type(vocab_.type(static_cast<int32_t>(i))));
  }
  if (vocab_.kind == Vocab::Kind::Bpe) {
    ranks_.reserve(vocab_.merges.size());
    for (size_t i = 0; i < vocab_.merges.size(); ++i) {
      const std::string& m = vocab_.merges[i];
      const size_t space = m.find(' ', 1);
      // A merge without a space pairs ("", ""), which never matches; the first of equal pairs wins.
      if (space == std::string::npos) continue;
      ranks_.emplace(rank_key(std::string_view(m).substr(0, space), std::string_view(m).substr(space + 1)),
                     static_cast<int>(i));
    }
  }
  derive_attributes();
}

// llama.cpp's text-based fix-ups of token roles and attributes (end of llama_vocab::impl::load).
void Tokenizer::derive_attributes() {
  // Where several texts are present llama.cpp takes whichever its hash map yields first, which
  // for maps filled in id order is mostly the highest id (<|eot_id|> over <|end_of_text|> in
  // Llama 3, <|im_end|> over <|endoftext|> in Qwen); weblm takes the highest id.
  const auto detect = [&](int32_t& id, std::initializer_list<std::string_view> texts) {
    if (id >= 0) return;
    for (std::string_view t : texts) id = std::max(id, find(t));
    if (id >= 0) attrs_[id] |= kTokenAttrControl;
  };
  eot_ = vocab_.eot;
  detect(eot_, {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>",
                "_<EOT>", "[EOT]", "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
                "<end_of_utterance>"});
  int32_t eom = vocab_.eom;
  detect(eom, {"<|eom_id|>"});
  int32_t fim_pre = vocab_.fim_pre, fim_suf = vocab_.fim_suf, fim_mid = vocab_.fim_mid;
  int32_t fim_pad = vocab_.fim_pad, fim_rep = vocab_.fim_rep, fim_sep = vocab_.fim_sep;
  detect(fim_pre, {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "begin\xEF\xBD\x9C>",
                   "<PRE>", "\xE2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>"});
  detect(fim_suf, {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81hole\xEF\xBD\x9C>",
                   "<SUF>", "\xE2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>"});
  detect(fim_mid, {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "end\xEF\xBD\x9C>",
                   "<MID>", "\xE2\x96\x81<MID>", "<|code_middle|>", "<|middle|>"});
  detect(fim_pad, {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"});
  detect(fim_rep, {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"});
  detect(fim_sep, {"<|file_sep|>"});

  // Control tokens named "unused": llama.cpp visits each text once, through its text -> id map.
  for (const auto& [text, id] : ids_) {
    if ((attrs_[id] & kTokenAttrControl) && text.find("unused") != std::string::npos) attrs_[id] |= kTokenAttrUnused;
  }

  std::vector<int32_t> eog;
  for (int32_t id : {fim_pad, fim_rep, fim_sep}) {
    if (id >= 0) eog.push_back(id);
  }
  static constexpr std::string_view kEogTexts[] = {
      "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
      "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
      "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
      "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>", "[e~[",
  };
  for (std::string_view t : kEogTexts) {
    const int32_t id = find(t);
    if (id < 0) continue;
    eog.push_back(id);
    attrs_[id] |= kTokenAttrControl;
  }
  // gpt-oss: always rendered
  for (std::string_view t : {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}) {
    if (const int32_t id = find(t); id >= 0) attrs_[id] = kTokenAttrUserDefined;
  }
  for (int32_t id : {vocab_.eos, eot_, eom}) {
    if (id >= 0) eog.push_back(id);
  }
  std::sort(eog.begin(), eog.end());
  eog.erase(std::unique(eog.begin(), eog.end()), eog.end());
  const auto eog_with_text = [&](std::string_view t) {
    for (int32_t id : eog) {
      if (vocab_.tokens[id] == t) return id;
    }
    return -1;
  };
  // o200k_harmony / solar-open: <|end|> ends a message, not the generation.
  const int32_t end_id = eog_with_text("<|end|>");
  const bool has_call = eog_with_text("<|call|>") >= 0 || eog_with_text("<|calls|>") >= 0;
  if (end_id >= 0 && has_call && (eog_with_text("<|return|>") >= 0 || eog_with_text("<|flush|>") >= 0)) {
    eog.erase(std::find(eog.begin(), eog.end(), end_id));
    attrs_[end_id] = kTokenAttrUserDefined;
  }
  // gemma4, paddleocr: </s> is not an end of generation there.
  const int32_t s_id = eog_with_text("</s>");
  if (s_id >= 0 && eog_with_text("<|tool_response>") >= 0) {
    eog.erase(std::find(eog.begin(), eog.end(), s_id));
    attrs_[s_id] = kTokenAttrNormal;
  }
  eog_ = std::move(eog);

  for (size_t i = 0; i < vocab_.tokens.size(); ++i) {
    if (attrs_[i] & (kTokenAttrControl | kTokenAttrUserDefined | kTokenAttrUnknown)) {
      specials_.push_back(static_cast<int32_t>(i));
    }
  }
  std::stable_sort(specials_.begin(), specials_.end(),
                   [&](int32_t a, int32_t b) { return vocab_.tokens[a].size() > vocab_.tokens[b].size(); });

  // Phi-3 (by general.name): text after a special token loses its leading whitespace.
  std::string name = vocab_.model_name;
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
    for (int32_t id : specials_) attrs_[id] |= kTokenAttrRstrip;
    if (const int32_t id = find("</s>"); id >= 0) attrs_[id] |= kTokenAttrRstrip;
    for (std::string_view t : {"<unk>", "<s>", "<|endoftext|>"}) {
      if (const int32_t id = find(t); id >= 0) attrs_[id] &= ~kTokenAttrRstrip;
    }
  }
}

uint32_t Tokenizer::attributes(int32_t id) const {
  if (id < 0 || id >= size()) fail("token id ", id, " is outside the vocabulary of ", size());
  return attrs_[id];
}

bool Tokenizer::is_end_of_generation(int32_t id) const { return std::binary_search(eog_.begin(), eog_.end(), id); }

int32_t Tokenizer::find(std::string_view text) const {
  const auto it = ids_.find(std::string(text));
  return it == ids_.end() ? -1 : it->second;
}

int Tokenizer::bpe_rank(std::string_view left, std::string_view right) const {
  const auto it = ranks_.find(rank_key(left, right));
  return it == ranks_.end() ? -1 : it->second;
}

// llama.cpp's tokenizer_st_partition: for each special token in turn (longest first), every text
// fragment is cut around its occurrences.
std::vector<Tokenizer::Fragment> Tokenizer::partition(std::string_view text, bool parse_special) const {
  std::vector<Fragment> fragments = {{0, text.size(), -1}};
  std::vector<Fragment> next;
  for (int32_t id : specials_) {
    const uint32_t attr = attrs_[id];
    if (!parse_special && (attr & (kTokenAttrControl | kTokenAttrUnknown))) continue;
    const std::string& special = vocab_.tokens[id];
    next.clear();
    bool found = false;
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      size_t begin = f.offset;
      size_t end = f.offset + f.length;
      while (begin < end) {
        const size_t hit = text.substr(0, end).find(special, begin);
        if (hit == std::string_view::npos) break;
        found = true;
        size_t left_end = hit;
        if (attr & kTokenAttrLstrip) {
          while (left_end > begin && is_c_space(text[left_end - 1])) --left_end;
        }
        if (left_end > begin) next.push_back({begin, left_end - begin, -1});
        next.push_back({0, 0, id});
        begin = hit + special.size();
        if (attr & kTokenAttrRstrip) {
          while (begin < end && is_c_space(text[begin])) ++begin;
        }
      }
      if (begin < end) next.push_back({begin, end - begin, -1});
    }
    if (found) fragments.swap(next);
  }
  return fragments;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<int32_t> out;
  const std::vector<Fragment> fragments = text.empty() ? std::vector<Fragment>{} : partition(text, parse_special);
  const bool add_bos = add_special && vocab_.add_bos;
  const bool add_eos = add_special && vocab_.add_eos;
  if (add_bos) {
    if (vocab_.bos < 0) fail("tokenizer: the vocabulary asks for a BOS token but has none");
    out.push_back(vocab_.bos);
  }
  bool prev_special = true;  // SPM: a space is prefixed to text at the start and after special tokens
  for (const Fragment& f : fragments) {
    if (f.token >= 0) {
      out.push_back(f.token);
      prev_special = true;
      continue;
    }
    const std::string_view piece = text.substr(f.offset, f.length);
    if (vocab_.kind == Vocab::Kind::Spm) {
      std::string s = vocab_.add_space_prefix && prev_special ? " " : "";
      s += piece;
      encode_spm(replace_all(s, " ", kSpaceMarker), out);
    } else {
      encode_bpe(piece, out);
    }
    prev_special = false;
  }
  if (add_eos) {
    if (vocab_.eos < 0) fail("tokenizer: the vocabulary asks for an EOS token but has none");
    out.push_back(vocab_.eos);
  }
  return out;
}

int32_t Tokenizer::spm_byte_token(uint8_t byte) const {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const char name[] = {'<', '0', 'x', kHex[byte >> 4], kHex[byte & 15], '>'};
  int32_t id = find(std::string_view(name, sizeof(name)));
  if (id < 0) id = find(std::string_view(reinterpret_cast<const char*>(&byte), 1));
  // llama.cpp gives up here; the unknown token is the sensible stand-in.
  if (id < 0) id = vocab_.unk;
  if (id < 0) fail("tokenizer: no token for byte 0x", kHex[byte >> 4], kHex[byte & 15], " and no unknown token");
  return id;
}

// llm_tokenizer_spm_session: merge the adjacent pair whose merged text is the best-scoring piece,
// until none is a piece; symbols that are not pieces become byte tokens.
void Tokenizer::encode_spm(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<Symbol> symbols = utf8_symbols(text);
  const auto worse = [](const Bigram& a, const Bigram& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(worse)> queue(worse);
  const auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const size_t length = symbols[left].length + symbols[right].length;
    const int32_t id = find(text.substr(symbols[left].offset, length));
    if (id < 0) return;
    queue.push({left, right, length, vocab_.score(id), 0});
  };
  for (int i = 1; i < static_cast<int>(symbols.size()); ++i) try_add(i - 1, i);
  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    if (!still_valid(symbols, b)) continue;
    merge(symbols, b);
    try_add(symbols[b.left].prev, b.left);
    try_add(b.left, symbols[b.left].next);
  }
  for (int i = symbols.empty() ? -1 : 0; i != -1; i = symbols[i].next) {
    const std::string_view s = text.substr(symbols[i].offset, symbols[i].length);
    const int32_t id = find(s);
    if (id >= 0) {
      out.push_back(id);
    } else {
      for (char c : s) out.push_back(spm_byte_token(static_cast<uint8_t>(c)));
    }
  }
}

void Tokenizer::encode_bpe(std::string_view text, std::vector<int32_t>& out) const {
  for (const std::string& word : bpe_pre_split(text, bpe_.split)) encode_bpe_word(word, out);
}

// llm_tokenizer_bpe_session on one (byte-encoded) word: apply the lowest-ranked merge until none
// applies; a result that is not a token falls back to its single characters, and those that are
// not tokens either are dropped, as in llama.cpp.
void Tokenizer::encode_bpe_word(const std::string& word, std::vector<int32_t>& out) const {
  if (bpe_.ignore_merges) {
    if (const int32_t id = find(word); id >= 0) {
      out.push_back(id);
      return;
    }
  }
  const std::string_view w = word;
  std::vector<Symbol> symbols = utf8_symbols(w);
  const auto worse = [](const Bigram& a, const Bigram& b) {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  };
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(worse)> queue(worse);
  const auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[left];
    const Symbol& r = symbols[right];
    const int rank = bpe_rank(w.substr(l.offset, l.length), w.substr(r.offset, r.length));
    if (rank < 0) return;
    queue.push({left, right, l.length + r.length, 0.f, rank});
  };
  for (int i = 1; i < static_cast<int>(symbols.size()); ++i) try_add(i - 1, i);
  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    if (!still_valid(symbols, b)) continue;
    merge(symbols, b);
    try_add(symbols[b.left].prev, b.left);
    try_add(b.left, symbols[b.left].next);
  }
  for (const Symbol& s : symbols) {
    if (s.length == 0) continue;
    const std::string_view text = w.substr(s.offset, s.length);
    const int32_t id = find(text);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    for (char c : text) {
      if (const int32_t byte_id = find(std::string_view(&c, 1)); byte_id >= 0) out.push_back(byte_id);
    }
  }
}

std::string Tokenizer::piece(int32_t id, bool render_special) const {
  const uint32_t attr = attributes(id);
  if (!render_special && (attr & (kTokenAttrUnknown | kTokenAttrControl))) return {};
  const std::string& text = vocab_.tokens[id];
  if (attr & (kTokenAttrUnknown | kTokenAttrControl | kTokenAttrUserDefined)) return text;
  if (attr & kTokenAttrNormal) {
    return vocab_.kind == Vocab::Kind::Spm ? replace_all(text, kSpaceMarker, " ") : gpt2_byte_decode(text);
  }
  if (attr & kTokenAttrByte) return std::string(1, static_cast<char>(byte_of_hex_token(text)));
  return {};
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string p = piece(ids[i], render_special);
    if (i == 0 && vocab_.add_space_prefix && !p.empty() && p[0] == ' ') p.erase(0, 1);
    out += p;
  }
  if (vocab_.kind == Vocab::Kind::Bpe && bpe_.clean_spaces) clean_spaces(out);
  return out;
}

std::string StreamDecoder::push(int32_t id) {
  pending_ += tokenizer_.piece(id, render_special_);
  return take(false);
}

std::string StreamDecoder::finish() { return take(true); }

std::string StreamDecoder::take(bool final) {
  std::string out;
  std::string_view rest = pending_;
  while (!rest.empty()) {
    const Utf8Prefix p = utf8_valid_prefix(rest);
    out.append(rest.substr(0, p.valid));
    rest.remove_prefix(p.valid);
    if (rest.empty() || (p.incomplete_tail && !final)) break;
    out += "\xEF\xBF\xBD";  // U+FFFD for the ill-formed (or, at the end, unfinished) sequence
    rest.remove_prefix(p.incomplete_tail ? rest.size() : p.invalid);
  }
  pending_ = std::string(rest);
  return out;
}

}  // namespace weblm
