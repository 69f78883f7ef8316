#include "tokenizer/synthetic_vocab.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <span>
#include <unordered_map>
#include <utility>

#include "tokenizer/pretokenize.h"
#include "tokenizer/unicode.h"
#include "util/error.h"

namespace weblm {

namespace {

// The training text: prose, chat phrases, code, numbers and a little of several scripts, so that
// test prompts in any of them meet learned pieces, single characters and byte fallback.
constexpr std::string_view kCorpus = R"(The quick brown fox jumps over the lazy dog. The dog does not mind.
Once upon a time, there was a little girl who lived in a village near the forest. Whenever she went out,
the little girl wore a red riding cloak, so everyone in the village called her Little Red Riding Hood.
One morning, she asked her mother if she could go to visit her grandmother, as it had been a while since
they had seen each other. "That's a good idea," her mother said. "But don't stray from the path!"
User: Hello! Can you help me write a short poem about the sea?
Assistant: Of course. Here is a short poem: The sea is wide, the sea is deep, it sings the sailors off to sleep.
User: What is the capital of France? Assistant: The capital of France is Paris. I'm happy to help; you're welcome.
We've been there, they'll be here, she'd know, it's true, I'll see. Isn't it? Yes, it is. No, it isn't.
Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100 256 1024 2024 3.14159 2.71828 1,000,000 12345678901234567890.
The meeting is at 10:30 on 2024-03-15; the price is $19.99 (about 18 EUR), a 25% discount.
def main():
    values = [1, 2, 3]
    for value in values:
        print(f"value = {value}")
    return 0

int main(int argc, char** argv) {
    for (int i = 0; i < argc; ++i) { printf("%s\n", argv[i]); }
    return 0;
}
{"name": "weblm", "version": "1.0.0", "tokens": [1, 2, 3], "ok": true}
<html><body><p>Hello, world!</p></body></html>
Café crème brûlée, naïve façade, été, à la carte. Müller über Straße schön größer.
El niño come una manzana. ¿Dónde está la estación? ¡Buenos días, señor!
Καλημέρα κόσμε. Привет, как дела? Хорошо, спасибо.
你好，世界！我们今天学习中文。中文很有意思。
こんにちは、元気ですか？ 안녕하세요. 🙂 🚀 ✅
The end. Thank you for reading, and have a nice day!
)";

constexpr std::string_view kChatMl =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' "
    "+ '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// Byte-pair training: words are sequences of symbol ids with a count; each step merges the most
// frequent adjacent pair (ties: smallest ids), until `max_merges` or no pair is left. Symbols
// with id < 0 never merge.
struct Merge {
  int left, right;
};
std::vector<Merge> train_bpe(std::map<std::vector<int>, int> words, int next_id, int max_merges) {
  std::vector<Merge> merges;
  std::vector<std::pair<std::vector<int>, int>> list(words.begin(), words.end());
  while (static_cast<int>(merges.size()) < max_merges) {
    std::map<std::pair<int, int>, int> pairs;
    for (const auto& [w, count] : list) {
      for (size_t i = 1; i < w.size(); ++i) {
        if (w[i - 1] >= 0 && w[i] >= 0) pairs[{w[i - 1], w[i]}] += count;
      }
    }
    if (pairs.empty()) break;
    const auto best = std::max_element(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) {
      return a.second < b.second;  // max_element keeps the first of equal counts: smallest pair
    });
    const auto [l, r] = best->first;
    merges.push_back({l, r});
    const int id = next_id++;
    for (auto& [w, count] : list) {
      std::vector<int> merged;
      merged.reserve(w.size());
      for (size_t i = 0; i < w.size(); ++i) {
        if (i + 1 < w.size() && w[i] == l && w[i + 1] == r) {
          merged.push_back(id);
          ++i;
        } else {
          merged.push_back(w[i]);
        }
      }
      w = std::move(merged);
    }
  }
  return merges;
}

struct Builder {
  Vocab v;
  std::unordered_map<std::string, int32_t> ids;

  int32_t add(std::string text, TokenType type, float score = 0.f) {
    const auto [it, inserted] = ids.emplace(text, v.size());
    if (!inserted) return it->second;
    v.tokens.push_back(std::move(text));
    v.types.push_back(static_cast<int32_t>(type));
    v.scores.push_back(score);
    return it->second;
  }

  // Pads with unused tokens to `n` minus the specials still to come, then adds them.
  void finish(int32_t n_vocab, std::span<const std::string_view> specials) {
    while (v.size() + static_cast<int32_t>(specials.size()) < n_vocab) {
      v.tokens.push_back(str_cat("[PAD", v.size(), "]"));
      v.types.push_back(static_cast<int32_t>(TokenType::Unused));
      v.scores.push_back(0.f);
    }
    for (std::string_view s : specials) add(std::string(s), TokenType::Control);
  }
};

