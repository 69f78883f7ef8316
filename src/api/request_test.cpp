#include "api/request.h"

#include <gtest/gtest.h>

#include "api/api_error.h"

namespace weblm::api {
namespace {

constexpr int32_t kVocab = 100;

Json chat_body() { return Json::parse(R"({"model": "m", "messages": [{"role": "user", "content": "hi"}]})"); }
Json completion_body() { return Json::parse(R"({"model": "m", "prompt": "hi"})"); }

// The ApiError parse_request throws for `body`.
ApiError error_of(const Json& body, Endpoint endpoint) {
  try {
    parse_request(body, endpoint, kVocab);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << body.dump();
  return ApiError(0, "", "");
}

TEST(Request, ChatDefaultsAreOpenAIs) {
  const Request r = parse_request(chat_body(), Endpoint::ChatCompletions, kVocab);
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.messages, Json::parse(R"([{"role": "user", "content": "hi"}])"));
  EXPECT_TRUE(r.tools.is_null());
  EXPECT_FALSE(r.max_tokens);
  EXPECT_EQ(r.n, 1);
  EXPECT_EQ(r.sampling.temperature, 1.f);
  EXPECT_EQ(r.sampling.top_p, 1.f);
  EXPECT_EQ(r.sampling.top_k, 0);
  EXPECT_EQ(r.sampling.min_p, 0.f);
  EXPECT_EQ(r.sampling.repeat_penalty, 1.f);
  EXPECT_FALSE(r.seed);
  EXPECT_FALSE(r.stream);
  EXPECT_FALSE(r.logprobs);
}

TEST(Request, CompletionsDefaultTo16TokensAndAcceptEveryPromptForm) {
  Request r = parse_request(completion_body(), Endpoint::Completions, kVocab);
  EXPECT_EQ(r.max_tokens, 16);
  EXPECT_EQ(r.prompt_text, "hi");
  EXPECT_FALSE(r.prompt_tokens);
  Json b = completion_body();
  b["prompt"] = Json::array({"one"});
  EXPECT_EQ(parse_request(b, Endpoint::Completions, kVocab).prompt_text, "one");
  b["prompt"] = Json::array({1, 2, 3});
  EXPECT_EQ(parse_request(b, Endpoint::Completions, kVocab).prompt_tokens, (std::vector<int32_t>{1, 2, 3}));
  b["prompt"] = Json::parse("[[4, 5]]");
  EXPECT_EQ(parse_request(b, Endpoint::Completions, kVocab).prompt_tokens, (std::vector<int32_t>{4, 5}));
}

TEST(Request, FieldsAreRead) {
  Json b = chat_body();
  b.update(Json::parse(R"({"max_completion_tokens": 7, "max_tokens": 9, "n": 3, "temperature": 0.5, "top_p": 0.9,
    "top_k": 20, "min_p": 0.1, "repetition_penalty": 1.1, "frequency_penalty": 0.5, "presence_penalty": -0.5,
    "logit_bias": {"5": -100, "7": 2.5}, "seed": -1, "stop": ["a", "bc"], "logprobs": true, "top_logprobs": 3,
    "stream": true, "stream_options": {"include_usage": true}, "ignore_eos": true, "user": "u",
    "chat_template_kwargs": {"enable_thinking": false}})"));
  const Request r = parse_request(b, Endpoint::ChatCompletions, kVocab);
  EXPECT_EQ(r.max_tokens, 7);  // max_completion_tokens wins
  EXPECT_EQ(r.n, 3);
  EXPECT_FLOAT_EQ(r.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.sampling.top_p, 0.9f);
  EXPECT_EQ(r.sampling.top_k, 20);
  EXPECT_FLOAT_EQ(r.sampling.min_p, 0.1f);
  EXPECT_FLOAT_EQ(r.sampling.repeat_penalty, 1.1f);
  EXPECT_FLOAT_EQ(r.sampling.frequency_penalty, 0.5f);
  EXPECT_FLOAT_EQ(r.sampling.presence_penalty, -0.5f);
  EXPECT_EQ(r.sampling.logit_bias, (std::map<int32_t, float>{{5, -100.f}, {7, 2.5f}}));
  EXPECT_EQ(r.seed, ~uint64_t{0});
  EXPECT_EQ(r.stop, (std::vector<std::string>{"a", "bc"}));
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 3);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_TRUE(r.ignore_eos);
  EXPECT_EQ(r.template_kwargs, Json::parse(R"({"enable_thinking": false})"));
}

TEST(Request, TopPZeroMeansGreedy) {
  Json b = chat_body();
  b["top_p"] = 0;
  const Request r = parse_request(b, Endpoint::ChatCompletions, kVocab);
  EXPECT_EQ(r.sampling.temperature, 0.f);
}

TEST(Request, MessagesAreNormalizedForTemplates) {
  Json b = chat_body();
  b["messages"] = Json::parse(R"([
    {"role": "developer", "content": "be brief"},
    {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
    {"role": "assistant", "content": null, "tool_calls": [
      {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"x\": 1}"}},
      {"id": "c2", "type": "function", "function": {"name": "g", "arguments": "not json"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "3"}])");
  const Request r = parse_request(b, Endpoint::ChatCompletions, kVocab);
  EXPECT_EQ(r.messages[0]["role"], "system");
  EXPECT_EQ(r.messages[1]["content"], "one\ntwo");
  EXPECT_EQ(r.messages[2]["tool_calls"][0]["function"]["arguments"], Json::parse(R"({"x": 1})"));
  EXPECT_EQ(r.messages[2]["tool_calls"][1]["function"]["arguments"], "not json");
  EXPECT_EQ(r.messages[3]["tool_call_id"], "c1");
}

struct BadCase {
  const char* patch;  // JSON merged into a valid body (null removes a field)
  const char* param;
  const char* code;
};

void expect_rejected(const std::vector<BadCase>& cases, Endpoint endpoint, const Json& base) {
  for (const BadCase& c : cases) {
    Json body = base;
    body.merge_patch(Json::parse(c.patch));
    const ApiError e = error_of(body, endpoint);
    EXPECT_EQ(e.status(), 400) << c.patch;
    EXPECT_EQ(e.type(), "invalid_request_error") << c.patch;
    EXPECT_EQ(e.param(), c.param) << c.patch << ": " << e.what();
    EXPECT_EQ(e.code(), c.code) << c.patch << ": " << e.what();
    EXPECT_NE(std::string(e.what()).find(c.param), std::string::npos) << "message should name the field: " << e.what();
  }
}

TEST(Request, EveryChatParameterIsValidatedByName) {
  expect_rejected(
      {
          {R"({"model": 5})", "model", "invalid_type"},
          {R"({"messages": null})", "messages", "missing_required_parameter"},
          {R"({"messages": []})", "messages", "invalid_value"},
          {R"({"messages": "hi"})", "messages", "invalid_type"},
          {R"({"messages": [3]})", "messages[0]", "invalid_type"},
          {R"({"messages": [{"content": "x"}]})", "messages[0].role", "missing_required_parameter"},
          {R"({"messages": [{"role": "robot", "content": "x"}]})", "messages[0].role", "invalid_value"},
          {R"({"messages": [{"role": "user"}]})", "messages[0].content", "missing_required_parameter"},
          {R"({"messages": [{"role": "user", "content": 5}]})", "messages[0].content", "invalid_type"},
          {R"({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]})",
           "messages[0].content[0].type", "invalid_value"},
          {R"({"messages": [{"role": "user", "content": [{"type": "text"}]}]})", "messages[0].content[0].text",
           "missing_required_parameter"},
          {R"({"messages": [{"role": "user", "content": "x", "tool_calls": []}]})", "messages[0].tool_calls", "invalid_value"},
          {R"({"messages": [{"role": "assistant", "tool_calls": [{"function": {}}]}]})",
           "messages[0].tool_calls[0].function.name", "missing_required_parameter"},
          {R"({"messages": [{"role": "tool", "content": "x"}]})", "messages[0].tool_call_id", "missing_required_parameter"},
          {R"({"messages": [{"role": "user", "content": "x", "name": 1}]})", "messages[0].name", "invalid_type"},
          {R"({"tools": {}})", "tools", "invalid_type"},
          {R"({"tools": [{"type": "code"}]})", "tools[0].type", "invalid_value"},
          {R"({"tools": [{"type": "function", "function": {"description": "d"}}]})", "tools[0].function.name",
           "missing_required_parameter"},
          {R"({"tool_choice": "required"})", "tool_choice", "invalid_value"},
          {R"({"response_format": {"type": "json_object"}})", "response_format", "invalid_value"},
          {R"({"chat_template_kwargs": "x"})", "chat_template_kwargs", "invalid_type"},
          {R"({"max_tokens": 0})", "max_tokens", "invalid_value"},
          {R"({"max_tokens": 1.5})", "max_tokens", "invalid_type"},
          {R"({"max_completion_tokens": -1})", "max_completion_tokens", "invalid_value"},
          {R"({"n": 0})", "n", "invalid_value"},
          {R"({"n": 129})", "n", "invalid_value"},
          {R"({"temperature": -0.1})", "temperature", "invalid_value"},
          {R"({"temperature": 2.5})", "temperature", "invalid_value"},
          {R"({"temperature": "hot"})", "temperature", "invalid_type"},
          {R"({"top_p": 1.5})", "top_p", "invalid_value"},
          {R"({"top_k": -2})", "top_k", "invalid_value"},
          {R"({"min_p": 2})", "min_p", "invalid_value"},
          {R"({"repetition_penalty": 0})", "repetition_penalty", "invalid_value"},
          {R"({"frequency_penalty": 3})", "frequency_penalty", "invalid_value"},
          {R"({"presence_penalty": -3})", "presence_penalty", "invalid_value"},
          {R"({"logit_bias": [1]})", "logit_bias", "invalid_type"},
          {R"({"logit_bias": {"abc": 1}})", "logit_bias", "invalid_value"},
          {R"({"logit_bias": {"100": 1}})", "logit_bias", "invalid_value"},
          {R"({"logit_bias": {"-1": 1}})", "logit_bias", "invalid_value"},
          {R"({"logit_bias": {"5": 101}})", "logit_bias.5", "invalid_value"},
          {R"({"logit_bias": {"5": "up"}})", "logit_bias.5", "invalid_type"},
          {R"({"seed": 1.5})", "seed", "invalid_type"},
          {R"({"stop": 3})", "stop", "invalid_type"},
          {R"({"stop": ""})", "stop", "invalid_value"},
          {R"({"stop": ["a", 1]})", "stop[1]", "invalid_type"},
          {R"({"stop": ["a", "b", "c", "d", "e"]})", "stop", "invalid_value"},
          {R"({"logprobs": "yes"})", "logprobs", "invalid_type"},
          {R"({"logprobs": true, "top_logprobs": 21})", "top_logprobs", "invalid_value"},
          {R"({"top_logprobs": 2})", "top_logprobs", "invalid_value"},
          {R"({"stream": "true"})", "stream", "invalid_type"},
          {R"({"stream_options": {"include_usage": true}})", "stream_options", "invalid_value"},
          {R"({"stream": true, "stream_options": {"include_usage": 1}})", "stream_options.include_usage", "invalid_type"},
          {R"({"stream": true, "stream_options": {"other": 1}})", "stream_options.other", "unknown_parameter"},
          {R"({"ignore_eos": 1})", "ignore_eos", "invalid_type"},
          {R"({"prompt": "hi"})", "prompt", "unknown_parameter"},
          {R"({"frobnicate": true})", "frobnicate", "unknown_parameter"},
      },
      Endpoint::ChatCompletions, chat_body());
}

TEST(Request, EveryCompletionsParameterIsValidatedByName) {
  expect_rejected(
      {
          {R"({"prompt": null})", "prompt", "missing_required_parameter"},
          {R"({"prompt": 5})", "prompt", "invalid_type"},
          {R"({"prompt": []})", "prompt", "invalid_value"},
          {R"({"prompt": ["a", "b"]})", "prompt", "invalid_value"},
          {R"({"prompt": [1, 100]})", "prompt[1]", "invalid_value"},
          {R"({"prompt": [1, "x"]})", "prompt[1]", "invalid_type"},
          {R"({"prompt": [[1, -1]]})", "prompt[0][1]", "invalid_value"},
          {R"({"prompt": [[]]})", "prompt[0]", "invalid_type"},
          {R"({"suffix": "end"})", "suffix", "invalid_value"},
          {R"({"best_of": 2})", "best_of", "invalid_value"},
          {R"({"logprobs": 6})", "logprobs", "invalid_value"},
          {R"({"logprobs": true})", "logprobs", "invalid_type"},
          {R"({"echo": true, "logprobs": 1})", "echo", "invalid_value"},
          {R"({"max_completion_tokens": 5})", "max_completion_tokens", "unknown_parameter"},
          {R"({"messages": []})", "messages", "unknown_parameter"},
      },
      Endpoint::Completions, completion_body());
}

TEST(Request, BodyMustBeAnObject) {
  const ApiError e = error_of(Json::array(), Endpoint::ChatCompletions);
  EXPECT_EQ(e.code(), "invalid_type");
  EXPECT_EQ(e.to_json()["error"]["param"], nullptr);
}

TEST(Request, ErrorsHaveOpenAIsShape) {
  Json b = chat_body();
  b["temperature"] = 3;
  const Json j = error_of(b, Endpoint::ChatCompletions).to_json();
  ASSERT_EQ(j.size(), 1u);
  const Json& e = j.at("error");
  std::vector<std::string> keys;
  for (const auto& [k, v] : e.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"message", "type", "param", "code"}));
  EXPECT_EQ(e["type"], "invalid_request_error");
  EXPECT_EQ(e["param"], "temperature");
  EXPECT_EQ(e["code"], "invalid_value");
}

}  // namespace
}  // namespace weblm::api
