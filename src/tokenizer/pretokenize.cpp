#include "tokenizer/pretokenize.h"

#include <algorithm>
#include <array>
#include <utility>

#include "tokenizer/unicode.h"

namespace weblm {

std::optional<BpePreset> find_bpe_preset(std::string_view pre) {
  struct Entry {
    std::string_view name;
    BpePreset preset;
  };
  using P = PreSplit;
  // From llama_vocab::impl::load (llama.cpp v0.5.0): name -> regexes and flags.
  static constexpr std::array kPresets = {
      Entry{"", {P::Default}},
      Entry{"default", {P::Default}},
      Entry{"llama3", {P::Llama3, true, true, true}},
      Entry{"llama-v3", {P::Llama3, true, true, true}},
      Entry{"llama-bpe", {P::Llama3, true, true, true}},
      Entry{"falcon3", {P::Llama3, true, true, true}},
      Entry{"falcon-h1", {P::Llama3, true, true, true}},
      Entry{"pixtral", {P::Llama3, true, true, true}},
      Entry{"midm-2.0", {P::Llama3, true, true, true}},
      Entry{"lfm2", {P::Llama3, true, true, true}},
      Entry{"jina-v5-nano", {P::Llama3, true, true, true}},
      Entry{"dbrx", {P::Llama3}},
      Entry{"smaug-bpe", {P::Llama3}},
      Entry{"glm4", {P::Llama3, false, true, false, true}},
      Entry{"chatglm-bpe", {P::Llama3, false, true, false, true}},
      Entry{"gpt-2", {P::Gpt2}},
      Entry{"phi-2", {P::Gpt2}},
      Entry{"mpt", {P::Gpt2}},
      Entry{"olmo", {P::Gpt2}},
      Entry{"jais", {P::Gpt2}},
      Entry{"exaone4", {P::Gpt2}},
      Entry{"gigachat", {P::Gpt2}},
      Entry{"a.x-4.0", {P::Gpt2}},
      Entry{"mellum", {P::Gpt2}},
      Entry{"trillion", {P::Gpt2, false, false}},
      Entry{"granite-docling", {P::Gpt2, false, false}},
      Entry{"qwen2", {P::Qwen2, false, false}},
      Entry{"deepseek-r1-qwen", {P::Qwen2, false, false}},
      Entry{"kormo", {P::Qwen2, false, false}},
      Entry{"f2llmv2", {P::Qwen2, false, false}},
      Entry{"hunyuan", {P::Qwen2, false, false}},
      Entry{"grok-2", {P::Qwen2, false, false}},
      Entry{"solar-open", {P::Qwen2, false, false}},
      Entry{"stablelm2", {P::Qwen2}},
      Entry{"megrez", {P::Qwen2}},
      Entry{"qwen35", {P::Qwen35, false, false}},
      Entry{"starcoder", {P::DigitsGpt2}},
      Entry{"refact", {P::DigitsGpt2}},
      Entry{"codeshell", {P::DigitsGpt2}},
      Entry{"exaone", {P::DigitsGpt2}},
      Entry{"minerva-7b", {P::DigitsGpt2}},
      Entry{"mellum2", {P::DigitsGpt2}},
      Entry{"command-r", {P::DigitsGpt2, false, false}},
      Entry{"smollm", {P::DigitsGpt2, false, false}},
      Entry{"deepseek-v3", {P::DeepseekV3, false, false}},
      Entry{"hunyuan-dense", {P::DeepseekV3, false, false}},
      Entry{"joyai-llm", {P::DeepseekV3, false, false}},
      Entry{"hy_v4", {P::DeepseekV3, false, false}},
  };
  for (const Entry& e : kPresets) {
    if (e.name == pre) return e.preset;
  }
  return std::nullopt;
}

namespace {

constexpr uint32_t kOutOfSpan = 0xFFFFFFFF;

// Per code point: its class as bits, so that "letter or number" is one mask test.
enum : uint8_t {
  kInSpan = 1,  // set for every code point; 0 means "past the span" (llama.cpp's empty flags)
  kNumber = 2,
  kLetter = 4,
  kMark = 8,
  kPunct = 16,
  kSymbol = 32,
  kSpace = 64,
};

uint8_t flags_of(uint32_t cpt) {
  uint8_t f = kInSpan;
  switch (char_class(cpt)) {
    case CharClass::Number: f |= kNumber; break;
    case CharClass::Letter: f |= kLetter; break;
    case CharClass::Mark: f |= kMark; break;
    case CharClass::Punctuation: f |= kPunct; break;
    case CharClass::Symbol: f |= kSymbol; break;
    default: break;
  }
  if (is_whitespace(cpt)) f |= kSpace;
  return f;
}

bool is_cr_lf(uint32_t c) { return c == '\r' || c == '\n'; }

uint32_t ascii_lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

// The text as code points, and the split so far as lengths of consecutive spans.
class Splitter {
 public:
  explicit Splitter(std::string_view text) : cpts_(decode_utf8(text)) {
    flags_.reserve(cpts_.size());
    for (uint32_t c : cpts_) flags_.push_back(flags_of(c));
    if (!cpts_.empty()) spans_.push_back(cpts_.size());
  }

