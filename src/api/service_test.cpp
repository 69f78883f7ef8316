// The service on a small random-weight model (written by `weblm gen-model` before this test
// runs; ctest passes its path in WEBLM_TEST_MODEL). Random weights give arbitrary but fixed text:
// enough to check scheduling, streaming, stops, logprobs and reuse exactly.
#include "api/service.h"
#include "api/test_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "backend/cpu/cpu_backend.h"
#include "format/gguf.h"
#include "model/model.h"
#include "tokenizer/vocab.h"

namespace weblm::api {
namespace {

// An engine and a service over the shared model.
struct Stack {
  explicit Stack(EngineOptions eo = options(), ServiceOptions so = {})
      : engine(test_model().model, eo), service(engine, test_model().tokenizer, so) {}
  static EngineOptions options() {
    EngineOptions eo;
    eo.n_ctx = 256;
    eo.n_seq_max = 4;
    eo.n_batch = 48;  // prompts of the tests take several chunks
    return eo;
  }
  Engine engine;
  Service service;
};

Json chat(const std::string& user, const Json& extra = Json::object()) {
  Json body = {{"messages", Json::array({{{"role", "system"}, {"content", "You are a test."}},
                                         {{"role", "user"}, {"content", user}}})},
               {"max_tokens", 24},
               {"temperature", 0}};
  body.update(extra);
  return body;
}

Json completion(const std::string& prompt, const Json& extra = Json::object()) {
  Json body = {{"prompt", prompt}, {"max_tokens", 24}, {"temperature", 0}};
  body.update(extra);
  return body;
}

const std::string kLong =
    "Tell me everything about the history of the printing press, the spread of books in Europe, and the "
    "people who read them in the first hundred years after Gutenberg.";

std::string content(const Json& response) { return response["choices"][0]["message"]["content"]; }

// Chunks of one streamed request, and its final response.
struct Streamed {
  std::vector<Json> chunks;
  Json response;
  RequestStats stats;
  bool done = false;
};

ResponseSink sink_into(Streamed& s) {
  ResponseSink sink;
  sink.on_chunk = [&s](const Json& c) { s.chunks.push_back(c); };
  sink.on_done = [&s](const Json& r, const RequestStats& stats) {
    s.response = r;
    s.stats = stats;
    s.done = true;
  };
  sink.on_error = [](const ApiError& e) { ADD_FAILURE() << "request failed: " << e.what(); };
  return sink;
}

TEST(Service, GreedyIsDeterministicAndCountsUsage) {
  Stack s;
  const Json a = s.service.run(chat("Hello"), Endpoint::ChatCompletions);
  const Json b = s.service.run(chat("Hello"), Endpoint::ChatCompletions);
  EXPECT_EQ(content(a), content(b));
  EXPECT_FALSE(content(a).empty());
  EXPECT_NE(a["id"], b["id"]);
  EXPECT_EQ(a["object"], "chat.completion");
  const Request r = parse_request(chat("Hello"), Endpoint::ChatCompletions, s.engine.n_vocab());
  const int32_t n_prompt = static_cast<int32_t>(s.service.prompt_tokens(r).size());
  EXPECT_EQ(a["usage"]["prompt_tokens"], n_prompt);
  if (a["choices"][0]["finish_reason"] == "length") EXPECT_EQ(a["usage"]["completion_tokens"], 24);
  EXPECT_EQ(a["usage"]["total_tokens"], n_prompt + a["usage"]["completion_tokens"].get<int>());
  EXPECT_EQ(a["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
  EXPECT_GT(b["usage"]["prompt_tokens_details"]["cached_tokens"], n_prompt / 2);  // the first run's KV was reused
}

TEST(Service, SeedDeterminesTheSample) {
  Stack s;
  const Json opts = {{"temperature", 1.0}, {"max_tokens", 32}};
  auto run = [&](int seed) {
    Json o = opts;
    o["seed"] = seed;
    return content(s.service.run(chat("Pick words", o), Endpoint::ChatCompletions));
  };
  EXPECT_EQ(run(11), run(11));
  EXPECT_NE(run(11), run(12));
}

TEST(Service, StreamedDeltasAddUpToTheResponse) {
  for (Endpoint endpoint : {Endpoint::ChatCompletions, Endpoint::Completions}) {
    const bool is_chat = endpoint == Endpoint::ChatCompletions;
    Stack s;
    const Json body = is_chat ? chat(kLong) : completion(kLong);
    const Json whole = s.service.run(body, endpoint);
    Json streamed_body = body;
    streamed_body["stream"] = true;
    streamed_body["stream_options"] = {{"include_usage", true}};
    Streamed st;
    s.service.submit(streamed_body, endpoint, sink_into(st));
    while (!st.done) ASSERT_TRUE(s.service.step());
    ASSERT_GE(st.chunks.size(), 3u);
    std::string text;
    for (size_t i = 0; i + 1 < st.chunks.size(); ++i) {
      const Json& c = st.chunks[i];
      EXPECT_EQ(c["id"], st.response["id"]);
      EXPECT_EQ(c["object"], is_chat ? "chat.completion.chunk" : "text_completion");
      EXPECT_EQ(c["usage"], nullptr);
      ASSERT_EQ(c["choices"].size(), 1u);
      const Json& choice = c["choices"][0];
      if (is_chat) {
        if (i == 0) EXPECT_EQ(choice["delta"], Json::parse(R"({"role": "assistant", "content": ""})"));
        text += choice["delta"].value("content", "");
      } else {
        text += choice["text"].get<std::string>();
      }
      const bool last = i + 2 == st.chunks.size();
      EXPECT_EQ(choice["finish_reason"].is_null(), !last);
    }
    const std::string expected = is_chat ? content(whole) : whole["choices"][0]["text"].get<std::string>();
    EXPECT_EQ(text, expected);
    EXPECT_EQ(st.chunks.back()["choices"], Json::array());
    Json usage = whole["usage"];
    usage["prompt_tokens_details"]["cached_tokens"] = st.chunks.back()["usage"]["prompt_tokens_details"]["cached_tokens"];
    EXPECT_EQ(st.chunks.back()["usage"], usage);
    EXPECT_EQ(st.response["choices"][0]["finish_reason"], whole["choices"][0]["finish_reason"]);
  }
}

// The logprobs reported are the sampler's, over the logits the engine computes for the prompt.
TEST(Service, LogprobsMatchTheSampler) {
  Stack s;
  const Json r = s.service.run(completion(kLong, {{"logprobs", 5}, {"max_tokens", 8}}), Endpoint::Completions);
  const Json& lp = r["choices"][0]["logprobs"];
  ASSERT_EQ(lp["tokens"].size(), r["usage"]["completion_tokens"].get<size_t>());
  for (size_t i = 0; i < lp["tokens"].size(); ++i) {
    const Json& top = lp["top_logprobs"][i];
    EXPECT_LE(top.size(), 5u);
    double mass = 0, best = -INFINITY;
    for (const auto& [token, logprob] : top.items()) {
      mass += std::exp(logprob.get<double>());
      best = std::max(best, logprob.get<double>());
    }
    EXPECT_LE(mass, 1.0 + 1e-6);
    EXPECT_EQ(lp["token_logprobs"][i].get<double>(), best);  // greedy takes the most likely token
  }

  Engine engine(test_model().model, Stack::options());
  const Request req = parse_request(completion(kLong), Endpoint::Completions, engine.n_vocab());
  const std::vector<int32_t> prompt = s.service.prompt_tokens(req);
  const std::vector<float> logits = engine.prefill(engine.kv().create_sequence(), prompt, false);
  Sampler sampler(req.sampling, engine.n_vocab());
  const int32_t first = sampler.sample(logits);
  EXPECT_EQ(lp["token_logprobs"][0].get<float>(), sampler.logprob(logits, first));
  EXPECT_EQ(lp["tokens"][0], test_model().tokenizer.piece(first, true));
}

TEST(Service, ChatLogprobsHaveOneEntryPerToken) {
  Stack s;
  const Json r = s.service.run(chat(kLong, {{"logprobs", true}, {"top_logprobs", 3}}), Endpoint::ChatCompletions);
  const Json& entries = r["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(entries.size(), r["usage"]["completion_tokens"].get<size_t>());
  for (const Json& e : entries) {
    ASSERT_EQ(e["top_logprobs"].size(), 3u);
    EXPECT_EQ(e["logprob"], e["top_logprobs"][0]["logprob"]);
    EXPECT_GE(e["top_logprobs"][0]["logprob"].get<double>(), e["top_logprobs"][1]["logprob"].get<double>());
  }
}

// A stop string cut out of the greedy output across a token boundary ends the text right before it.
TEST(Service, StopStringAcrossTokensIsNeverEmitted) {
  Stack s;
  const Json base = chat(kLong, {{"logprobs", true}, {"max_tokens", 40}});
  const Json free_run = s.service.run(base, Endpoint::ChatCompletions);
  const std::string text = content(free_run);
  const Json& entries = free_run["choices"][0]["logprobs"]["content"];
  auto bytes_of = [](const Json& entry) {
    std::string b;
    for (const Json& v : entry["bytes"]) b += static_cast<char>(v.get<int>());
    return b;
  };
  auto ascii = [](const std::string& t) {
    return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c > 32 && c < 127; });
  };
  // The last character of token k and the first of token k + 1, both plain ASCII, where that
  // pair first occurs in the text.
  std::string stop, expected, before;
  for (size_t k = 0; k + 1 < entries.size() && stop.empty(); ++k) {
    before += bytes_of(entries[k]);
    const std::string a = bytes_of(entries[k]), b = bytes_of(entries[k + 1]);
    if (k < 2 || !ascii(a) || !ascii(b)) continue;
    const std::string pair = a.substr(a.size() - 1) + b.substr(0, 1);
    const size_t boundary = printable(before).size();  // the text up to here, as streamed
    if (text.find(pair) == boundary - 1) {
      stop = pair;
      expected = text.substr(0, boundary - 1);
    }
  }
  ASSERT_FALSE(stop.empty()) << "no two ASCII tokens in " << text;
  Json body = base;
  body["stop"] = Json::array({stop, "never appears \x01"});
  body["stream"] = true;
  Streamed st;
  s.service.submit(body, Endpoint::ChatCompletions, sink_into(st));
  while (!st.done) ASSERT_TRUE(s.service.step());
  std::string streamed;
  for (const Json& c : st.chunks) streamed += c["choices"][0]["delta"].value("content", "");
  EXPECT_EQ(streamed, expected);
  EXPECT_EQ(content(st.response), expected);
  EXPECT_EQ(st.response["choices"][0]["finish_reason"], "stop");
}

TEST(Service, SeveralChoicesShareThePrompt) {
  Stack s;
  const Json one = s.service.run(chat(kLong, {{"temperature", 1.0}, {"seed", 5}}), Endpoint::ChatCompletions);
  const Json three = s.service.run(chat(kLong, {{"temperature", 1.0}, {"seed", 5}, {"n", 3}}), Endpoint::ChatCompletions);
  ASSERT_EQ(three["choices"].size(), 3u);
  int completion_tokens = 0;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(three["choices"][i]["index"], i);
  EXPECT_EQ(content(three), content(one));  // choice 0 is what n = 1 gives
  EXPECT_NE(three["choices"][1]["message"]["content"], three["choices"][2]["message"]["content"]);
  for (const Json& r : {one}) completion_tokens = r["usage"]["completion_tokens"];
  EXPECT_GT(three["usage"]["completion_tokens"].get<int>(), completion_tokens);
  const Json greedy = s.service.run(chat(kLong, {{"n", 2}}), Endpoint::ChatCompletions);
  EXPECT_EQ(greedy["choices"][0]["message"], greedy["choices"][1]["message"]);
  EXPECT_EQ(greedy["usage"]["completion_tokens"].get<int>(), 2 * s.service.run(chat(kLong), Endpoint::ChatCompletions)["usage"]["completion_tokens"].get<int>());
}

TEST(Service, CancelStopsAStreamAndFreesItsPages) {
  Stack s(Stack::options(), ServiceOptions{"weblm", 0});  // no prefix cache: every page must come back
  const int32_t all_pages = s.engine.kv().free_pages();
  Streamed st;
  const RequestId id = s.service.submit(completion(kLong, {{"stream", true}, {"max_tokens", 100}, {"ignore_eos", true}}),
                                        Endpoint::Completions, sink_into(st));
  while (st.chunks.size() < 4) ASSERT_TRUE(s.service.step());
  EXPECT_TRUE(s.service.cancel(id));
  while (!st.done) s.service.step();
  EXPECT_EQ(st.response["choices"][0]["finish_reason"], "cancelled");
  EXPECT_EQ(st.chunks.back()["choices"][0]["finish_reason"], "cancelled");
  EXPECT_LT(st.response["usage"]["completion_tokens"].get<int>(), 100);
  EXPECT_TRUE(s.service.idle());
  EXPECT_FALSE(s.service.cancel(id));
  EXPECT_EQ(s.engine.kv().free_pages(), all_pages);
  EXPECT_FALSE(content(s.service.run(chat("Hello"), Endpoint::ChatCompletions)).empty());  // still serving
}

TEST(Service, CancelWhileQueuedDeliversAnEmptyResponse) {
  Stack s;
  Streamed st;
  const RequestId id = s.service.submit(chat("Hello"), Endpoint::ChatCompletions, sink_into(st));
  s.service.cancel(id);
  EXPECT_FALSE(s.service.step());
  EXPECT_TRUE(st.done);
  EXPECT_EQ(content(st.response), "");
  EXPECT_EQ(st.response["choices"][0]["finish_reason"], "cancelled");
}

// The logits after reusing cached KV are those of computing everything afresh, bit for bit.
TEST(Service, PrefixReuseGivesIdenticalLogits) {
  Engine engine(test_model().model, Stack::options());
  const std::vector<int32_t> tokens =
      test_model().tokenizer.encode(kLong + " And then some more words to follow the prefix.", true, false);
  ASSERT_GT(tokens.size(), 60u);
  const std::vector<float> fresh = engine.prefill(engine.kv().create_sequence(), tokens, true);
  const int32_t cached = engine.kv().create_sequence();
  engine.prefill(cached, std::span(tokens).first(50), false);
  const int32_t reused = engine.kv().fork(cached, 37);  // mid-page: its last page is shared, copied on write
  const std::vector<float> rest = engine.prefill(reused, std::span(tokens).subspan(37), true);
  const size_t n_vocab = static_cast<size_t>(engine.n_vocab());
  ASSERT_EQ(rest.size(), (tokens.size() - 37) * n_vocab);
  EXPECT_TRUE(std::equal(rest.begin(), rest.end(), fresh.begin() + 37 * n_vocab));
}

// Responses (text and logprobs) are the same whether the prompt's KV was reused or computed.
TEST(Service, ReusedPrefixesChangeNoResult) {
  const Json first_turn = Json::parse(R"([{"role": "system", "content": "You are a test."},
      {"role": "user", "content": "Name three colors of the rainbow, please."}])");
  auto conversation = [&](const std::string& first_user, const std::string& second_user) {
    Json m = first_turn;
    m[1]["content"] = first_user;
    m.push_back({{"role", "assistant"}, {"content", "Red, green and blue."}});
    m.push_back({{"role", "user"}, {"content", second_user}});
    return Json{{"messages", m}, {"max_tokens", 16}, {"temperature", 0}, {"logprobs", true}, {"top_logprobs", 4}};
  };
  const Json follow_up = conversation("Name three colors of the rainbow, please.", "And three more?");
  const Json edited = conversation("Name three animals of the forest, please.", "And three more?");
  auto fresh = [&](const Json& body) {
    Stack s;
    return s.service.run(body, Endpoint::ChatCompletions);
  };
  const Json follow_up_fresh = fresh(follow_up), edited_fresh = fresh(edited);

  Stack s;
  Json first = follow_up;
  first["messages"] = first_turn;
  s.service.run(first, Endpoint::ChatCompletions);
  const Json follow_up_reused = s.service.run(follow_up, Endpoint::ChatCompletions);
  const Json edited_reused = s.service.run(edited, Endpoint::ChatCompletions);  // an earlier turn changed

  const Request req = parse_request(follow_up, Endpoint::ChatCompletions, s.engine.n_vocab());
  const std::vector<int32_t> follow_tokens = s.service.prompt_tokens(req);
  const std::vector<int32_t> edited_tokens =
      s.service.prompt_tokens(parse_request(edited, Endpoint::ChatCompletions, s.engine.n_vocab()));
  const int32_t common = static_cast<int32_t>(
      std::mismatch(follow_tokens.begin(), follow_tokens.end(), edited_tokens.begin()).first - follow_tokens.begin());
  EXPECT_GT(follow_up_reused["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), 20);
  EXPECT_EQ(edited_reused["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), common);
  for (const auto& [a, b] : {std::pair(follow_up_fresh, follow_up_reused), std::pair(edited_fresh, edited_reused)}) {
    EXPECT_EQ(a["choices"], b["choices"]);
    EXPECT_EQ(a["usage"]["completion_tokens"], b["usage"]["completion_tokens"]);
  }
}

// Several requests stepped together (prompt chunks and decode tokens in the same passes) give
// exactly what each gives alone.
TEST(Service, BatchedRequestsGiveWhatTheyGiveAlone) {
  const std::vector<std::pair<Json, Endpoint>> requests = {
      {chat(kLong), Endpoint::ChatCompletions},
      {chat("Hi", {{"temperature", 0.9}, {"seed", 3}, {"n", 2}, {"max_tokens", 30}}), Endpoint::ChatCompletions},
      {completion(kLong + kLong, {{"temperature", 0.7}, {"seed", 9}, {"top_k", 20}, {"logprobs", 2}}), Endpoint::Completions},
      {completion("Once", {{"max_tokens", 40}, {"frequency_penalty", 1.0}, {"logit_bias", {{"42", 5}}}}), Endpoint::Completions},
  };
  std::vector<Json> alone;
  for (const auto& [body, endpoint] : requests) {
    Stack s;
    alone.push_back(s.service.run(body, endpoint));
  }
  for (int32_t n_seq_max : {8, 2}) {  // with 2, requests wait for KV pages and run in turns
    EngineOptions eo = Stack::options();
    eo.n_seq_max = n_seq_max;
    Stack s(eo);
    std::vector<Streamed> out(requests.size());
    for (size_t i = 0; i < requests.size(); ++i) s.service.submit(requests[i].first, requests[i].second, sink_into(out[i]));
    int steps = 0;
    while (!s.service.idle()) {
      ASSERT_TRUE(s.service.step_submit());
      s.service.step_complete();
      ++steps;
    }
    for (size_t i = 0; i < requests.size(); ++i) {
      ASSERT_TRUE(out[i].done);
      EXPECT_EQ(out[i].response["choices"], alone[i]["choices"]) << "request " << i << " with n_seq_max " << n_seq_max;
      EXPECT_EQ(out[i].response["usage"]["completion_tokens"], alone[i]["usage"]["completion_tokens"]);
    }
    if (n_seq_max == 8) EXPECT_LT(steps, 60);  // together, not one after another
  }
}

// With room for one sequence, a follow-up that may fill the whole context still runs: the cached
// conversation it extends gives its pages up (and stops sharing them) instead of blocking it.
TEST(Service, OneSequenceServesAFollowUpThatMayFillTheContext) {
  EngineOptions eo = Stack::options();
  eo.n_seq_max = 1;
  Stack s(eo);
  const Json first = s.service.run(chat("Hello", {{"max_tokens", 8}}), Endpoint::ChatCompletions);
  Json follow_up = chat("Hello", {{"max_tokens", nullptr}});
  follow_up["messages"].push_back({{"role", "assistant"}, {"content", content(first)}});
  follow_up["messages"].push_back({{"role", "user"}, {"content", "More"}});
  const Json r = s.service.run(follow_up, Endpoint::ChatCompletions);
  EXPECT_GT(r["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), 20);
  EXPECT_GT(r["usage"]["completion_tokens"].get<int>(), 0);
}

TEST(Service, ContextOverflowIsRejectedBeforeAnyCompute) {
  Stack s;
  const std::vector<std::pair<Json, Endpoint>> too_long = {
      {chat(kLong, {{"max_tokens", 250}}), Endpoint::ChatCompletions},
      {completion(kLong + kLong + kLong + kLong + kLong + kLong, {{"max_tokens", 1}}), Endpoint::Completions},
  };
  for (const auto& [body, endpoint] : too_long) {
    try {
      s.service.submit(body, endpoint, {});
      FAIL() << "accepted";
    } catch (const ApiError& e) {
      EXPECT_EQ(e.code(), "context_length_exceeded");
      EXPECT_EQ(e.param(), endpoint == Endpoint::ChatCompletions ? "messages" : "prompt");
      EXPECT_NE(std::string(e.what()).find("maximum context length is 256 tokens"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(s.service.idle());
  }
  // Without max_tokens the reply may fill the context, and ends with "length" there.
  const Json r = s.service.run(chat(kLong, {{"max_tokens", nullptr}, {"ignore_eos", true}}), Endpoint::ChatCompletions);
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(r["usage"]["total_tokens"], 256);
}

TEST(Service, InvalidRequestsAreRejectedBeforeAnyCompute) {
  Stack s;
  EXPECT_THROW(s.service.submit(chat("x", {{"temperature", 5}}), Endpoint::ChatCompletions, {}), ApiError);
  EXPECT_THROW(s.service.submit(chat("x", {{"logit_bias", {{"100000", 1}}}}), Endpoint::ChatCompletions, {}), ApiError);
  EXPECT_THROW(s.service.submit(chat("x", {{"n", 40}, {"max_tokens", 200}}), Endpoint::ChatCompletions, {}), ApiError);
  EXPECT_TRUE(s.service.idle());
  EXPECT_FALSE(s.service.step());
}

TEST(Service, StepsMustAlternate) {
  Stack s;
  EXPECT_THROW(s.service.step_complete(), Error);
  s.service.submit(chat("Hi"), Endpoint::ChatCompletions, {});
  ASSERT_TRUE(s.service.step_submit());
  EXPECT_THROW(s.service.step_submit(), Error);
  s.service.step_complete();
}

}  // namespace
}  // namespace weblm::api
