// Unicode helpers for the tokenizers: UTF-8 decoding with llama.cpp's rules, general-category
// classes of code points, and GPT-2's byte <-> code point alphabet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace weblm {

// The general-category class of a code point (\p{N}, \p{L}, ...). Numbers are the table's encoding
// (tools/gen_unicode_tables.py).
enum class CharClass : uint8_t {
  Undefined = 0,  // Cn: unassigned, and code points past U+10FFFF
  Number = 1,     // \p{N}
  Letter = 2,     // \p{L}
  Separator = 3,  // \p{Z}
  Mark = 4,       // \p{M}
  Punctuation = 5,  // \p{P}
  Symbol = 6,     // \p{S}
  Control = 7,    // \p{C} other than Cn
};

CharClass char_class(uint32_t cpt);
// \s as llama.cpp's scanners see it: Unicode White_Space.
bool is_whitespace(uint32_t cpt);

// Bytes in the UTF-8 sequence a lead byte starts (1 for continuation and invalid bytes).
size_t utf8_sequence_length(uint8_t lead);

// Decodes UTF-8 the way llama.cpp does before pre-splitting: every byte that does not start a
// well-formed sequence becomes U+FFFD on its own. (Overlong forms and surrogates decode to their
// value, as there; a value past U+10FFFF, which llama.cpp cannot re-encode, becomes U+FFFD.)
std::vector<uint32_t> decode_utf8(std::string_view text);
void append_utf8(std::string& out, uint32_t cpt);

// The length of the longest prefix of `bytes` made of whole, well-formed UTF-8 sequences, and
// what follows it: nothing, an incomplete sequence that more bytes could complete, or an
// ill-formed one (its maximal subpart is `invalid` bytes long, to be replaced by one U+FFFD).
struct Utf8Prefix {
  size_t valid = 0;
  bool incomplete_tail = false;
  size_t invalid = 0;
};
Utf8Prefix utf8_valid_prefix(std::string_view bytes);

// GPT-2's byte-level alphabet: every byte as one printable code point (space -> U+0120 'Ġ', ...).
uint32_t byte_to_gpt2_cpt(uint8_t byte);
// The byte a code point stands for, or -1 if it is not in the alphabet.
int gpt2_cpt_to_byte(uint32_t cpt);
// Each byte of `bytes` replaced by its alphabet code point, as UTF-8.
std::string gpt2_byte_encode(std::string_view bytes);

}  // namespace weblm