  // Re-splits every span with a scanner: scan(span_begin, span_end, emit) calls emit(length)
  // for consecutive pieces that cover the span.
  template <class Scan>
  void resplit(Scan scan) {
    std::vector<size_t> out;
    out.reserve(spans_.size() * 2);
    size_t start = 0;
    for (size_t len : spans_) {
      scan(start, start + len, [&](size_t n) {
        if (n > 0) out.push_back(n);
      });
      start += len;
    }
    spans_ = std::move(out);
  }

  // Re-splits as a regex search does: match(pos, end) is the length of the match at pos (0: none);
  // matches and the text between them become spans.
  template <class Match>
  void resplit_matches(Match match) {
    resplit([&](size_t begin, size_t end, auto emit) {
      size_t gap = begin;
      size_t pos = begin;
      while (pos < end) {
        const size_t n = match(pos, end);
        if (n == 0) {
          ++pos;
          continue;
        }
        emit(pos - gap);
        emit(n);
        pos += n;
        gap = pos;
      }
      emit(end - gap);
    });
  }

  // The span splits of llama.cpp's hand-written scanners (unicode.cpp).
  void gpt2();
  void llama3_like(PreSplit variant);

  std::vector<std::string> words() const {
    std::vector<std::string> out;
    out.reserve(spans_.size());
    size_t start = 0;
    std::string utf8;
    for (size_t len : spans_) {
      utf8.clear();
      for (size_t i = start; i < start + len; ++i) append_utf8(utf8, cpts_[i]);
      out.push_back(gpt2_byte_encode(utf8));
      start += len;
    }
    return out;
  }

  uint32_t cpt(size_t i) const { return cpts_[i]; }
  uint8_t flags(size_t i) const { return flags_[i]; }

