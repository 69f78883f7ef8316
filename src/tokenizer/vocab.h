// A model's vocabulary as GGUF stores it (the tokenizer.ggml.* keys), with the defaults llama.cpp
// derives when keys are missing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace weblm {

class GgufFile;
class GgufWriter;

// ggml's token types (tokenizer.ggml.token_type), as SentencePiece numbers them.
enum class TokenType : int32_t {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

struct Vocab {
  enum class Kind { Spm, Bpe };  // tokenizer.ggml.model "llama" / "gpt2"
  Kind kind = Kind::Spm;
  std::string pre = "default";     // tokenizer.ggml.pre ("default", "llama-bpe", "qwen2", ...)
  std::vector<std::string> tokens;
  std::vector<float> scores;       // empty: all 0
  std::vector<int32_t> types;      // TokenType values; empty: all Normal
  std::vector<std::string> merges; // BPE: "left right", in rank order

  // Special ids: -1 is none. bos/eos/unk hold llama.cpp's defaults when the file names none
  // (SPM 1/2/0, BPE 11/11/-1, dropped if outside the vocabulary); the others are the file's,
  // and the Tokenizer finds eot/eom/fim tokens by their text where the file names none, as
  // llama.cpp does.
  int32_t bos = -1, eos = -1, unk = -1, pad = -1, eot = -1, eom = -1, sep = -1;
  int32_t fim_pre = -1, fim_suf = -1, fim_mid = -1, fim_pad = -1, fim_rep = -1, fim_sep = -1;

  bool add_bos = false;           // SPM, llama-bpe: true unless the file says otherwise
  bool add_eos = false;
  bool add_space_prefix = false;  // SPM: true unless the file says otherwise
  std::string chat_template;      // tokenizer.chat_template if present
  std::string model_name;         // general.name (read only): llama.cpp keys some token attributes on it

  int32_t size() const { return static_cast<int32_t>(tokens.size()); }
  TokenType type(int32_t id) const { return types.empty() ? TokenType::Normal : static_cast<TokenType>(types[id]); }
  float score(int32_t id) const { return scores.empty() ? 0.f : scores[id]; }

  // Throws Error naming the key that is missing or malformed, or the tokenizer llama.cpp would
  // reject (unknown model or pre-tokenizer name).
  static Vocab from_gguf(const GgufFile& f);
  // Writes the tokenizer.ggml.* keys (and tokenizer.chat_template).
  void write_gguf(GgufWriter& w) const;
};

}  // namespace weblm
