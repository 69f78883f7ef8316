// libFuzzer target for the tokenizers. The first byte picks what the rest is:
//   0: text for the synthetic SPM and BPE tokenizers (several pre-tokenizers), with and without
//      special-token parsing; valid UTF-8 must decode back to itself (SPM: if it has no U+2581,
//      which decodes as a space; BPE: with a pre-tokenizer that does not clean up spaces), and
//      streamed decoding must always be well-formed UTF-8. (Invalid UTF-8 need not round-trip:
//      an invalid lead byte can swallow the first bytes of an escaped space, as in llama.cpp.)
//   1: a tokenizer.json (vocab_from_hf_json), then used to tokenize a fixed text;
//   2: a SentencePiece tokenizer.model (vocab_from_sentencepiece), likewise.
// Every failure must be a weblm::Error; crashes, sanitizer reports and broken invariants are bugs.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "tokenizer/hf_vocab.h"
#include "tokenizer/synthetic_vocab.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"
#include "util/error.h"

namespace {

struct Tokenizers {
  weblm::Tokenizer spm{weblm::make_synthetic_vocab(weblm::Vocab::Kind::Spm, 1000, "default")};
  std::vector<std::unique_ptr<weblm::Tokenizer>> bpe;
  Tokenizers() {
    for (const char* pre : {"qwen2", "llama-bpe", "gpt-2", "default", "smollm", "qwen35", "deepseek-v3"}) {
      bpe.push_back(std::make_unique<weblm::Tokenizer>(weblm::make_synthetic_vocab(weblm::Vocab::Kind::Bpe, 1000, pre)));
    }
  }
};

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool valid_utf8(std::string_view s) { return weblm::utf8_valid_prefix(s).valid == s.size(); }

void stream_is_utf8(const weblm::Tokenizer& t, const std::vector<int32_t>& ids) {
  weblm::StreamDecoder d(t, true);
  for (int32_t id : ids) check(valid_utf8(d.push(id)));
  check(valid_utf8(d.finish()));
}

void fuzz_text(std::string_view text) {
  static const Tokenizers tokenizers;
  const bool utf8 = valid_utf8(text);
  for (bool parse_special : {false, true}) {
    const std::vector<int32_t> ids = tokenizers.spm.encode(text, true, parse_special);
    const std::vector<int32_t> plain = tokenizers.spm.encode(text, false, false);
    if (utf8 && text.find("\xE2\x96\x81") == std::string_view::npos) check(tokenizers.spm.decode(plain, false) == text);
    stream_is_utf8(tokenizers.spm, ids);
    for (const auto& bpe : tokenizers.bpe) {
      const std::vector<int32_t> b = bpe->encode(text, true, parse_special);
      const std::string back = bpe->decode(b, parse_special);
      if (!parse_special && bpe.get() == tokenizers.bpe.front().get() && utf8) check(back == text);
      stream_is_utf8(*bpe, b);
    }
  }
}

void use(const weblm::Vocab& v) {
  if (v.size() > 20000) return;  // too slow to build per input; parsing was the point
  const weblm::Tokenizer t(v);
  const std::vector<int32_t> ids = t.encode(" Hello, w\xC3\xB6rld! 123 <s> <|im_end|>\n\n", true, true);
  for (int32_t id : ids) check(id >= 0 && id < t.size());
  stream_is_utf8(t, ids);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    switch (data[0] % 3) {
      case 0: fuzz_text(rest); break;
      case 1: use(weblm::vocab_from_hf_json(rest)); break;
      case 2: use(weblm::vocab_from_sentencepiece({data + 1, size - 1})); break;
    }
  } catch (const weblm::Error&) {
  }
  return 0;
}