 private:
  std::vector<uint32_t> cpts_;
  std::vector<uint8_t> flags_;
  std::vector<size_t> spans_;
};

// A view of one span in which positions past its end read as "nothing" (code point kOutOfSpan,
// flags 0), as the scanners expect.
struct SpanView {
  const Splitter& s;
  size_t end;
  uint32_t cpt(size_t i) const { return i < end ? s.cpt(i) : kOutOfSpan; }
  uint8_t flags(size_t i) const { return i < end ? s.flags(i) : 0; }
};

// 's 't 'm 'd 're 've 'll at pos (case-folded if asked): its length, or 0.
size_t contraction_at(const SpanView& v, size_t pos, bool fold_case) {
  if (v.cpt(pos) != '\'' || pos + 1 >= v.end) return 0;
  const auto lower = [&](uint32_t c) { return fold_case ? ascii_lower(c) : c; };
  const uint32_t a = lower(v.cpt(pos + 1));
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (pos + 2 >= v.end) return 0;
  const uint32_t b = lower(v.cpt(pos + 2));
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

// Whitespace handling shared by the scanners: \s+(?!\S) then \s+. Returns the end of the piece.
size_t whitespace_piece(const SpanView& v, size_t pos, size_t n_space) {
  if (n_space > 1 && v.cpt(pos + n_space) != kOutOfSpan) return pos + n_space - 1;
  if (n_space > 0) return pos + n_space;
  return pos + 1;  // no rule matched: one code point on its own
}

void Splitter::gpt2() {
  resplit([&](size_t begin, size_t end, auto emit) {
    const SpanView v{*this, end};
    size_t pos = begin;
    size_t piece_start = begin;
    const auto cut = [&](size_t at) {
      emit(at - piece_start);
      piece_start = at;
    };
    while (pos < end) {
      if (const size_t n = contraction_at(v, pos, false)) {
        pos += n;
        cut(pos);
        continue;
      }
      const uint32_t c = v.cpt(pos);
      const size_t body = pos + (c == ' ');  // " ?" before letters, numbers, other
      const uint8_t f = v.flags(body);
      if (f & kLetter) {
        pos = body;
        while (v.flags(pos) & kLetter) ++pos;
        cut(pos);
        continue;
      }
      if (f & kNumber) {
        pos = body;
        while (v.flags(pos) & kNumber) ++pos;
        cut(pos);
        continue;
      }
      const auto other = [](uint8_t g) { return (g & kInSpan) && !(g & (kSpace | kLetter | kNumber)); };
      if (other(f)) {
        pos = body;
        while (other(v.flags(pos))) ++pos;
        cut(pos);
        continue;
      }
      size_t n_space = 0;
      while (v.flags(pos + n_space) & kSpace) ++n_space;
      pos = whitespace_piece(v, pos, n_space);
      cut(pos);
    }
  });
}

void Splitter::llama3_like(PreSplit variant) {
  const bool marks_join_letters = variant == PreSplit::Qwen35;
  const uint8_t word = marks_join_letters ? (kLetter | kMark) : kLetter;
  resplit([&](size_t begin, size_t end, auto emit) {
    const SpanView v{*this, end};
    size_t pos = begin;
    size_t piece_start = begin;
    const auto cut = [&](size_t at) {
      emit(at - piece_start);
      piece_start = at;
    };
    while (pos < end) {
      if (const size_t n = contraction_at(v, pos, true)) {
        pos += n;
        cut(pos);
        continue;
      }
      const uint32_t c = v.cpt(pos);
      const uint8_t f = v.flags(pos);
      // [^\r\n\p{L}\p{N}]?\p{L}+ (a letter here takes the optional slot and still counts)
      if (!is_cr_lf(c) && !(f & kNumber) && ((f & word) || (v.flags(pos + 1) & word))) {
        ++pos;
        while (v.flags(pos) & word) ++pos;
        cut(pos);
        continue;
      }
      if (f & kNumber) {
        if (variant == PreSplit::Llama3) {  // \p{N}{1,3}
          size_t group = pos;
          while (v.flags(pos) & kNumber) {
            if (++pos - group >= 3) {
              cut(pos);
              group = pos;
            }
          }
        } else {  // \p{N}
          ++pos;
        }
        cut(pos);
        continue;
      }
      // " ?[^\s\p{L}\p{N}]+[\r\n]*" (llama.cpp tests the flags of the code point after the
      // optional space, but only requires the one at pos to exist)
      const uint8_t excluded = kSpace | word | kNumber;
      const uint8_t f2 = c == ' ' ? v.flags(pos + 1) : f;
      if (!(f2 & excluded)) {
        pos += (c == ' ');
        while ((v.flags(pos) & kInSpan) && !(v.flags(pos) & excluded)) ++pos;
        while (is_cr_lf(v.cpt(pos))) ++pos;
        cut(pos);
        continue;
      }
      // \s*[\r\n]+ : through the last CR/LF of the whitespace run
      size_t n_space = 0;
      size_t after_last_cr_lf = 0;
      while (v.flags(pos + n_space) & kSpace) {
        if (is_cr_lf(v.cpt(pos + n_space))) after_last_cr_lf = pos + n_space + 1;
        ++n_space;
      }
      pos = after_last_cr_lf > 0 ? after_last_cr_lf : whitespace_piece(v, pos, n_space);
      cut(pos);
    }
  });
}

// DeepSeek-V3's third pattern, as llama.cpp's std::regex fallback sees it: on a "collapsed" text in
// which each non-ASCII code point is replaced by one byte for its class, and ASCII stays itself.
//   [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+ | [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+ |
//    ?[\p{P}\p{S}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
size_t deepseek_v3_word(const Splitter& s, size_t pos, size_t end) {
  enum : uint8_t { Letter = 1, Mark = 2, PunctSym = 4, Space = 8, AsciiPunct = 16, AsciiLetter = 32 };
  const auto kind = [&](size_t i) -> uint8_t {
    if (i >= end) return 0;
    const uint32_t c = s.cpt(i);
    if (c < 0x80) {
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) return Letter | AsciiLetter;
      if (c == ' ' || (c >= '\t' && c <= '\r')) return Space;  // std::regex's \s in the C locale
      if ((c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~'))
        return PunctSym | AsciiPunct;
      return 0;
    }
    const uint8_t f = s.flags(i);
    if (f & kSpace) return Space;
    if (f & kLetter) return Letter;
    if (f & kMark) return Mark;
    if (f & (kPunct | kSymbol)) return PunctSym;
    return 0;
  };
  const auto run = [&](size_t i, uint8_t mask) {
    while (kind(i) & mask) ++i;
    return i;
  };
  const uint8_t k0 = kind(pos);
  const uint8_t k1 = kind(pos + 1);
  if ((k0 & AsciiPunct) && (k1 & AsciiLetter)) return run(pos + 1, AsciiLetter) - pos;
  const bool c0_cr_lf = is_cr_lf(s.cpt(pos));
  if (!c0_cr_lf && !(k0 & (Letter | PunctSym)) && (k1 & (Letter | Mark))) return run(pos + 1, Letter | Mark) - pos;
  if (k0 & (Letter | Mark)) return run(pos, Letter | Mark) - pos;
  const size_t sym_start = pos + (s.cpt(pos) == ' ' && (k1 & PunctSym));
  if (kind(sym_start) & PunctSym) {
    size_t i = run(sym_start, PunctSym);
    while (i < end && is_cr_lf(s.cpt(i))) ++i;
    return i - pos;
  }
  const size_t space_end = run(pos, Space);
  for (size_t i = space_end; i > pos; --i) {
    if (is_cr_lf(s.cpt(i - 1))) return i - pos;
  }
  // \s+(?!\S) gives one space back when a non-space follows; \s+ then takes a single space.
  const size_t n_space = space_end - pos;
  return space_end < end && n_space > 1 ? n_space - 1 : n_space;
}

}  // namespace

std::vector<std::string> bpe_pre_split(std::string_view text, PreSplit split) {
  Splitter s(text);
  const auto is_number = [&](size_t i) { return (s.flags(i) & kNumber) != 0; };
  const auto is_ascii_digit = [&](size_t i) { return s.cpt(i) >= '0' && s.cpt(i) <= '9'; };
  switch (split) {
    case PreSplit::Default:
      // [\p{P}\$\+<=>\^~\|]+
      s.resplit_matches([&](size_t pos, size_t end) {
        size_t i = pos;
        while (i < end) {
          const uint32_t c = s.cpt(i);
          const bool p = (s.flags(i) & kPunct) || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' ||
                         c == '^' || c == '~' || c == '|';
          if (!p) break;
          ++i;
        }
        return i - pos;
      });
      s.gpt2();
      s.resplit_matches([&](size_t pos, size_t end) {  // \p{N}+
        size_t i = pos;
        while (i < end && is_number(i)) ++i;
        return i - pos;
      });
      s.resplit_matches([&](size_t pos, size_t end) -> size_t {  // [0-9][0-9][0-9]
        return pos + 3 <= end && is_ascii_digit(pos) && is_ascii_digit(pos + 1) && is_ascii_digit(pos + 2) ? 3 : 0;
      });
      break;
    case PreSplit::Gpt2:
      s.gpt2();
      break;
    case PreSplit::Llama3:
    case PreSplit::Qwen2:
    case PreSplit::Qwen35:
      s.llama3_like(split);
      break;
    case PreSplit::DigitsGpt2:
      s.resplit_matches([&](size_t pos, size_t) -> size_t { return is_number(pos) ? 1 : 0; });  // \p{N}
      s.gpt2();
      break;
    case PreSplit::DeepseekV3:
      s.resplit_matches([&](size_t pos, size_t end) {  // \p{N}{1,3}
        size_t i = pos;
        while (i < end && i - pos < 3 && is_number(i)) ++i;
        return i - pos;
      });
      s.resplit_matches([&](size_t pos, size_t end) {  // [一-龥぀-ゟ゠-ヿ]+
        size_t i = pos;
        for (; i < end; ++i) {
          const uint32_t c = s.cpt(i);
          if (!((c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x3040 && c <= 0x30FF))) break;
        }
        return i - pos;
      });
      s.resplit_matches([&](size_t pos, size_t end) { return deepseek_v3_word(s, pos, end); });
      break;
  }
  return s.words();
}

}  // namespace weblm
