#include "api/stop_matcher.h"

#include <gtest/gtest.h>

#include <random>

#include "tokenizer/synthetic_vocab.h"
#include "tokenizer/tokenizer.h"

namespace weblm::api {
namespace {

TEST(StopMatcher, StopSpanningPiecesEndsTheTextBeforeIt) {
  StopMatcher m({"o w"});
  EXPECT_EQ(m.push("Hel"), "Hel");
  EXPECT_EQ(m.push("lo wor"), "l");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.push("ld"), "");
  EXPECT_EQ(m.finish(), "");
}

TEST(StopMatcher, HoldsBackWhatMayBecomeAStop) {
  StopMatcher m({"###"});
  EXPECT_EQ(m.push("a#"), "a");
  EXPECT_EQ(m.push("#"), "");
  EXPECT_EQ(m.push("b"), "##b");  // it was not a stop after all
  EXPECT_EQ(m.push("##"), "");
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.finish(), "##");  // the text ended: no stop can complete
}

TEST(StopMatcher, EarliestOfSeveralStopsWins) {
  StopMatcher m({"cd", "b"});
  EXPECT_EQ(m.push("abcd"), "a");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcher, NoStopsPassesEverything) {
  StopMatcher m({});
  EXPECT_EQ(m.push("abc"), "abc");
  EXPECT_EQ(m.finish(), "");
}

// Random texts over a small alphabet cut into random pieces: the output, piece by piece, is
// always a prefix of the text before its first stop string, and in the end all of it.
TEST(StopMatcher, StreamedOutputIsAlwaysAPrefixOfTheAnswer) {
  std::mt19937 rng(5);
  const std::vector<std::string> stops = {"aba", "bb", "cab"};
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const int len = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < len; ++i) text += "abc"[rng() % 3];
    size_t first = std::string::npos;
    for (const std::string& s : stops) first = std::min(first, text.find(s));
    const std::string expected = text.substr(0, first);
    StopMatcher m(stops);
    std::string out;
    for (size_t pos = 0; pos < text.size();) {
      const size_t n = std::min<size_t>(text.size() - pos, 1 + rng() % 4);
      out += m.push(std::string_view(text).substr(pos, n));
      pos += n;
      ASSERT_EQ(expected.compare(0, out.size(), out), 0) << text << " emitted " << out;
    }
    out += m.finish();
    ASSERT_EQ(out, expected) << text;
    ASSERT_EQ(m.stopped(), first != std::string::npos) << text;
  }
}

// A stop string made of a character that the vocabulary spells with byte tokens: the stream
// decoder holds its bytes until the character is whole, and the matcher holds the character
// until the stop string is decided. No partial character and no part of the stop comes out.
TEST(StopMatcher, MultiByteStopSplitAcrossByteTokens) {
  const Tokenizer tokenizer(make_synthetic_vocab(Vocab::Kind::Spm, 512, ""));
  const std::string clef = "\xF0\x9D\x84\x9E";  // U+1D11E, not a piece of the vocabulary
  const std::vector<int32_t> ids = tokenizer.encode("ab" + clef + "!cd", false, false);
  ASSERT_GE(ids.size(), 7u) << "the clef should take four byte tokens";
  StreamDecoder decoder(tokenizer);
  StopMatcher m({clef + "!"});
  std::string out;
  for (int32_t id : ids) {
    const std::string piece = m.push(decoder.push(id));
    EXPECT_EQ(piece.find('\xF0'), std::string::npos) << "part of the stop was emitted";
    out += piece;
    if (m.stopped()) break;
  }
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(out, " ab");  // SPM's leading space, then the text before the stop
}

}  // namespace
}  // namespace weblm::api
