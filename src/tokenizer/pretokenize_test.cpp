#include "tokenizer/pretokenize.h"

#include <gtest/gtest.h>

#include "tokenizer/unicode.h"

namespace weblm {
namespace {

// Expected words are written as plain text; the splitter returns them GPT-2 byte-encoded.
std::vector<std::string> words(std::initializer_list<std::string_view> plain) {
  std::vector<std::string> out;
  for (std::string_view w : plain) out.push_back(gpt2_byte_encode(w));
  return out;
}

std::vector<std::string> split(std::string_view pre, std::string_view text) {
  return bpe_pre_split(text, find_bpe_preset(pre).value().split);
}

TEST(PreSplit, Presets) {
  const BpePreset llama = find_bpe_preset("llama-bpe").value();
  EXPECT_EQ(llama.split, PreSplit::Llama3);
  EXPECT_TRUE(llama.ignore_merges);
  EXPECT_TRUE(llama.add_bos);
  const BpePreset qwen = find_bpe_preset("qwen2").value();
  EXPECT_EQ(qwen.split, PreSplit::Qwen2);
  EXPECT_FALSE(qwen.clean_spaces);
  EXPECT_FALSE(qwen.add_bos);
  EXPECT_EQ(find_bpe_preset("deepseek-r1-qwen")->split, PreSplit::Qwen2);
  EXPECT_EQ(find_bpe_preset("smollm")->split, PreSplit::DigitsGpt2);
  EXPECT_EQ(find_bpe_preset("")->split, PreSplit::Default);
  EXPECT_EQ(find_bpe_preset("gpt-2")->split, PreSplit::Gpt2);
  EXPECT_FALSE(find_bpe_preset("gpt2"));  // llama.cpp rejects this spelling too
  EXPECT_FALSE(find_bpe_preset("no-such-pre"));
}

TEST(PreSplit, Llama3) {
  EXPECT_EQ(split("llama-bpe", "Hello world"), words({"Hello", " world"}));
  EXPECT_EQ(split("llama-bpe", "I'm HERE'S"), words({"I", "'m", " HERE", "'S"}));
  EXPECT_EQ(split("llama-bpe", "1234567"), words({"123", "456", "7"}));
  EXPECT_EQ(split("llama-bpe", "abc123def"), words({"abc", "123", "def"}));
  // Whitespace: a run keeps its last space for the next word; newlines end a run.
  EXPECT_EQ(split("llama-bpe", "a   b"), words({"a", "  ", " b"}));
  EXPECT_EQ(split("llama-bpe", "a \n\n b"), words({"a", " \n\n", " b"}));
  EXPECT_EQ(split("llama-bpe", "x  "), words({"x", "  "}));
  EXPECT_EQ(split("llama-bpe", "\t\tfoo"), words({"\t", "\tfoo"}));
  // Punctuation runs take the space before them and the newlines after them.
  EXPECT_EQ(split("llama-bpe", "hi !!\n\nok"), words({"hi", " !!\n\n", "ok"}));
  EXPECT_EQ(split("llama-bpe", "(x)"), words({"(x", ")"}));
  EXPECT_EQ(split("llama-bpe", "caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87"), words({"caf\xC3\xA9", " \xE4\xB8\xAD\xE6\x96\x87"}));
  EXPECT_EQ(split("llama-bpe", " 42"), words({" ", "42"}));
  EXPECT_TRUE(split("llama-bpe", "").empty());
}

TEST(PreSplit, Qwen2SingleDigits) {
  EXPECT_EQ(split("qwen2", "x=123"), words({"x", "=", "1", "2", "3"}));
  EXPECT_EQ(split("qwen2", "Hello, world"), words({"Hello", ",", " world"}));
}

TEST(PreSplit, Qwen35MarksJoinLetters) {
  // e + combining acute: \p{M} joins the letter run in qwen35, not in qwen2.
  EXPECT_EQ(split("qwen35", "cafe\xCC\x81 ok"), words({"cafe\xCC\x81", " ok"}));
  EXPECT_EQ(split("qwen2", "cafe\xCC\x81 ok"), words({"cafe", "\xCC\x81", " ok"}));
}

TEST(PreSplit, Gpt2) {
  EXPECT_EQ(split("gpt-2", "Hello world"), words({"Hello", " world"}));
  EXPECT_EQ(split("gpt-2", "I'M it's"), words({"I", "'", "M", " it", "'s"}));  // contractions: lower case only
  EXPECT_EQ(split("gpt-2", "12345 x"), words({"12345", " x"}));
  EXPECT_EQ(split("gpt-2", "a\n\nb"), words({"a", "\n", "\n", "b"}));
}

TEST(PreSplit, Default) {
  // [\p{P}$+<=>^~|]+ first, then gpt2, then number runs, then ASCII digit triples.
  EXPECT_EQ(split("default", "a+b=c"), words({"a", "+", "b", "=", "c"}));
  EXPECT_EQ(split("default", "x 12345"), words({"x", " ", "123", "45"}));
  EXPECT_EQ(split("default", "Hi, you!"), words({"Hi", ",", " you", "!"}));
}

TEST(PreSplit, DigitsThenGpt2) {
  EXPECT_EQ(split("smollm", "abc123 x"), words({"abc", "1", "2", "3", " x"}));
}

TEST(PreSplit, DeepseekV3) {
  EXPECT_EQ(split("deepseek-v3", "abc 123 \xE4\xBD\xA0\xE5\xA5\xBDworld"),
            words({"abc", " ", "123", " ", "\xE4\xBD\xA0\xE5\xA5\xBD", "world"}));
  EXPECT_EQ(split("deepseek-v3", "Hello, world!"), words({"Hello", ",", " world", "!"}));
  EXPECT_EQ(split("deepseek-v3", "use.Net now"), words({"use", ".Net", " now"}));
  EXPECT_EQ(split("deepseek-v3", "use .Net"), words({"use", " .", "Net"}));
  EXPECT_EQ(split("deepseek-v3", "a  b\n\nc"), words({"a", " ", " b", "\n\n", "c"}));
  EXPECT_EQ(split("deepseek-v3", "12345"), words({"123", "45"}));
}

TEST(PreSplit, InvalidUtf8BecomesReplacementCharacter) {
  // U+FFFD is a symbol, so it starts a word with the letter after it.
  EXPECT_EQ(split("llama-bpe", "a\xFF" "b"), words({"a", "\xEF\xBF\xBD" "b"}));
}

}  // namespace
}  // namespace weblm
