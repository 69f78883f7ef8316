#include "tokenizer/vocab.h"

#include <gtest/gtest.h>

#include "format/gguf.h"
#include "tokenizer/synthetic_vocab.h"
#include "util/error.h"

namespace weblm {
namespace {

// Writes keys into a GGUF in memory and reads it back; `bytes` must outlive the file.
GgufFile reparse(const GgufWriter& w, std::vector<uint8_t>& bytes) {
  bytes = w.to_bytes();
  return GgufFile::parse(bytes, "test.gguf");
}

TEST(Vocab, GgufRoundTrip) {
  for (Vocab::Kind kind : {Vocab::Kind::Spm, Vocab::Kind::Bpe}) {
    Vocab v = make_synthetic_vocab(kind, 600, "qwen2");
    v.pad = 5;
    v.add_eos = true;
    GgufWriter w;
    v.write_gguf(w);
    w.set("general.name", GgufValue::of_string("round trip"));
    std::vector<uint8_t> bytes;
    const Vocab r = Vocab::from_gguf(reparse(w, bytes));
    EXPECT_EQ(r.kind, v.kind);
    EXPECT_EQ(r.pre, v.pre);
    EXPECT_EQ(r.tokens, v.tokens);
    EXPECT_EQ(r.scores, v.scores);
    EXPECT_EQ(r.types, v.types);
    EXPECT_EQ(r.merges, v.merges);
    EXPECT_EQ(r.bos, v.bos);
    EXPECT_EQ(r.eos, v.eos);
    EXPECT_EQ(r.unk, v.unk);
    EXPECT_EQ(r.pad, 5);
    EXPECT_EQ(r.eot, v.eot);
    EXPECT_EQ(r.add_bos, v.add_bos);
    EXPECT_TRUE(r.add_eos);
    EXPECT_EQ(r.add_space_prefix, v.add_space_prefix);
    EXPECT_EQ(r.chat_template, v.chat_template);
    EXPECT_EQ(r.model_name, "round trip");
  }
}

TEST(Vocab, LlamaCppDefaults) {
  // An SPM file naming no special ids gets 1/2/0 and adds BOS with a space prefix.
  GgufWriter spm;
  spm.set("tokenizer.ggml.model", GgufValue::of_string("llama"));
  spm.set("tokenizer.ggml.tokens", GgufValue::of_strings({"<unk>", "<s>", "</s>", "a"}));
  std::vector<uint8_t> bytes;
  Vocab v = Vocab::from_gguf(reparse(spm, bytes));
  EXPECT_EQ(v.kind, Vocab::Kind::Spm);
  EXPECT_EQ(v.pre, "default");
  EXPECT_EQ(v.bos, 1);
  EXPECT_EQ(v.eos, 2);
  EXPECT_EQ(v.unk, 0);
  EXPECT_EQ(v.eot, -1);
  EXPECT_TRUE(v.add_bos);
  EXPECT_FALSE(v.add_eos);
  EXPECT_TRUE(v.add_space_prefix);
  EXPECT_TRUE(v.scores.empty());
  EXPECT_EQ(v.type(3), TokenType::Normal);

  // BPE: BOS and EOS default to id 11, dropped when the vocabulary is smaller; llama-bpe adds BOS.
  GgufWriter bpe;
  bpe.set("tokenizer.ggml.model", GgufValue::of_string("gpt2"));
  bpe.set("tokenizer.ggml.pre", GgufValue::of_string("llama-bpe"));
  bpe.set("tokenizer.ggml.tokens", GgufValue::of_strings({"a", "b", "ab"}));
  bpe.set("tokenizer.ggml.merges", GgufValue::of_strings({"a b"}));
  bpe.set("tokenizer.ggml.eos_token_id", GgufValue::of_u32(2));
  bpe.set("tokenizer.ggml.padding_token_id", GgufValue::of_u32(99));  // out of range: ignored
  v = Vocab::from_gguf(reparse(bpe, bytes));
  EXPECT_EQ(v.kind, Vocab::Kind::Bpe);
  EXPECT_EQ(v.bos, -1);
  EXPECT_EQ(v.eos, 2);
  EXPECT_EQ(v.pad, -1);
  EXPECT_TRUE(v.add_bos);
  EXPECT_FALSE(v.add_space_prefix);
  bpe.set("tokenizer.ggml.add_bos_token", GgufValue::of_bool(false));
  EXPECT_FALSE(Vocab::from_gguf(reparse(bpe, bytes)).add_bos);
}

TEST(Vocab, ErrorsNameTheKey) {
  const auto error_of = [](const GgufWriter& w) {
    std::vector<uint8_t> bytes;
    try {
      Vocab::from_gguf(reparse(w, bytes));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  GgufWriter w;
  EXPECT_NE(error_of(w).find("tokenizer.ggml.model"), std::string::npos);
  w.set("tokenizer.ggml.model", GgufValue::of_string("llama"));
  EXPECT_NE(error_of(w).find("tokenizer.ggml.tokens"), std::string::npos);
  w.set("tokenizer.ggml.tokens", GgufValue::of_strings({"a", "b"}));
  w.set("tokenizer.ggml.scores", GgufValue::of_f32s({0.f}));
  EXPECT_NE(error_of(w).find("tokenizer.ggml.scores"), std::string::npos);
  w.set("tokenizer.ggml.scores", GgufValue::of_f32s({0.f, 1.f}));
  w.set("tokenizer.ggml.model", GgufValue::of_string("gpt2"));
  EXPECT_NE(error_of(w).find("tokenizer.ggml.merges"), std::string::npos);
  w.set("tokenizer.ggml.merges", GgufValue::of_strings({}));
  w.set("tokenizer.ggml.pre", GgufValue::of_string("gpt2"));  // llama.cpp spells it gpt-2
  EXPECT_NE(error_of(w).find("tokenizer.ggml.pre"), std::string::npos);
  w.set("tokenizer.ggml.model", GgufValue::of_string("t5"));
  EXPECT_NE(error_of(w).find("t5"), std::string::npos);
}

}  // namespace
}  // namespace weblm
