// Vocabularies from Hugging Face model directories, mapped to GGUF's form the way llama.cpp's
// convert_hf_to_gguf.py maps them:
// - tokenizer.json, byte-level BPE (Llama 3, Qwen, GPT-2, DeepSeek-V3) -> Kind::Bpe, with
//   tokenizer.ggml.pre recognized from the pre-tokenizer's split regexes;
// - tokenizer.json, BPE with byte_fallback over U+2581 pieces (Llama 2, Gemma) -> Kind::Spm,
//   piece scores from merge ranks (so SPM merging replays the BPE merges);
// - tokenizer.model (SentencePiece protobuf) when there is no tokenizer.json -> Kind::Spm.
// Added tokens are control tokens when special (or looking special, as convert decides),
// user-defined otherwise. tokenizer_config.json gives bos/eos/unk/pad, add_bos/add_eos and the
// chat template; config.json the padded vocabulary size and missing special ids.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "tokenizer/vocab.h"

namespace weblm {

// Throws Error naming the file and what in it is unsupported or malformed.
Vocab vocab_from_hf(const std::string& dir);

// The same from file contents (empty views for absent files).
Vocab vocab_from_hf_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json = {},
                         std::string_view config_json = {});
Vocab vocab_from_sentencepiece(std::span<const uint8_t> model, std::string_view tokenizer_config_json = {},
                               std::string_view config_json = {});

}  // namespace weblm
