#include "tokenizer/synthetic_vocab.h"

#include <gtest/gtest.h>

#include <set>

#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"
#include "util/error.h"

namespace weblm {
namespace {

const std::string kText =
    "The little girl said: \"Hello, world!\" It's 2024-03-15, 12345678 items at $19.99.\n"
    "def main():\n    print(\"value\")\n\tx = [1, 2, 3]\n\n\n"
    "Caf\xC3\xA9 na\xC3\xAFve \xE4\xBD\xA0\xE5\xA5\xBD\xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x99\x82 \xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82";

TEST(SyntheticVocab, SpmLayout) {
  for (int32_t n : {384, 512, 1000, 4096, 32000}) {
    const Vocab v = make_synthetic_vocab(Vocab::Kind::Spm, n, "default");
    ASSERT_EQ(v.size(), n);
    ASSERT_EQ(v.scores.size(), static_cast<size_t>(n));
    ASSERT_EQ(v.types.size(), static_cast<size_t>(n));
    EXPECT_EQ(v.tokens[0], "<unk>");
    EXPECT_EQ(v.tokens[1], "<s>");
    EXPECT_EQ(v.tokens[2], "</s>");
    EXPECT_EQ(v.type(0), TokenType::Unknown);
    EXPECT_EQ(v.type(1), TokenType::Control);
    EXPECT_EQ(v.tokens[3], "<0x00>");
    EXPECT_EQ(v.tokens[3 + 0x0A], "<0x0A>");
    EXPECT_EQ(v.tokens[258], "<0xFF>");
    for (int i = 3; i < 259; ++i) EXPECT_EQ(v.type(i), TokenType::Byte);
    EXPECT_EQ(v.tokens[259], "\xE2\x96\x81");  // the most frequent character
    EXPECT_EQ(v.tokens[n - 1], "<|endoftext|>");
    EXPECT_EQ(v.type(n - 1), TokenType::Control);
    EXPECT_EQ(v.tokens[v.eot], "<|im_end|>");
    EXPECT_TRUE(v.add_bos);
    EXPECT_TRUE(v.add_space_prefix);
    EXPECT_FALSE(v.chat_template.empty());
    EXPECT_EQ(std::set<std::string>(v.tokens.begin(), v.tokens.end()).size(), v.tokens.size()) << "duplicate tokens";
  }
}

TEST(SyntheticVocab, BpeLayout) {
  for (const char* pre : {"llama-bpe", "qwen2", "gpt-2", "default"}) {
    for (int32_t n : {384, 512, 4096, 32000}) {
      const Vocab v = make_synthetic_vocab(Vocab::Kind::Bpe, n, pre);
      ASSERT_EQ(v.size(), n);
      EXPECT_EQ(v.pre, pre);
      EXPECT_TRUE(v.scores.empty());
      for (int b = 0; b < 256; ++b) {
        std::string s;
        append_utf8(s, byte_to_gpt2_cpt(static_cast<uint8_t>(b)));
        EXPECT_EQ(v.tokens[b], s);
      }
      // Every merge joins two tokens into a token, so llama.cpp never falls back to bytes.
      std::set<std::string> tokens(v.tokens.begin(), v.tokens.end());
      EXPECT_EQ(tokens.size(), v.tokens.size()) << "duplicate tokens";
      for (const std::string& m : v.merges) {
        const size_t space = m.find(' ');
        ASSERT_NE(space, std::string::npos);
        EXPECT_TRUE(tokens.count(m.substr(0, space))) << m;
        EXPECT_TRUE(tokens.count(m.substr(space + 1))) << m;
        EXPECT_TRUE(tokens.count(m.substr(0, space) + m.substr(space + 1))) << m;
      }
      EXPECT_EQ(v.tokens[v.bos], "<|begin_of_text|>");
      EXPECT_EQ(v.tokens[v.eos], "<|end_of_text|>");
      EXPECT_EQ(v.add_bos, std::string(pre) == "llama-bpe");
    }
  }
}

TEST(SyntheticVocab, Deterministic) {
  for (Vocab::Kind kind : {Vocab::Kind::Spm, Vocab::Kind::Bpe}) {
    const Vocab a = make_synthetic_vocab(kind, 2000, "llama-bpe");
    const Vocab b = make_synthetic_vocab(kind, 2000, "llama-bpe");
    EXPECT_EQ(a.tokens, b.tokens);
    EXPECT_EQ(a.scores, b.scores);
    EXPECT_EQ(a.merges, b.merges);
  }
}

TEST(SyntheticVocab, TooSmall) {
  EXPECT_THROW(make_synthetic_vocab(Vocab::Kind::Spm, 200, "default"), Error);
  EXPECT_THROW(make_synthetic_vocab(Vocab::Kind::Bpe, 255, "llama-bpe"), Error);
  EXPECT_THROW(make_synthetic_vocab(Vocab::Kind::Bpe, 1000, "gpt2"), Error);
}

TEST(SyntheticVocab, TokenizesAndRoundTrips) {
  for (Vocab::Kind kind : {Vocab::Kind::Spm, Vocab::Kind::Bpe}) {
    for (const char* pre : {"llama-bpe", "qwen2"}) {
      const Tokenizer small(make_synthetic_vocab(kind, 384, pre));
      const Tokenizer large(make_synthetic_vocab(kind, 4096, pre));
      const std::vector<int32_t> a = small.encode(kText, false, false);
      const std::vector<int32_t> b = large.encode(kText, false, false);
      EXPECT_EQ(small.decode(a, false), kText);
      EXPECT_EQ(large.decode(b, false), kText);
      // Learned pieces compress: more of them, fewer tokens.
      EXPECT_LT(a.size(), kText.size());
      EXPECT_LT(b.size() * 3, a.size() * 2);
      for (int32_t id : b) EXPECT_EQ(large.attributes(id) & kTokenAttrControl, 0u);
      // The chat markers are single control tokens when parsed.
      const std::vector<int32_t> chat = large.encode("<|im_start|>user\nhi<|im_end|>", false, true);
      EXPECT_EQ(large.vocab().tokens[chat.front()], "<|im_start|>");
      EXPECT_EQ(large.vocab().tokens[chat.back()], "<|im_end|>");
      EXPECT_TRUE(large.is_end_of_generation(chat.back()));
      EXPECT_TRUE(large.is_end_of_generation(large.eos()));
    }
  }
}

}  // namespace
}  // namespace weblm
