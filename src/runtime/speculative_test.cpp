// Speculative decoding's core: the n-gram drafter, the adaptive draft length, the verification
// rule at temperature 0, and the statistical test that the rule at temperature > 0 leaves the
// target's distribution unchanged (and that the test catches wrong rules).
#include <gtest/gtest.h>

#include <array>
#include <cmath>

#include "runtime/draft_length.h"
#include "runtime/model_drafter.h"
#include "runtime/ngram_drafter.h"
#include "runtime/speculative_verify.h"
#include "util/error.h"

namespace weblm {
namespace {

std::vector<int32_t> propose(std::vector<int32_t> context, int32_t max) {
  NgramDrafter drafter;
  std::vector<int32_t> out = {99};  // replaced
  drafter.propose(0, context, max, out);
  return out;
}

TEST(NgramDrafter, ProposesWhatFollowedTheLatestMatchOfTheLongestNgram) {
  // The last 3 tokens (2 3 4) occurred at 1 (then 9) and at 6 (then 7 8): the latest wins.
  EXPECT_EQ(propose({1, 2, 3, 4, 9, 1, 2, 3, 4, 7, 8, 5, 2, 3, 4}, 2), (std::vector<int32_t>{7, 8}));
  // No earlier (5 3 4): the bigram (3 4) is looked up instead; then the unigram (4).
  EXPECT_EQ(propose({3, 4, 6, 0, 5, 3, 4}, 2), (std::vector<int32_t>{6, 0}));
  EXPECT_EQ(propose({4, 1, 7, 4}, 3), (std::vector<int32_t>{1, 7, 4}));
}

TEST(NgramDrafter, ContinuesARepeatingPatternPastTheEndOfTheContext) {
  EXPECT_EQ(propose({5, 6, 5, 6}, 5), (std::vector<int32_t>{5, 6, 5, 6, 5}));
}

TEST(NgramDrafter, ProposesNothingWithoutAMatch) {
  EXPECT_TRUE(propose({1, 2, 3}, 4).empty());
  EXPECT_TRUE(propose({1}, 4).empty());
  EXPECT_TRUE(propose({1, 1}, 0).empty());
}

// Steps timed at 10 ms per token when plain, `spec_ms` per token when speculative.
void plain_warm_up(DraftLength& length) {
  for (int i = 0; i < DraftLength::kTimedSteps; ++i) {
    EXPECT_EQ(length.next(), 0);  // the first steps are plain: their time is the yardstick
    length.record(0, 0, 1, 10.0);
  }
}

TEST(DraftLength, GrowsOnFullAcceptanceAndShrinksOnRejectionWithinBounds) {
  DraftLength length(6);
  plain_warm_up(length);
  const auto step = [&](int32_t accepted) {
    const int32_t drafted = length.next();
    length.record(drafted, accepted, accepted + 1, 5.0 * (accepted + 1));
    return drafted;
  };
  EXPECT_EQ(step(4), 4);
  EXPECT_EQ(step(5), 5);
  EXPECT_EQ(step(6), 6);
  EXPECT_EQ(step(6), 6);  // the bound
  EXPECT_EQ(step(2), 6);
  EXPECT_EQ(length.next(), 3);  // just past what was accepted
  length.record(3, 2, 3, 15.0);
  EXPECT_EQ(length.next(), 2);
  EXPECT_THROW(DraftLength(0), Error);
}

TEST(DraftLength, BacksOffToPlainDecodingWhenAcceptanceIsLowAndProbesAgain) {
  DraftLength length(8);
  plain_warm_up(length);
  int steps = 0;
  for (int32_t drafted; (drafted = length.next()) > 0 && steps < 20; ++steps) length.record(drafted, 0, 1, 10.0);
  EXPECT_EQ(steps, 2);  // a drafter that is never right is dropped after two drafts
  int paused = 1;
  while (length.next() == 0) ++paused;
  EXPECT_EQ(paused, 8);
  length.record(1, 0, 1, 10.0);  // the probe failed: a longer pause
  paused = 0;
  while (length.next() == 0) ++paused;
  EXPECT_EQ(paused, 32);
  length.record(1, 1, 2, 10.0);  // the probe succeeded: drafting resumes
  EXPECT_EQ(length.next(), 2);
}

TEST(DraftLength, BacksOffWhenSpeculativeStepsCostMoreTimePerToken) {
  for (const double spec_ms : {6.0, 14.0}) {  // per generated token; plain steps take 10
    SCOPED_TRACE(spec_ms);
    DraftLength length(4);
    plain_warm_up(length);
    int steps = 0;
    // Every draft accepted: only the clock can tell that speculation does not pay.
    for (int32_t drafted; (drafted = length.next()) > 0 && steps < 20; ++steps)
      length.record(drafted, drafted, drafted + 1, spec_ms * (drafted + 1));
    if (spec_ms < 10) EXPECT_EQ(steps, 20);
    else EXPECT_EQ(steps, 1 + DraftLength::kTimedSteps);  // the first step after a resume is not timed
  }
}

SamplingParams greedy() {
  SamplingParams p;
  p.temperature = 0;
  return p;
}

TEST(VerifyDraft, AtTemperatureZeroKeepsDraftsWhileTheyAreTheArgmax) {
  // 4 rows over a vocabulary of 3: argmaxes 2, 0, 1, 1.
  const std::vector<float> rows = {0, 1, 5, 3, 1, 0, 0, 4, 1, 0, 2, 1};
  Sampler sampler(greedy(), 3);
  std::vector<int32_t> taken;
  auto take = [&](int32_t t, std::span<const float>) {
    taken.push_back(t);
    return true;
  };
  EXPECT_EQ(verify_draft(sampler, rows, std::vector<int32_t>{2, 0, 2}, take), 2);
  EXPECT_EQ(taken, (std::vector<int32_t>{2, 0, 1}));  // the third draft replaced by the argmax
  taken.clear();
  EXPECT_EQ(verify_draft(sampler, rows, std::vector<int32_t>{2, 0, 1}, take), 3);
  EXPECT_EQ(taken, (std::vector<int32_t>{2, 0, 1, 1}));  // all kept, plus the bonus token
  taken.clear();
  EXPECT_EQ(verify_draft(sampler, rows, std::vector<int32_t>{1, 0, 1}, take), 0);
  EXPECT_EQ(taken, (std::vector<int32_t>{2}));
  taken.clear();
  // The taker ends generation (a stop): nothing after it.
  EXPECT_EQ(verify_draft(sampler, rows, std::vector<int32_t>{2, 0, 1}, [&](int32_t t, std::span<const float>) {
              taken.push_back(t);
              return taken.size() < 2;
            }),
            2);
  EXPECT_EQ(taken, (std::vector<int32_t>{2, 0}));
  EXPECT_THROW(verify_draft(sampler, std::vector<float>(7), std::vector<int32_t>{1}, take), Error);
}

// The distribution test. A toy target over 5 tokens whose logits depend on the previous token,
// sampled at temperature 1 with a presence penalty (so p depends on the whole history, as the
// sampler's processing must), and a deterministic drafter that guesses 3 tokens ahead.
constexpr int32_t kVocab = 5;
constexpr std::array<std::array<float, kVocab>, kVocab> kLogits = {{{1.0f, 0.2f, -0.5f, 0.8f, 0.0f},
                                                                   {0.1f, 1.2f, 0.4f, -1.0f, 0.6f},
                                                                   {-0.3f, 0.5f, 0.9f, 0.2f, 1.1f},
                                                                   {0.7f, -0.2f, 0.3f, 1.0f, 0.1f},
                                                                   {0.4f, 0.8f, -0.6f, 0.5f, 0.9f}}};
int32_t guess_after(int32_t token) { return (token * 2 + 1) % kVocab; }

SamplingParams toy_params(uint64_t seed) {
  SamplingParams p;
  p.temperature = 1.f;
  p.top_k = 0;
  p.top_p = 1.f;
  p.min_p = 0.f;
  p.presence_penalty = 0.7f;
  p.seed = seed;
  return p;
}

// A rule: walks rows for `draft` like verify_draft and returns the drafts kept.
using Rule = std::function<int32_t(Sampler&, std::span<const float>, std::span<const int32_t>,
                                   const std::function<bool(int32_t, std::span<const float>)>&)>;

// Frequencies of the first two generated tokens (after the context [0]) over many seeds.
std::vector<double> sample_pairs(const Rule& rule, int trials) {
  std::vector<double> counts(kVocab * kVocab, 0.0);
  for (int trial = 0; trial < trials; ++trial) {
    Sampler sampler(toy_params(static_cast<uint64_t>(trial) * 7919u + 1), kVocab);
    sampler.accept(0);
    std::vector<int32_t> out;
    int32_t last = 0;
    while (out.size() < 2) {
      std::vector<int32_t> draft;
      for (int32_t t = last; draft.size() < 3;) draft.push_back(t = guess_after(t));
      std::vector<float> rows;
      for (int32_t before : {last, draft[0], draft[1], draft[2]}) rows.insert(rows.end(), kLogits[before].begin(), kLogits[before].end());
      rule(sampler, rows, draft, [&](int32_t token, std::span<const float>) {
        sampler.accept(token);
        out.push_back(token);
        last = token;
        return out.size() < 2;
      });
    }
    ++counts[static_cast<size_t>(out[0] * kVocab + out[1])];
  }
  return counts;
}

// The exact joint distribution of the first two tokens under plain sampling.
std::vector<double> exact_pairs() {
  std::vector<double> p(kVocab * kVocab);
  Sampler first(toy_params(0), kVocab);
  first.accept(0);
  std::vector<float> p1, p2;
  first.distribution(kLogits[0], p1);
  for (int32_t a = 0; a < kVocab; ++a) {
    Sampler second = first;
    second.accept(a);
    second.distribution(kLogits[a], p2);
    for (int32_t b = 0; b < kVocab; ++b) p[a * kVocab + b] = static_cast<double>(p1[a]) * p2[b];
  }
  return p;
}

double chi_square(const std::vector<double>& counts, const std::vector<double>& p, int trials) {
  double chi = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double expected = p[i] * trials;
    chi += (counts[i] - expected) * (counts[i] - expected) / expected;
  }
  return chi;
}

constexpr int kTrials = 20000;
constexpr double kCritical = 51.18;  // chi-square, 24 degrees of freedom, p = 0.001

TEST(VerifyDraft, SpeculativeSamplingKeepsTheTargetDistribution) {
  // Plain sampling first: distribution() is what sample() draws from.
  const Rule plain = [](Sampler& s, std::span<const float> rows, std::span<const int32_t>,
                        const std::function<bool(int32_t, std::span<const float>)>& take) {
    take(s.sample(rows.first(kVocab)), rows);
    return 0;
  };
  EXPECT_LT(chi_square(sample_pairs(plain, kTrials), exact_pairs(), kTrials), kCritical);
  EXPECT_LT(chi_square(sample_pairs(verify_draft, kTrials), exact_pairs(), kTrials), kCritical);
}

TEST(VerifyDraft, TheDistributionTestCatchesWrongRules) {
  const Rule accept_always = [](Sampler& s, std::span<const float> rows, std::span<const int32_t> draft,
                                const std::function<bool(int32_t, std::span<const float>)>& take) {
    for (int32_t t : draft)
      if (!take(t, rows)) return 0;
    take(s.sample(rows.subspan(draft.size() * kVocab)), rows);
    return 0;
  };
  // Keeps with probability p(d), but on rejection draws from p itself instead of p without d.
  const Rule resample_from_p = [](Sampler& s, std::span<const float> rows, std::span<const int32_t> draft,
                                  const std::function<bool(int32_t, std::span<const float>)>& take) {
    std::vector<float> p;
    for (size_t i = 0; i <= draft.size(); ++i) {
      const std::span<const float> row = rows.subspan(i * kVocab, kVocab);
      if (i == draft.size()) return take(s.sample(row), row), 0;
      s.distribution(row, p);
      const bool kept = s.uniform() < p[draft[i]];
      if (!take(kept ? draft[i] : s.sample(row), row) || !kept) return 0;
    }
    return 0;
  };
  EXPECT_GT(chi_square(sample_pairs(accept_always, kTrials), exact_pairs(), kTrials), kCritical);
  EXPECT_GT(chi_square(sample_pairs(resample_from_p, kTrials), exact_pairs(), kTrials), kCritical);
}

TEST(RequireSameVocabulary, NamesTheFirstDifferenceOrTheSizes) {
  Vocab a, b;
  a.tokens = {"<unk>", "<s>", "hello", "world"};
  b.tokens = a.tokens;
  EXPECT_NO_THROW(require_same_vocabulary(a, b));
  b.tokens[2] = "howdy";
  try {
    require_same_vocabulary(a, b);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("token id 2"), std::string::npos) << e.what();
  }
  b.tokens = a.tokens;
  b.tokens.push_back("extra");
  try {
    require_same_vocabulary(a, b);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("5 tokens, the target's 4:"), std::string::npos) << e.what();
  }
  b.tokens[1] = "<bos>";
  try {
    require_same_vocabulary(a, b);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("5 tokens, the target's 4, and they first differ at token id 1: \"<bos>\""),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace weblm
