#include "api/response.h"

#include <gtest/gtest.h>

namespace weblm::api {
namespace {

std::vector<std::string> keys(const Json& object) {
  std::vector<std::string> out;
  for (const auto& [k, v] : object.items()) out.push_back(k);
  return out;
}

ResponseHead head(Endpoint endpoint) {
  ResponseHead h;
  h.id = make_response_id(endpoint, 0xabc);
  h.created = 1700000000;
  h.model = "m";
  h.endpoint = endpoint;
  return h;
}

TEST(Response, ChatCompletionShape) {
  ResponseHead h = head(Endpoint::ChatCompletions);
  EXPECT_EQ(h.id, "chatcmpl-0000000000000abc");
  ChoiceResult c;
  c.text = "Hello";
  c.finish = FinishReason::Length;
  const Json r = response_json(h, {c}, Usage{5, 1, 2});
  EXPECT_EQ(keys(r), (std::vector<std::string>{"id", "object", "created", "model", "choices", "usage"}));
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_EQ(r["created"], 1700000000);
  const Json& choice = r["choices"][0];
  EXPECT_EQ(keys(choice), (std::vector<std::string>{"index", "message", "logprobs", "finish_reason"}));
  EXPECT_EQ(choice["message"], Json::parse(R"({"role": "assistant", "content": "Hello", "refusal": null})"));
  EXPECT_EQ(choice["logprobs"], nullptr);
  EXPECT_EQ(choice["finish_reason"], "length");
  EXPECT_EQ(r["usage"], Json::parse(R"({"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6,
                                       "prompt_tokens_details": {"cached_tokens": 2}})"));
}

TEST(Response, ChatLogprobsCarryBytesAndPrintableTokens) {
  ResponseHead h = head(Endpoint::ChatCompletions);
  h.logprobs = true;
  ChoiceResult c;
  c.text = "\xE2\x82\xAC";
  c.logprobs = {TokenLogprob{"\xE2", -0.5f, 0, {{"\xE2", -0.5f}, {"a", -1.5f}}},
                TokenLogprob{"\x82\xAC", -0.25f, 1, {}}};
  const Json lp = response_json(h, {c}, Usage{})["choices"][0]["logprobs"];
  EXPECT_EQ(lp["refusal"], nullptr);
  const Json& first = lp["content"][0];
  EXPECT_EQ(keys(first), (std::vector<std::string>{"token", "logprob", "bytes", "top_logprobs"}));
  EXPECT_EQ(first["token"], "\xEF\xBF\xBD");  // U+FFFD: a lone lead byte is not text
  EXPECT_EQ(first["bytes"], Json::parse("[226]"));
  EXPECT_EQ(first["logprob"], -0.5);
  EXPECT_EQ(first["top_logprobs"][1], Json::parse(R"({"token": "a", "logprob": -1.5, "bytes": [97]})"));
  EXPECT_EQ(lp["content"][1]["bytes"], Json::parse("[130, 172]"));
  EXPECT_NO_THROW(lp.dump());  // valid UTF-8 throughout
}

TEST(Response, CompletionsShapeWithLegacyLogprobs) {
  ResponseHead h = head(Endpoint::Completions);
  h.logprobs = true;
  ChoiceResult c;
  c.text = "ab";
  c.logprobs = {TokenLogprob{"a", -0.5f, 0, {{"a", -0.5f}, {"b", -1.f}}}, TokenLogprob{"b", -0.25f, 1, {{"b", -0.25f}}}};
  const Json r = response_json(h, {c}, Usage{3, 2, 0});
  EXPECT_EQ(r["id"], "cmpl-0000000000000abc");
  EXPECT_EQ(r["object"], "text_completion");
  const Json& choice = r["choices"][0];
  EXPECT_EQ(keys(choice), (std::vector<std::string>{"text", "index", "logprobs", "finish_reason"}));
  EXPECT_EQ(choice["logprobs"], Json::parse(R"({"tokens": ["a", "b"], "token_logprobs": [-0.5, -0.25],
      "top_logprobs": [{"a": -0.5, "b": -1.0}, {"b": -0.25}], "text_offset": [0, 1]})"));
}

TEST(Response, ChatChunksAsOpenAIStreamsThem) {
  ResponseHead h = head(Endpoint::ChatCompletions);
  h.include_usage = true;
  ChoiceDelta role;
  role.first = true;
  const Json first = chunk_json(h, role);
  EXPECT_EQ(keys(first), (std::vector<std::string>{"id", "object", "created", "model", "choices", "usage"}));
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["usage"], nullptr);
  EXPECT_EQ(first["choices"][0], Json::parse(R"({"index": 0, "delta": {"role": "assistant", "content": ""},
                                                 "logprobs": null, "finish_reason": null})"));
  ChoiceDelta text;
  text.index = 1;
  text.text = "Hi";
  EXPECT_EQ(chunk_json(h, text)["choices"][0]["delta"], Json::parse(R"({"content": "Hi"})"));
  ChoiceDelta end;
  end.finish = FinishReason::Stop;
  EXPECT_EQ(chunk_json(h, end)["choices"][0], Json::parse(R"({"index": 0, "delta": {}, "logprobs": null,
                                                              "finish_reason": "stop"})"));
  const Json usage = usage_chunk_json(h, Usage{4, 2, 0});
  EXPECT_EQ(usage["choices"], Json::array());
  EXPECT_EQ(usage["usage"]["total_tokens"], 6);
}

TEST(Response, CompletionChunks) {
  ResponseHead h = head(Endpoint::Completions);
  ChoiceDelta d;
  d.text = "x";
  const Json c = chunk_json(h, d);
  EXPECT_EQ(c["object"], "text_completion");
  EXPECT_FALSE(c.contains("usage"));
  EXPECT_EQ(c["choices"][0], Json::parse(R"({"text": "x", "index": 0, "logprobs": null, "finish_reason": null})"));
}

TEST(Response, PrintableReplacesIllFormedUtf8) {
  EXPECT_EQ(printable("a\xC3"), "a\xEF\xBF\xBD");
  EXPECT_EQ(printable("\xFF" "b"), "\xEF\xBF\xBD" "b");
  EXPECT_EQ(printable("\xC3\xA9"), "\xC3\xA9");
}

}  // namespace
}  // namespace weblm::api
