#include "runtime/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "util/error.h"

namespace weblm {
namespace {

TEST(Sampler, GreedyPicksTheLargestAfterBias) {
  SamplingParams p;
  p.temperature = 0;
  p.logit_bias = {{0, 5.f}};
  Sampler s(p, 3);
  EXPECT_EQ(s.sample(std::vector<float>{1.f, 3.f, 2.f}), 0);
}

TEST(Sampler, SameSeedSameTokens) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.f;
  p.min_p = 0.f;
  p.seed = 42;
  const std::vector<float> logits = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
  Sampler a(p, 5), b(p, 5);
  std::vector<int32_t> ta, tb;
  for (int i = 0; i < 50; ++i) {
    ta.push_back(a.sample(logits));
    tb.push_back(b.sample(logits));
  }
  EXPECT_EQ(ta, tb);
  p.seed = 43;
  Sampler c(p, 5);
  std::vector<int32_t> tc;
  for (int i = 0; i < 50; ++i) tc.push_back(c.sample(logits));
  EXPECT_NE(ta, tc);
}

TEST(Sampler, DrawsFollowTheSoftmax) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.f;
  p.min_p = 0.f;
  const std::vector<float> logits = {0.f, std::log(3.f)};  // probabilities 1/4, 3/4
  Sampler s(p, 2);
  int ones = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) ones += s.sample(logits);
  EXPECT_NEAR(ones / double(n), 0.75, 0.015);
}

TEST(Sampler, TopKTopPAndMinPTruncate) {
  const std::vector<float> logits = {5.f, 4.f, 0.f, -1.f};
  SamplingParams p;
  p.temperature = 1.f;
  p.top_p = 1.f;
  p.min_p = 0.f;
  p.top_k = 1;
  Sampler k(p, 4);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(k.sample(logits), 0);
  p.top_k = 0;
  p.min_p = 0.5f;  // token 1 has e^-1 = 0.37 of token 0's probability: cut
  Sampler m(p, 4);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(m.sample(logits), 0);
  p.min_p = 0.f;
  p.top_p = 0.5f;  // token 0 alone holds > 50%
  Sampler t(p, 4);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(t.sample(logits), 0);
}

TEST(Sampler, PenaltiesFollowLlamaCppRules) {
  SamplingParams p;
  p.temperature = 0;
  p.repeat_penalty = 2.f;
  Sampler s(p, 3);
  s.accept(0);
  // token 0: 3 / 2 = 1.5 < 2 -> token 1 wins
  EXPECT_EQ(s.sample(std::vector<float>{3.f, 2.f, 0.f}), 1);
  SamplingParams q;
  q.temperature = 0;
  q.presence_penalty = 1.5f;
  q.frequency_penalty = 0.5f;
  Sampler f(q, 2);
  f.accept(0);
  f.accept(0);
  // 3 - (2 * 0.5 + 1.5) = 0.5 < 1
  EXPECT_EQ(f.sample(std::vector<float>{3.f, 1.f}), 1);
  EXPECT_NEAR(f.logprob(std::vector<float>{3.f, 1.f}, 1), -std::log1p(std::exp(-0.5f)), 1e-5);
}

TEST(Sampler, InvalidParametersAreNamed) {
  SamplingParams p;
  p.top_p = 1.5f;
  try {
    Sampler s(p, 10);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("top_p"), std::string::npos);
  }
  SamplingParams b;
  b.logit_bias = {{10, 1.f}};
  EXPECT_THROW(Sampler(b, 10), Error);
}

}  // namespace
}  // namespace weblm
