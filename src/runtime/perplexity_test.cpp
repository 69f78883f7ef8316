#include "runtime/perplexity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace weblm {
namespace {

TEST(TokenNll, IsMinusLogSoftmax) {
  const std::vector<float> logits = {1.f, 2.f, 3.f};
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(token_nll(logits, 0), -std::log(std::exp(1.0) / z), 1e-6);
  EXPECT_NEAR(token_nll(logits, 2), -std::log(std::exp(3.0) / z), 1e-6);
}

TEST(TokenNll, StableForLargeLogits) {
  const std::vector<float> logits = {1000.f, 1000.f};
  EXPECT_NEAR(token_nll(logits, 1), std::log(2.0), 1e-9);
}

TEST(NllAccumulator, PplAndStandardError) {
  NllAccumulator acc;
  for (double nll : {1.0, 2.0, 3.0, 4.0}) acc.add(nll);
  EXPECT_EQ(acc.count(), 4);
  EXPECT_NEAR(acc.ppl(), std::exp(2.5), 1e-9);
  // population variance 1.25; standard error sqrt(1.25 / 3), scaled by ppl as llama.cpp does.
  EXPECT_NEAR(acc.ppl_error(), std::sqrt(1.25 / 3) * std::exp(2.5), 1e-9);
}

TEST(NllAccumulator, NoErrorForConstantNll) {
  NllAccumulator acc;
  acc.add(0.5);
  acc.add(0.5);
  EXPECT_EQ(acc.ppl_error(), 0);
}

}  // namespace
}  // namespace weblm
