#include "tokenizer/unicode.h"

#include <algorithm>
#include <array>

namespace weblm {

namespace unicode_tables {
extern const uint32_t kClassRanges[];
extern const size_t kClassRangeCount;
}  // namespace unicode_tables

CharClass char_class(uint32_t cpt) {
  if (cpt > 0x10FFFF) return CharClass::Undefined;
  const uint32_t* begin = unicode_tables::kClassRanges;
  const uint32_t* end = begin + unicode_tables::kClassRangeCount;
  // The last range starting at or before cpt; entries are (start << 3) | class, so comparing
  // against (cpt << 3) | 7 finds it.
  const uint32_t* it = std::upper_bound(begin, end, (cpt << 3) | 7u) - 1;
  return static_cast<CharClass>(*it & 7u);
}

bool is_whitespace(uint32_t cpt) {
  if (cpt <= 0x20) return cpt == 0x20 || (cpt >= 0x09 && cpt <= 0x0D);
  switch (cpt) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cpt >= 0x2000 && cpt <= 0x200A;
  }
}

size_t utf8_sequence_length(uint8_t lead) {
  static constexpr std::array<uint8_t, 16> kLength = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLength[lead >> 4];
}

std::vector<uint32_t> decode_utf8(std::string_view text) {
  std::vector<uint32_t> out;
  out.reserve(text.size());
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const auto continuation = [&](size_t i) { return i < text.size() && (byte(i) & 0xC0) == 0x80; };
  size_t i = 0;
  while (i < text.size()) {
    const uint8_t b = byte(i);
    uint32_t cpt = 0xFFFD;
    size_t len = 1;
    if (b < 0x80) {
      cpt = b;
    } else if ((b & 0xE0) == 0xC0 && continuation(i + 1)) {
      cpt = (uint32_t(b & 0x1F) << 6) | (byte(i + 1) & 0x3F);
      len = 2;
    } else if ((b & 0xF0) == 0xE0 && continuation(i + 1) && continuation(i + 2)) {
      cpt = (uint32_t(b & 0x0F) << 12) | (uint32_t(byte(i + 1) & 0x3F) << 6) | (byte(i + 2) & 0x3F);
      len = 3;
    } else if ((b & 0xF8) == 0xF0 && continuation(i + 1) && continuation(i + 2) && continuation(i + 3)) {
      cpt = (uint32_t(b & 0x07) << 18) | (uint32_t(byte(i + 1) & 0x3F) << 12) |
            (uint32_t(byte(i + 2) & 0x3F) << 6) | (byte(i + 3) & 0x3F);
      len = 4;
      if (cpt > 0x10FFFF) cpt = 0xFFFD;
    }
    out.push_back(cpt);
    i += len;
  }
  return out;
}

void append_utf8(std::string& out, uint32_t cpt) {
  if (cpt < 0x80) {
    out += static_cast<char>(cpt);
  } else if (cpt < 0x800) {
    out += static_cast<char>(0xC0 | (cpt >> 6));
    out += static_cast<char>(0x80 | (cpt & 0x3F));
  } else if (cpt < 0x10000) {
    out += static_cast<char>(0xE0 | (cpt >> 12));
    out += static_cast<char>(0x80 | ((cpt >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cpt & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cpt >> 18));
    out += static_cast<char>(0x80 | ((cpt >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cpt >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cpt & 0x3F));
  }
}

Utf8Prefix utf8_valid_prefix(std::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    const uint8_t b = static_cast<uint8_t>(bytes[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    // Well-formed sequences (Unicode table 3-7): the allowed range of the second byte depends on
    // the first, which rules out overlong forms, surrogates and values past U+10FFFF.
    size_t len = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return {i, false, 1};
    }
    for (size_t k = 1; k < len; ++k) {
      if (i + k == bytes.size()) return {i, true, 0};
      const uint8_t c = static_cast<uint8_t>(bytes[i + k]);
      if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) return {i, false, k};
    }
    i += len;
  }
  return {i, false, 0};
}

namespace {

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the other 68 bytes
// take U+0100.. in byte order.
struct Gpt2Alphabet {
  std::array<uint32_t, 256> cpt_of_byte{};
  std::array<int16_t, 512> byte_of_cpt{};  // every alphabet code point is below U+0200

  Gpt2Alphabet() {
    byte_of_cpt.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      cpt_of_byte[b] = printable ? static_cast<uint32_t>(b) : next++;
      byte_of_cpt[cpt_of_byte[b]] = static_cast<int16_t>(b);
    }
  }
};

const Gpt2Alphabet& gpt2_alphabet() {
  static const Gpt2Alphabet alphabet;
  return alphabet;
}

}  // namespace

uint32_t byte_to_gpt2_cpt(uint8_t byte) { return gpt2_alphabet().cpt_of_byte[byte]; }

int gpt2_cpt_to_byte(uint32_t cpt) { return cpt < 512 ? gpt2_alphabet().byte_of_cpt[cpt] : -1; }

std::string gpt2_byte_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) append_utf8(out, byte_to_gpt2_cpt(static_cast<uint8_t>(c)));
  return out;
}

}  // namespace weblm