Vocab synthetic_spm(int32_t n_vocab) {
  static constexpr std::string_view kSpecials[] = {"<|im_start|>", "<|im_end|>", "<|endoftext|>"};
  const int32_t budget = n_vocab - 259 - static_cast<int32_t>(std::size(kSpecials));
  if (budget < 1) fail("synthetic SPM vocabulary: n_vocab ", n_vocab, " is below the minimum of ", n_vocab - budget + 1);
  Builder b;
  b.add("<unk>", TokenType::Unknown);
  b.add("<s>", TokenType::Control);
  b.add("</s>", TokenType::Control);
  for (int byte = 0; byte < 256; ++byte) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    b.add(str_cat("<0x", kHex[byte >> 4], kHex[byte & 15], ">"), TokenType::Byte);
  }

  // SentencePiece-style words: each whitespace-separated word with a leading U+2581.
  const std::vector<uint32_t> cpts = decode_utf8(kCorpus);
  constexpr uint32_t kMarker = 0x2581;
  std::vector<std::vector<uint32_t>> words;
  for (uint32_t c : cpts) {
    if (is_whitespace(c)) {
      words.push_back({kMarker});
    } else {
      if (words.empty()) words.push_back({kMarker});
      words.back().push_back(c);
    }
  }
  std::map<uint32_t, int> char_count;
  for (const auto& w : words) {
    for (uint32_t c : w) ++char_count[c];
  }
  std::vector<std::pair<int, uint32_t>> by_count;
  for (const auto& [c, n] : char_count) by_count.push_back({-n, c});
  std::sort(by_count.begin(), by_count.end());
  const size_t n_chars = std::min<size_t>(by_count.size(), std::max(1, budget / 2));

  // Symbol ids for training: index into `chars`; characters left out become -1 (byte fallback).
  std::map<uint32_t, int> char_index;
  std::vector<std::string> piece_text;
  for (size_t i = 0; i < n_chars; ++i) {
    char_index[by_count[i].second] = static_cast<int>(i);
    std::string s;
    append_utf8(s, by_count[i].second);
    piece_text.push_back(s);
  }
  std::map<std::vector<int>, int> train_words;
  for (const auto& w : words) {
    std::vector<int> ids;
    for (uint32_t c : w) {
      const auto it = char_index.find(c);
      ids.push_back(it == char_index.end() ? -1 : it->second);
    }
    ++train_words[ids];
  }
  const int32_t max_merges = budget - static_cast<int32_t>(n_chars);
  const std::vector<Merge> merges = train_bpe(std::move(train_words), static_cast<int>(n_chars), max_merges);
  // Pieces score by merge order (earlier = higher), above all single characters, as SentencePiece's
  // BPE trainer scores them; SPM's best-score-first merging then replays the training.
  for (size_t i = 0; i < merges.size(); ++i) piece_text.push_back(piece_text[merges[i].left] + piece_text[merges[i].right]);
  for (size_t i = 0; i < n_chars; ++i) b.add(piece_text[i], TokenType::Normal, -static_cast<float>(merges.size() + i));
  for (size_t i = 0; i < merges.size(); ++i) b.add(piece_text[n_chars + i], TokenType::Normal, -static_cast<float>(i));
  b.finish(n_vocab, kSpecials);

  Vocab& v = b.v;
  v.kind = Vocab::Kind::Spm;
  v.pre = "default";
  v.bos = 1, v.eos = 2, v.unk = 0;
  v.eot = b.ids.at("<|im_end|>");
  v.add_bos = true, v.add_space_prefix = true;
  v.chat_template = std::string(kChatMl);
  return std::move(b.v);
}

Vocab synthetic_bpe(int32_t n_vocab, std::string pre) {
  const std::optional<BpePreset> preset = find_bpe_preset(pre);
  if (!preset) fail("synthetic BPE vocabulary: unknown or unsupported pre-tokenizer '", pre, "'");
  static constexpr std::string_view kSpecials[] = {"<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>",
                                                   "<|im_end|>", "<|endoftext|>"};
  const int32_t budget = n_vocab - 256 - static_cast<int32_t>(std::size(kSpecials));
  if (budget < 0) fail("synthetic BPE vocabulary: n_vocab ", n_vocab, " is below the minimum of ", n_vocab - budget);
  Builder b;
  std::vector<std::string> text;
  for (int byte = 0; byte < 256; ++byte) {
    std::string s;
    append_utf8(s, byte_to_gpt2_cpt(static_cast<uint8_t>(byte)));
    b.add(s, TokenType::Normal);
    text.push_back(s);
  }
  std::map<std::vector<int>, int> train_words;
  for (const std::string& word : bpe_pre_split(kCorpus, preset->split)) {
    std::vector<int> ids;
    for (uint32_t c : decode_utf8(word)) ids.push_back(gpt2_cpt_to_byte(c));
    ++train_words[ids];
  }
  // Two merges can spell the same token; train until the token budget is used or nothing is left.
  std::vector<Merge> merges = train_bpe(train_words, 256, budget * 2);
  for (const Merge& m : merges) {
    text.push_back(text[m.left] + text[m.right]);
    if (b.v.size() < 256 + budget) {
      b.add(text.back(), TokenType::Normal);
      b.v.merges.push_back(text[m.left] + " " + text[m.right]);
    }
  }
  b.finish(n_vocab, kSpecials);

  Vocab& v = b.v;
  v.kind = Vocab::Kind::Bpe;
  v.pre = std::move(pre);
  v.scores.clear();
  v.bos = b.ids.at("<|begin_of_text|>");
  v.eos = b.ids.at("<|end_of_text|>");
  v.eot = b.ids.at("<|im_end|>");
  v.add_bos = preset->add_bos;
  v.chat_template = std::string(kChatMl);
  return std::move(b.v);
}

}  // namespace

Vocab make_synthetic_vocab(Vocab::Kind kind, int32_t n_vocab, std::string pre) {
  return kind == Vocab::Kind::Spm ? synthetic_spm(n_vocab) : synthetic_bpe(n_vocab, std::move(pre));
}

}  // namespace weblm
