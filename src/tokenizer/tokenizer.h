// Text <-> token ids, with llama.cpp's algorithms (llama-vocab.cpp, v0.5.0) so that a prompt
// gets the ids llama.cpp would give it:
// - SPM ("llama"): spaces -> U+2581 (with a leading one if add_space_prefix), then bigram merges
//   by piece score over UTF-8 characters; characters without a piece become <0xXX> byte tokens.
// - BPE ("gpt2"): pre-split into words (pretokenize.h), GPT-2 byte encoding, merges by rank.
// - Special tokens: control, user-defined and unknown tokens are cut out of the text first
//   (longest first); control and unknown ones only when parse_special.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/pretokenize.h"
#include "tokenizer/vocab.h"

namespace weblm {

// llama_token_attr bits.
enum : uint32_t {
  kTokenAttrUndefined = 0,
  kTokenAttrUnknown = 1u << 0,
  kTokenAttrUnused = 1u << 1,
  kTokenAttrNormal = 1u << 2,
  kTokenAttrControl = 1u << 3,
  kTokenAttrUserDefined = 1u << 4,
  kTokenAttrByte = 1u << 5,
  kTokenAttrLstrip = 1u << 7,
  kTokenAttrRstrip = 1u << 8,
};

class Tokenizer {
 public:
  explicit Tokenizer(Vocab v);

  const Vocab& vocab() const { return vocab_; }  // empty token texts renamed "[EMPTY_<id>]" as in llama.cpp
  int32_t size() const { return vocab_.size(); }

  // Like llama_tokenize(add_special, parse_special): add_special adds BOS (EOS) where the
  // vocabulary's add_bos (add_eos) says so.
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;
  // The bytes of one token, like llama_token_to_piece(lstrip 0): control and unknown tokens are
  // empty unless render_special. Throws Error for an id outside the vocabulary.
  std::string piece(int32_t id, bool render_special) const;
  // Like llama_detokenize(remove_special = false, unparse_special = render_special): pieces
  // joined, the first one's leading space dropped for add_space_prefix vocabularies, and
  // llama.cpp's clean-up of spaces before punctuation for the BPE pre-tokenizers that use it.
  std::string decode(std::span<const int32_t> ids, bool render_special) const;

  // llama.cpp's end-of-generation set: eos, eot, eom, and tokens with texts like <|im_end|>,
  // <end_of_turn>, <|endoftext|>, <|eot_id|>, ...
  bool is_end_of_generation(int32_t id) const;
  int32_t bos() const { return vocab_.bos; }
  int32_t eos() const { return vocab_.eos; }
  int32_t eot() const { return eot_; }  // the file's, or found by text like llama.cpp
  // llama_token_attr bits as llama.cpp derives them (types, plus its text-based fix-ups).
  uint32_t attributes(int32_t id) const;

 private:
  struct Fragment {
    size_t offset = 0, length = 0;
    int32_t token = -1;  // >= 0: a special token; else text[offset, offset + length)
  };
  std::vector<Fragment> partition(std::string_view text, bool parse_special) const;
  void encode_spm(std::string_view text, std::vector<int32_t>& out) const;
  void encode_bpe(std::string_view text, std::vector<int32_t>& out) const;
  void encode_bpe_word(const std::string& word, std::vector<int32_t>& out) const;
  int32_t find(std::string_view text) const;
  int32_t spm_byte_token(uint8_t byte) const;
  int bpe_rank(std::string_view left, std::string_view right) const;
  void derive_attributes();

  Vocab vocab_;
  std::unordered_map<std::string, int32_t> ids_;
  std::unordered_map<std::string, int> ranks_;  // key: bpe_rank_key(left, right)
  std::vector<uint32_t> attrs_;
  std::vector<int32_t> specials_;  // control, user-defined, unknown: longest text first
  std::vector<int32_t> eog_;       // sorted
  int32_t eot_ = -1;
  BpePreset bpe_;
};

// Turns a stream of generated tokens into text chunks that are always whole, well-formed UTF-8:
// bytes of a character split across tokens wait for the rest, and bytes that cannot become
// UTF-8 come out as U+FFFD.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool render_special = false)
      : tokenizer_(tokenizer), render_special_(render_special) {}
  std::string push(int32_t id);
  std::string finish();  // whatever is pending, incomplete characters as U+FFFD

 private:
  std::string take(bool final);

  const Tokenizer& tokenizer_;
  bool render_special_;
  std::string pending_;
};

}  // namespace weblm
