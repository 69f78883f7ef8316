// Pre-splitting of text into words for byte-level BPE, per `tokenizer.ggml.pre`.
//
// The split rules are those of the pre-tokenizer regexes llama.cpp applies for each name,
// implemented as scanners over code points (no std::regex) that reproduce its results: its
// hand-written scanners where it has them (gpt2, llama3, qwen2, qwen35), and the leftmost-first
// matching of its std::regex fallback for the rest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weblm {

enum class PreSplit : uint8_t {
  Default,     // llama.cpp's BPE default: punctuation runs, gpt2, number runs, ASCII digit triples
  Gpt2,        // 's|'t|...| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
  Llama3,      // (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  Qwen2,       // as Llama3 with single digits
  Qwen35,      // as Qwen2 with marks (\p{M}) joining letters
  DigitsGpt2,  // single digits isolated, then Gpt2 (starcoder, smollm, ...)
  DeepseekV3,  // \p{N}{1,3}, then runs of CJK, then the DeepSeek-V3 word pattern
};

// What llama.cpp derives from a `tokenizer.ggml.pre` name.
struct BpePreset {
  PreSplit split = PreSplit::Default;
  bool ignore_merges = false;  // a word that is itself a token is taken whole
  bool clean_spaces = true;    // detokenizing drops spaces before ?!., and some contractions
  bool add_bos = false;        // default of add_bos_token
  bool no_default_bos = false; // no BOS id unless the file names one (glm4)
};

// nullopt for names llama.cpp does not know or weblm does not implement. An empty name is
// "default", as llama.cpp treats a missing key.
std::optional<BpePreset> find_bpe_preset(std::string_view pre);

// The words of `text`, each GPT-2 byte-encoded (invalid UTF-8 bytes become U+FFFD first).
std::vector<std::string> bpe_pre_split(std::string_view text, PreSplit split);

}  // namespace weblm
