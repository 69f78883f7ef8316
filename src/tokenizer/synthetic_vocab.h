// Deterministic vocabularies for generated test models, in the shapes llama.cpp accepts:
// - SPM: <unk> <s> </s>, the 256 byte tokens <0x00>..<0xFF>, single characters (most frequent
//   first: ASCII letters, then punctuation, accented, Greek, Cyrillic, CJK as room allows), pieces
//   learned by BPE on a small built-in text (scored so that SPM merging replays the training),
//   then control tokens <|im_start|> <|im_end|> <|endoftext|>.
// - BPE: the 256 GPT-2 byte tokens, merges learned by byte-level BPE on the same text with the
//   pre-tokenizer `pre` splits by, then control tokens <|begin_of_text|> <|end_of_text|>
//   <|im_start|> <|im_end|> <|endoftext|>.
// When the text has no more merges to learn, unused "[PAD<id>]" tokens fill the vocabulary.
// Both carry a ChatML chat template.
#pragma once

#include <cstdint>
#include <string>

#include "tokenizer/vocab.h"

namespace weblm {

// Throws Error if n_vocab is too small for the fixed tokens (a few hundred), or if `pre` is not
// a BPE pre-tokenizer weblm implements (SPM ignores it).
Vocab make_synthetic_vocab(Vocab::Kind kind, int32_t n_vocab, std::string pre);

}  // namespace weblm
