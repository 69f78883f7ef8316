// Speculative decoding through the service, on the small random-weight model ctest writes first
// (WEBLM_TEST_MODEL): greedy output identical with and without drafting (n-gram, a draft model,
// batched requests), and the KV rollback of a draft rejected across a page boundary.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "api/service.h"
#include "api/test_model.h"
#include "backend/cpu/cpu_backend.h"
#include "format/gguf.h"
#include "model/model.h"
#include "runtime/draft_length.h"
#include "runtime/model_drafter.h"
#include "runtime/ngram_drafter.h"
#include "tokenizer/vocab.h"

namespace weblm::api {
namespace {

EngineOptions engine_options() {
  EngineOptions eo;
  eo.n_ctx = 256;
  eo.n_seq_max = 4;
  eo.n_batch = 48;
  eo.page_size = 32;
  return eo;
}

struct Stack {
  explicit Stack(std::shared_ptr<Drafter> drafter = nullptr)
      : engine(test_model().model, engine_options()), service(engine, test_model().tokenizer, options(std::move(drafter))) {}
  static ServiceOptions options(std::shared_ptr<Drafter> drafter) {
    ServiceOptions so;
    so.drafter = std::move(drafter);
    return so;
  }
  Engine engine;
  Service service;
};

const std::string kRepetitive =
    "one two three four, one two three four, one two three four, the cat sat on the mat, the cat sat on the";

Json completion(const std::string& prompt, int max_tokens = 40) {
  return {{"prompt", prompt}, {"max_tokens", max_tokens}, {"temperature", 0}, {"ignore_eos", true}, {"logprobs", 2}};
}

// Runs the requests together (one batch) and returns their responses in order.
std::vector<Json> run_batch(Service& service, const std::vector<Json>& bodies) {
  std::vector<Json> out(bodies.size());
  size_t done = 0;
  for (size_t i = 0; i < bodies.size(); ++i) {
    ResponseSink sink;
    sink.on_done = [&, i](const Json& r, const RequestStats&) {
      out[i] = r;
      ++done;
    };
    sink.on_error = [](const ApiError& e) { ADD_FAILURE() << "request failed: " << e.what(); };
    service.submit(bodies[i], Endpoint::Completions, std::move(sink));
  }
  while (done < bodies.size())
    if (!service.step()) break;
  return out;
}

// Same text, same tokens (logprobs' token bytes), same logprobs, same finish.
void expect_same_output(const Json& plain, const Json& speculative) {
  const Json& a = plain["choices"][0];
  const Json& b = speculative["choices"][0];
  EXPECT_EQ(a["text"], b["text"]);
  EXPECT_EQ(a["logprobs"]["tokens"], b["logprobs"]["tokens"]);
  EXPECT_EQ(a["logprobs"]["top_logprobs"], b["logprobs"]["top_logprobs"]);
  EXPECT_EQ(a["finish_reason"], b["finish_reason"]);
  EXPECT_EQ(plain["usage"]["completion_tokens"], speculative["usage"]["completion_tokens"]);
}

const std::vector<Json> kBodies = {completion(kRepetitive), completion("Tell me about the sea and the ships", 33),
                                   completion(kRepetitive + " cat sat on", 17)};

TEST(SpeculativeService, NgramDraftingLeavesGreedyOutputUnchangedInABatch) {
  Stack plain, speculative(std::make_shared<NgramDrafter>());
  const std::vector<Json> expected = run_batch(plain.service, kBodies);
  const std::vector<Json> got = run_batch(speculative.service, kBodies);
  for (size_t i = 0; i < kBodies.size(); ++i) {
    SCOPED_TRACE(i);
    expect_same_output(expected[i], got[i]);
    EXPECT_FALSE(expected[i]["usage"].contains("speculative"));
  }
  const Json& stats = got[0]["usage"]["speculative"];
  EXPECT_GT(stats["drafted"].get<int>(), 0);  // the repetitive prompt gives the lookup matches
  EXPECT_LE(stats["accepted"].get<int>(), stats["drafted"].get<int>());
}

TEST(SpeculativeService, DraftModelEqualToTheTargetIsAlwaysAccepted) {
  auto drafter = std::make_shared<ModelDrafter>(test_model().model, test_model().model.config().n_vocab, engine_options());
  Stack plain, speculative(drafter);
  const std::vector<Json> expected = run_batch(plain.service, kBodies);
  const std::vector<Json> got = run_batch(speculative.service, kBodies);
  for (size_t i = 0; i < kBodies.size(); ++i) {
    SCOPED_TRACE(i);
    expect_same_output(expected[i], got[i]);
    const Json& stats = got[i]["usage"]["speculative"];
    EXPECT_GT(stats["drafted"].get<int>(), 0);
    EXPECT_EQ(stats["accepted"], stats["drafted"]);  // a token's logits do not depend on its batch
  }
  // A later request: the target starts from its prefix cache, the draft model from nothing.
  expect_same_output(plain.service.run(kBodies[1], Endpoint::Completions),
                     speculative.service.run(kBodies[1], Endpoint::Completions));
}

// Proposes the reference greedy continuation, but with a wrong token at one absolute position.
class ScriptedDrafter final : public Drafter {
 public:
  ScriptedDrafter(std::vector<int32_t> reference, int32_t wrong_at) : reference_(std::move(reference)), wrong_at_(wrong_at) {}
  void propose(int32_t, std::span<const int32_t> context, int32_t max_tokens, std::vector<int32_t>& out) override {
    out.clear();
    for (size_t pos = context.size(); pos < reference_.size() && out.size() < static_cast<size_t>(max_tokens); ++pos)
      out.push_back(static_cast<int32_t>(pos) == wrong_at_ ? (reference_[pos] + 1) % 512 : reference_[pos]);
  }

