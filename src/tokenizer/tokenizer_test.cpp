#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include "tokenizer/unicode.h"
#include "util/error.h"

namespace weblm {
namespace {

constexpr int32_t kNormal = static_cast<int32_t>(TokenType::Normal);
constexpr int32_t kControl = static_cast<int32_t>(TokenType::Control);

// A small SPM vocabulary: <unk> <s> </s>, the 256 byte tokens, then the pieces given.
struct SpmVocab {
  Vocab v;
  SpmVocab() {
    v.kind = Vocab::Kind::Spm;
    add("<unk>", 0, TokenType::Unknown);
    add("<s>", 0, TokenType::Control);
    add("</s>", 0, TokenType::Control);
    for (int b = 0; b < 256; ++b) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      add(std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">", 0, TokenType::Byte);
    }
    v.bos = 1, v.eos = 2, v.unk = 0;
    v.add_bos = true, v.add_space_prefix = true;
  }
  int32_t add(std::string text, float score, TokenType type = TokenType::Normal) {
    v.tokens.push_back(std::move(text));
    v.scores.push_back(score);
    v.types.push_back(static_cast<int32_t>(type));
    return v.size() - 1;
  }
  static int32_t byte(uint8_t b) { return 3 + b; }
};

const std::string kSpace = "\xE2\x96\x81";

TEST(SpmTokenizer, MergesByScore) {
  SpmVocab s;
  for (const char* c : {"h", "e", "l", "o", "w", "r", "d"}) s.add(c, -100);
  const int32_t space = s.add(kSpace, -100);
  const int32_t l = 259 + 2, d = 259 + 6;
  s.add("el", -5);
  s.add("ll", -1);
  s.add("he", -2);
  s.add("hell", -3);
  s.add("hello", -4);
  const int32_t space_hello = s.add(kSpace + "hello", -6);
  s.add("or", -7);
  const int32_t wor = s.add("wor", -8);
  const Tokenizer t(s.v);
  // "▁hello▁world": ll, he, hell, hello, ▁hello, or, wor; "▁" and "l", "d" stay single.
  EXPECT_EQ(t.encode("hello world", false, false), (std::vector<int32_t>{space_hello, space, wor, l, d}));
  EXPECT_EQ(t.encode("hello world", true, false), (std::vector<int32_t>{1, space_hello, space, wor, l, d}));
  EXPECT_EQ(t.decode(t.encode("hello world", false, false), false), "hello world");
  // As llama_detokenize without remove_special: the hidden BOS took the first-token strip.
  EXPECT_EQ(t.decode(t.encode("hello world", true, false), false), " hello world");
}

TEST(SpmTokenizer, EqualScoresMergeLeftmostFirst) {
  SpmVocab s;
  s.add("a", 0);
  const int32_t b = s.add("b", 0);
  const int32_t c = s.add("c", 0);
  s.add(kSpace, 0);
  const int32_t ab = s.add("ab", -1);
  const int32_t bc = s.add("bc", -1);
  s.v.add_space_prefix = false;
  const Tokenizer t(s.v);
  EXPECT_EQ(t.encode("abc", false, false), (std::vector<int32_t>{ab, c}));
  EXPECT_EQ(t.encode("bc", false, false), (std::vector<int32_t>{bc}));
  EXPECT_EQ(t.encode("b", false, false), (std::vector<int32_t>{b}));
}

TEST(SpmTokenizer, ByteFallback) {
  SpmVocab s;
  const int32_t space = s.add(kSpace, 0);
  const int32_t x = s.add("x", 0);
  const Tokenizer t(s.v);
  // é and 🙂 have no piece: their UTF-8 bytes become <0xXX> tokens.
  EXPECT_EQ(t.encode("x\xC3\xA9", false, false),
            (std::vector<int32_t>{space, x, SpmVocab::byte(0xC3), SpmVocab::byte(0xA9)}));
  EXPECT_EQ(t.encode("\xF0\x9F\x99\x82", false, false),
            (std::vector<int32_t>{space, SpmVocab::byte(0xF0), SpmVocab::byte(0x9F), SpmVocab::byte(0x99),
                                  SpmVocab::byte(0x82)}));
  // Invalid UTF-8 goes through byte by byte, and decodes back to the same bytes.
  const std::string invalid = "x\xFF\xC3(\x80";
  EXPECT_EQ(t.decode(t.encode(invalid, false, false), false), invalid);
  EXPECT_EQ(t.piece(SpmVocab::byte(0xC3), false), "\xC3");
}

TEST(SpmTokenizer, EmptyText) {
  SpmVocab s;
  s.add(kSpace, 0);
  const Tokenizer t(s.v);
  EXPECT_TRUE(t.encode("", false, true).empty());
  EXPECT_EQ(t.encode("", true, true), std::vector<int32_t>{1});
  EXPECT_EQ(t.decode({}, false), "");
}

TEST(SpmTokenizer, SpecialTokens) {
  SpmVocab s;
  const int32_t space = s.add(kSpace, 0);
  const int32_t h = s.add("h", 0);
  const int32_t i = s.add("i", 0);
  const int32_t space_hi = s.add(kSpace + "hi", -1);
  s.add(kSpace + "h", -2);
  const int32_t tool = s.add("<tool>", 0, TokenType::UserDefined);
  const Tokenizer t(s.v);
  // Control tokens are recognized only with parse_special; text after one gets a space prefix.
  EXPECT_EQ(t.encode("<s>hi", false, true), (std::vector<int32_t>{1, space_hi}));
  std::vector<int32_t> plain = {space};
  for (char c : std::string("<s>")) plain.push_back(SpmVocab::byte(static_cast<uint8_t>(c)));
  plain.push_back(h);
  plain.push_back(i);
  EXPECT_EQ(t.encode("<s>hi", false, false), plain);
  // User-defined tokens are always cut out (and count as special for the space prefix).
  EXPECT_EQ(t.encode("hi<tool>hi", false, false), (std::vector<int32_t>{space_hi, tool, space_hi}));
  EXPECT_EQ(t.encode("hi</s>", false, true), (std::vector<int32_t>{space_hi, 2}));
  // Rendering: control tokens only on request, user-defined always.
  EXPECT_EQ(t.piece(1, false), "");
  EXPECT_EQ(t.piece(1, true), "<s>");
  EXPECT_EQ(t.piece(tool, false), "<tool>");
  EXPECT_EQ(t.decode(std::vector<int32_t>{1, space_hi, tool, 2}, false), " hi<tool>");
  EXPECT_EQ(t.decode(std::vector<int32_t>{1, space_hi, tool, 2}, true), "<s> hi<tool></s>");
  EXPECT_EQ(t.decode(std::vector<int32_t>{space_hi, 2}, true), "hi</s>");
}

TEST(SpmTokenizer, LongestSpecialTokenFirst) {
  SpmVocab s;
  s.add(kSpace, 0);
  const int32_t ab = s.add("<a><b>", 0, TokenType::Control);
  const int32_t a = s.add("<a>", 0, TokenType::Control);
  s.v.add_space_prefix = false;
  const Tokenizer t(s.v);
  EXPECT_EQ(t.encode("<a><b><a>", false, true), (std::vector<int32_t>{ab, a}));
}

TEST(SpmTokenizer, Phi3StripsSpaceAfterSpecialTokens) {
  SpmVocab s;
  const int32_t space = s.add(kSpace, 0);
  s.add("x", 0);
  const int32_t space_x = s.add(kSpace + "x", -1);
  const int32_t user = s.add("<|user|>", 0, TokenType::Control);
  s.add("<|endoftext|>", 0, TokenType::Control);
  {
    const Tokenizer t(s.v);
    EXPECT_EQ(t.encode("<|user|> x", false, true), (std::vector<int32_t>{user, space, space_x}));
  }
  s.v.model_name = "Phi3 mini";
  const Tokenizer t(s.v);
  EXPECT_TRUE(t.attributes(user) & kTokenAttrRstrip);
  EXPECT_FALSE(t.attributes(1) & kTokenAttrRstrip);  // <s> is exempt
  EXPECT_EQ(t.encode("<|user|>  \n x", false, true), (std::vector<int32_t>{user, space_x}));
}

// A small byte-level BPE vocabulary: the 256 GPT-2 byte tokens (id = byte), then merges.
struct BpeVocab {
  Vocab v;
  explicit BpeVocab(std::string pre) {
    v.kind = Vocab::Kind::Bpe;
    v.pre = std::move(pre);
    for (int b = 0; b < 256; ++b) {
      std::string s;
      append_utf8(s, byte_to_gpt2_cpt(static_cast<uint8_t>(b)));
      v.tokens.push_back(s);
    }
  }
  // Adds the merge of two plain-text parts (byte-encoded here) and its result as a token.
  int32_t merge(std::string_view left, std::string_view right, bool add_token = true) {
    v.merges.push_back(gpt2_byte_encode(left) + " " + gpt2_byte_encode(right));
    if (!add_token) return -1;
    v.tokens.push_back(gpt2_byte_encode(std::string(left) + std::string(right)));
    return v.size() - 1;
  }
  int32_t special(std::string text) {
    v.tokens.push_back(std::move(text));
    v.types.resize(v.tokens.size(), kNormal);
    v.types.back() = kControl;
    return v.size() - 1;
  }
  Tokenizer make() {
    v.types.resize(v.tokens.size(), kNormal);
    return Tokenizer(v);
  }
};

TEST(BpeTokenizer, MergesByRank) {
  BpeVocab b("gpt-2");
  b.merge("h", "e");
  b.merge("l", "l");
  b.merge("he", "ll");
  const int32_t hello = b.merge("hell", "o");
  b.merge(" ", "w");
  b.merge("o", "r");
  b.merge(" w", "or");
  b.merge(" wor", "l");
  const int32_t world = b.merge(" worl", "d");
  const Tokenizer t = b.make();
  EXPECT_EQ(t.encode("hello world", false, false), (std::vector<int32_t>{hello, world}));
  EXPECT_EQ(t.encode("hello world", true, false), (std::vector<int32_t>{hello, world}));  // gpt-2: no BOS
  EXPECT_EQ(t.encode("hellO", false, false), (std::vector<int32_t>{b.v.size() - 7, 'O'}));  // "hell" + O
  EXPECT_EQ(t.decode(t.encode("hello world", false, false), false), "hello world");
}

TEST(BpeTokenizer, LowerRankFirst) {
  BpeVocab b("gpt-2");
  const int32_t bc = b.merge("b", "c");
  b.merge("a", "b");
  const Tokenizer t = b.make();
  EXPECT_EQ(t.encode("abc", false, false), (std::vector<int32_t>{'a', bc}));
  EXPECT_EQ(t.encode("ab", false, false), (std::vector<int32_t>{bc + 1}));
}

TEST(BpeTokenizer, IgnoreMergesTakesWholeWords) {
  // llama-bpe: a word that is a token is used whole even if no merge path leads to it.
  BpeVocab b("llama-bpe");
  b.v.tokens.push_back("xyz");
  const int32_t xyz = b.v.size() - 1;
  b.v.bos = b.special("<|begin_of_text|>");
  b.v.add_bos = true;
  const Tokenizer t = b.make();
  EXPECT_EQ(t.encode("xyz", false, false), std::vector<int32_t>{xyz});
  EXPECT_EQ(t.encode("xyz", true, false), (std::vector<int32_t>{b.v.bos, xyz}));
  BpeVocab g("gpt-2");
  g.v.tokens.push_back("xyz");
  EXPECT_EQ(g.make().encode("xyz", false, false), (std::vector<int32_t>{'x', 'y', 'z'}));
}

TEST(BpeTokenizer, MergeResultWithoutTokenDropsBytes) {
  // The merge of é's two byte characters has no token, and its characters' UTF-8 bytes are not
  // single-byte tokens: llama.cpp emits nothing for it.
  BpeVocab b("gpt-2");
  b.merge("\xC3", "\xA9", false);
  const Tokenizer t = b.make();
  EXPECT_EQ(t.encode("a\xC3\xA9", false, false), std::vector<int32_t>{'a'});
  BpeVocab plain("gpt-2");
  EXPECT_EQ(plain.make().encode("a\xC3\xA9", false, false), (std::vector<int32_t>{'a', 0xC3, 0xA9}));
}

TEST(BpeTokenizer, InvalidUtf8IsReplaced) {
  BpeVocab b("llama-bpe");
  const Tokenizer t = b.make();
  EXPECT_EQ(t.encode("\xFF", false, false), (std::vector<int32_t>{0xEF, 0xBF, 0xBD}));
  EXPECT_EQ(t.decode(t.encode("\xFF", false, false), false), "\xEF\xBF\xBD");
}

TEST(BpeTokenizer, SpecialTokensAndEndOfGeneration) {
  BpeVocab b("qwen2");
  const int32_t start = b.special("<|im_start|>");
  const int32_t end = b.special("<|im_end|>");
  b.v.tokens.push_back("<|endoftext|>");  // typed normal: llama.cpp makes it control
  const int32_t eot = b.v.size() - 1;
  b.v.eos = end;
  const Tokenizer t = b.make();
  EXPECT_EQ(t.encode("<|im_start|>hi<|im_end|>", false, true), (std::vector<int32_t>{start, 'h', 'i', end}));
  const std::vector<int32_t> literal = t.encode("<|im_start|>", false, false);
  EXPECT_EQ(literal.size(), 12u);
  EXPECT_TRUE(t.attributes(eot) & kTokenAttrControl);
  EXPECT_EQ(t.encode("<|endoftext|>", false, true), std::vector<int32_t>{eot});
  EXPECT_TRUE(t.is_end_of_generation(end));
  EXPECT_TRUE(t.is_end_of_generation(eot));
  EXPECT_FALSE(t.is_end_of_generation(start));
  EXPECT_FALSE(t.is_end_of_generation('a'));
  EXPECT_EQ(t.eot(), eot);  // found by text: the highest id of <|im_end|>, <|endoftext|>
  EXPECT_EQ(t.decode(std::vector<int32_t>{start, 'h', end}, false), "h");
  EXPECT_EQ(t.decode(std::vector<int32_t>{start, 'h', end}, true), "<|im_start|>h<|im_end|>");
}

TEST(BpeTokenizer, CleanSpacesLikeLlamaCpp) {
  BpeVocab llama("llama-bpe");
  BpeVocab qwen("qwen2");
  const std::string text = "Hi , you . It ' s 'm here ?";
  const Tokenizer l = llama.make();
  const Tokenizer q = qwen.make();
  EXPECT_EQ(l.decode(l.encode(text, false, false), false), "Hi, you. It's'm here?");
  EXPECT_EQ(q.decode(q.encode(text, false, false), false), text);
}

TEST(BpeTokenizer, PieceOfNonAlphabetCharacter) {
  BpeVocab b("gpt-2");
  b.v.tokens.push_back("a\xE4\xB8\xAD");  // 中 is not in GPT-2's byte alphabet
  const Tokenizer t = b.make();
  EXPECT_EQ(t.piece(b.v.size() - 1, false), "a[UNK_BYTE_0xe4b8ada\xE4\xB8\xAD]");
  EXPECT_THROW(t.piece(b.v.size(), false), Error);
  EXPECT_THROW(t.piece(-1, false), Error);
}

TEST(Tokenizer, RejectsBadVocabularies) {
  Vocab empty;
  EXPECT_THROW(Tokenizer{empty}, Error);
  BpeVocab unknown_pre("gpt2");
  EXPECT_THROW(unknown_pre.make(), Error);
  BpeVocab bad_id("gpt-2");
  bad_id.v.eos = 1000;
  EXPECT_THROW(bad_id.make(), Error);
}

TEST(StreamDecoder, HoldsSplitCharacters) {
  BpeVocab b("gpt-2");
  const Tokenizer t = b.make();
  StreamDecoder d(t);
  EXPECT_EQ(d.push('a'), "a");
  EXPECT_EQ(d.push(0xC3), "");
  EXPECT_EQ(d.push(0xA9), "\xC3\xA9");
  const std::string emoji = "\xF0\x9F\x99\x82";
  for (size_t i = 0; i + 1 < emoji.size(); ++i) EXPECT_EQ(d.push(static_cast<uint8_t>(emoji[i])), "");
  EXPECT_EQ(d.push(static_cast<uint8_t>(emoji.back())), emoji);
  EXPECT_EQ(d.finish(), "");
}

TEST(StreamDecoder, ReplacesInvalidBytes) {
  BpeVocab b("gpt-2");
  const Tokenizer t = b.make();
  StreamDecoder d(t);
  EXPECT_EQ(d.push(0xFF), "\xEF\xBF\xBD");
  EXPECT_EQ(d.push(0xE4), "");
  EXPECT_EQ(d.push('x'), "\xEF\xBF\xBDx");  // the unfinished character, then x
  EXPECT_EQ(d.push(0xE4), "");
  EXPECT_EQ(d.finish(), "\xEF\xBF\xBD");
}

TEST(StreamDecoder, ConcatenationEqualsDecodeForValidText) {
  SpmVocab s;
  s.add(kSpace, 0);
  const Tokenizer t(s.v);
  const std::string text = "caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x9A\x80!";
  const std::vector<int32_t> ids = t.encode(text, false, false);
  StreamDecoder d(t);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string chunk = d.push(id);
    EXPECT_EQ(utf8_valid_prefix(chunk).valid, chunk.size());
    streamed += chunk;
  }
  streamed += d.finish();
  EXPECT_EQ(streamed, " " + text);  // streaming keeps the SPM prefix space; decode drops it
  EXPECT_EQ(t.decode(ids, false), text);
}

}  // namespace
}  // namespace weblm
