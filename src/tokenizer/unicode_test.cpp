#include "tokenizer/unicode.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

namespace weblm {
namespace {

TEST(Unicode, ClassesOfKnownCodePoints) {
  EXPECT_EQ(char_class('a'), CharClass::Letter);
  EXPECT_EQ(char_class('Z'), CharClass::Letter);
  EXPECT_EQ(char_class('7'), CharClass::Number);
  EXPECT_EQ(char_class(','), CharClass::Punctuation);
  EXPECT_EQ(char_class('_'), CharClass::Punctuation);
  EXPECT_EQ(char_class('$'), CharClass::Symbol);
  EXPECT_EQ(char_class('`'), CharClass::Symbol);
  EXPECT_EQ(char_class(' '), CharClass::Separator);
  EXPECT_EQ(char_class('\n'), CharClass::Control);
  EXPECT_EQ(char_class(0x00E9), CharClass::Letter);   // é
  EXPECT_EQ(char_class(0x0301), CharClass::Mark);     // combining acute
  EXPECT_EQ(char_class(0x00B2), CharClass::Number);   // superscript two (No)
  EXPECT_EQ(char_class(0x2164), CharClass::Number);   // Roman numeral five (Nl)
  EXPECT_EQ(char_class(0x4E2D), CharClass::Letter);   // 中
  EXPECT_EQ(char_class(0x3002), CharClass::Punctuation);  // 。
  EXPECT_EQ(char_class(0x1F600), CharClass::Symbol);  // 😀
  EXPECT_EQ(char_class(0x200D), CharClass::Control);  // zero width joiner (Cf)
  EXPECT_EQ(char_class(0xE000), CharClass::Control);  // private use
  EXPECT_EQ(char_class(0xD800), CharClass::Control);  // surrogate
  EXPECT_EQ(char_class(0x0378), CharClass::Undefined);
  EXPECT_EQ(char_class(0x20000), CharClass::Letter);  // CJK extension B, a First/Last range
  EXPECT_EQ(char_class(0x2EBF0), CharClass::Letter);  // CJK extension I (Unicode 15.1)
  EXPECT_EQ(char_class(0x10FFFF), CharClass::Undefined);
  EXPECT_EQ(char_class(0x110000), CharClass::Undefined);
}

// The generated table against the Unicode Character Database it was made from.
TEST(Unicode, TableMatchesUnicodeData) {
  std::ifstream in("/usr/share/unicode/UnicodeData.txt");
  if (!in) GTEST_SKIP() << "UnicodeData.txt not installed";
  const auto class_of = [](const std::string& cat) {
    switch (cat[0]) {
      case 'L': return CharClass::Letter;
      case 'M': return CharClass::Mark;
      case 'N': return CharClass::Number;
      case 'P': return CharClass::Punctuation;
      case 'S': return CharClass::Symbol;
      case 'Z': return CharClass::Separator;
      default: return cat == "Cn" ? CharClass::Undefined : CharClass::Control;
    }
  };
  std::string line;
  uint32_t range_first = 0;
  size_t checked = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string code, name, cat;
    std::getline(fields, code, ';');
    std::getline(fields, name, ';');
    std::getline(fields, cat, ';');
    const uint32_t cpt = std::stoul(code, nullptr, 16);
    if (name.find(", First>") != std::string::npos) {
      range_first = cpt;
      continue;
    }
    const uint32_t first = name.find(", Last>") != std::string::npos ? range_first : cpt;
    for (uint32_t c = first; c <= cpt; c += std::max<uint32_t>(1, (cpt - first) / 7)) {
      ASSERT_EQ(char_class(c), class_of(cat)) << std::hex << "U+" << c << " " << name;
      ++checked;
    }
  }
  EXPECT_GT(checked, 30000u);
}

TEST(Unicode, Whitespace) {
  for (uint32_t c : {0x09u, 0x0Au, 0x0Bu, 0x0Cu, 0x0Du, 0x20u, 0x85u, 0xA0u, 0x1680u, 0x2000u, 0x200Au, 0x2028u,
                     0x2029u, 0x202Fu, 0x205Fu, 0x3000u}) {
    EXPECT_TRUE(is_whitespace(c)) << std::hex << c;
  }
  for (uint32_t c : {0x08u, 0x0Eu, 0x1Cu, 0x1Fu, uint32_t('a'), 0x200Bu, 0x200Du, 0xFEFFu}) {
    EXPECT_FALSE(is_whitespace(c)) << std::hex << c;
  }
}

TEST(Unicode, DecodeUtf8) {
  EXPECT_EQ(decode_utf8("a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80"), (std::vector<uint32_t>{'a', 0xE9, 0x4E2D, 0x1F600}));
  // Each byte that does not start a complete sequence is one U+FFFD.
  EXPECT_EQ(decode_utf8("\x80x"), (std::vector<uint32_t>{0xFFFD, 'x'}));
  EXPECT_EQ(decode_utf8("\xE4\xB8"), (std::vector<uint32_t>{0xFFFD, 0xFFFD}));
  EXPECT_EQ(decode_utf8("\xC3("), (std::vector<uint32_t>{0xFFFD, '('}));
  EXPECT_EQ(decode_utf8("\xFF\xFE"), (std::vector<uint32_t>{0xFFFD, 0xFFFD}));
  // Like llama.cpp: overlong forms and surrogates decode to their value.
  EXPECT_EQ(decode_utf8("\xC0\x80"), (std::vector<uint32_t>{0}));
  EXPECT_EQ(decode_utf8("\xED\xA0\x80"), (std::vector<uint32_t>{0xD800}));
  EXPECT_EQ(decode_utf8("\xF4\x90\x80\x80"), (std::vector<uint32_t>{0xFFFD}));
  EXPECT_TRUE(decode_utf8("").empty());
}

TEST(Unicode, EncodeRoundTrip) {
  for (uint32_t c : {0x0u, 0x7Fu, 0x80u, 0x7FFu, 0x800u, 0xFFFFu, 0x10000u, 0x10FFFFu}) {
    std::string s;
    append_utf8(s, c);
    EXPECT_EQ(decode_utf8(s), std::vector<uint32_t>{c}) << std::hex << c;
    EXPECT_EQ(s.size(), c < 0x80 ? 1u : c < 0x800 ? 2u : c < 0x10000 ? 3u : 4u);
  }
}

TEST(Unicode, ValidPrefix) {
  const auto check = [](std::string_view s, size_t valid, bool incomplete, size_t invalid) {
    const Utf8Prefix p = utf8_valid_prefix(s);
    EXPECT_EQ(p.valid, valid) << s;
    EXPECT_EQ(p.incomplete_tail, incomplete) << s;
    EXPECT_EQ(p.invalid, invalid) << s;
  };
  check("abc", 3, false, 0);
  check("a\xC3\xA9", 3, false, 0);
  check("a\xC3", 1, true, 0);
  check("a\xF0\x9F\x98", 1, true, 0);
  check("a\x80", 1, false, 1);
  check("a\xC0\x80", 1, false, 1);          // overlong lead
  check("a\xE0\x80\x80", 1, false, 1);      // overlong 3-byte form
  check("a\xED\xA0\x80", 1, false, 1);      // surrogate
  check("a\xF4\x90\x80\x80", 1, false, 1);  // past U+10FFFF
  check("a\xE4\xB8(", 1, false, 2);         // the two good bytes are one ill-formed subpart
}

TEST(Unicode, Gpt2Alphabet) {
  std::set<uint32_t> seen;
  for (int b = 0; b < 256; ++b) {
    const uint32_t c = byte_to_gpt2_cpt(static_cast<uint8_t>(b));
    EXPECT_TRUE(seen.insert(c).second);
    EXPECT_EQ(gpt2_cpt_to_byte(c), b);
    EXPECT_NE(char_class(c), CharClass::Control);  // every alphabet character is printable
    EXPECT_FALSE(is_whitespace(c));
  }
  EXPECT_EQ(byte_to_gpt2_cpt(' '), 0x120u);   // Ġ
  EXPECT_EQ(byte_to_gpt2_cpt('\n'), 0x10Au);  // Ċ
  EXPECT_EQ(byte_to_gpt2_cpt('A'), uint32_t('A'));
  EXPECT_EQ(byte_to_gpt2_cpt(0xAD), 0x143u);
  EXPECT_EQ(gpt2_cpt_to_byte(' '), -1);
  EXPECT_EQ(gpt2_cpt_to_byte(0x4E2D), -1);
  EXPECT_EQ(gpt2_byte_encode("a b\xC3\xA9"), "a\xC4\xA0" "b\xC3\x83\xC2\xA9");
}

}  // namespace
}  // namespace weblm