 private:
  std::vector<int32_t> reference_;
  int32_t wrong_at_;
};

// Greedy decoding straight on an engine: the prompt and `n` generated tokens.
std::vector<int32_t> greedy_reference(const std::vector<int32_t>& prompt, int n) {
  Engine engine(test_model().model, engine_options());
  const int32_t seq = engine.kv().create_sequence();
  std::vector<int32_t> tokens = prompt;
  const std::vector<float>* logits = &engine.prefill(seq, prompt, false);
  for (int i = 0; i < n; ++i) {
    tokens.push_back(static_cast<int32_t>(std::max_element(logits->begin(), logits->end()) - logits->begin()));
    const SequenceInput in{seq, std::span<const int32_t>(&tokens.back(), 1), Logits::Last};
    logits = &engine.forward(std::span<const SequenceInput>(&in, 1));
  }
  return tokens;
}

TEST(SpeculativeService, RollbackAcrossAKvPageBoundary) {
  // The first decode steps are plain (DraftLength times them), then the first speculative pass
  // holds positions 30..34 (the next token and 4 drafts), crossing the page boundary at 32.
  std::vector<int32_t> prompt;
  for (int i = 0; i < 30 - DraftLength::kTimedSteps; ++i) prompt.push_back(20 + (i * 37) % 400);
  const std::vector<int32_t> reference = greedy_reference(prompt, 20);
  for (const int32_t wrong_at : {33, 32, 31}) {
    SCOPED_TRACE(wrong_at);
    Stack s(std::make_shared<ScriptedDrafter>(reference, wrong_at));
    const int32_t pages = s.engine.kv().total_pages();
    Json body = {{"prompt", prompt}, {"max_tokens", 20}, {"temperature", 0}, {"ignore_eos", true}};
    Json response;
    ResponseSink sink;
    sink.on_done = [&](const Json& r, const RequestStats&) { response = r; };
    s.service.submit(body, Endpoint::Completions, std::move(sink));
    ASSERT_TRUE(s.service.step());  // the prompt, and the first token
    for (int i = 0; i < DraftLength::kTimedSteps; ++i) ASSERT_TRUE(s.service.step());  // plain steps
    ASSERT_TRUE(s.service.step());  // [token 30, drafts 31..34]: the draft at wrong_at is rejected
    // Kept: positions 0 .. wrong_at - 1; the replacement token at wrong_at is the next input.
    const int32_t kept = wrong_at;
    EXPECT_EQ(s.engine.kv().free_pages(), pages - (kept + 31) / 32);
    while (response.is_null())
      if (!s.service.step()) break;
    const Json& stats = response["usage"]["speculative"];
    // Lost: the wrong draft and the ones after it in that pass (4 drafts at 31..34); all others kept.
    EXPECT_EQ(stats["drafted"].get<int>() - stats["accepted"].get<int>(), 35 - wrong_at);
    const Json plain = Stack().service.run(body, Endpoint::Completions);
    EXPECT_EQ(response["choices"][0]["text"], plain["choices"][0]["text"]);
  }
}

TEST(SpeculativeService, SampledOutputIsReproducibleAndCounted) {
  Stack s(std::make_shared<NgramDrafter>());
  Json body = completion(kRepetitive, 30);
  body["temperature"] = 0.7;
  body["seed"] = 5;
  const Json a = s.service.run(body, Endpoint::Completions);
  const Json b = s.service.run(body, Endpoint::Completions);
  EXPECT_EQ(a["choices"][0]["text"], b["choices"][0]["text"]);
  EXPECT_EQ(a["usage"]["completion_tokens"], 30);
}

}  // namespace
}  // namespace weblm::api
