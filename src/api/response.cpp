#include "api/response.h"

#include <cstdio>

#include "tokenizer/unicode.h"

namespace weblm::api {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
    case FinishReason::Cancelled: return "cancelled";
  }
  return "stop";
}

std::string printable(const std::string& bytes) {
  std::string out;
  std::string_view rest = bytes;
  while (!rest.empty()) {
    const Utf8Prefix p = utf8_valid_prefix(rest);
    out.append(rest.substr(0, p.valid));
    rest.remove_prefix(p.valid);
    if (rest.empty()) break;
    out += "\xEF\xBF\xBD";
    rest.remove_prefix(p.incomplete_tail ? rest.size() : p.invalid);
  }
  return out;
}

std::string make_response_id(Endpoint endpoint, uint64_t unique) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(unique));
  return std::string(endpoint == Endpoint::ChatCompletions ? "chatcmpl-" : "cmpl-") + hex;
}

namespace {

Json byte_values(const std::string& bytes) {
  Json out = Json::array();
  for (unsigned char c : bytes) out.push_back(static_cast<int>(c));
  return out;
}

// chat: {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}], "refusal": null}
Json chat_logprobs(const std::vector<TokenLogprob>& tokens) {
  Json content = Json::array();
  for (const TokenLogprob& t : tokens) {
    Json top = Json::array();
    for (const auto& [bytes, logprob] : t.top)
      top.push_back({{"token", printable(bytes)}, {"logprob", logprob}, {"bytes", byte_values(bytes)}});
    content.push_back({{"token", printable(t.bytes)}, {"logprob", t.logprob}, {"bytes", byte_values(t.bytes)},
                       {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}, {"refusal", nullptr}};
}

// legacy completions: {"tokens", "token_logprobs", "top_logprobs": [{token: logprob}], "text_offset"}
Json completion_logprobs(const std::vector<TokenLogprob>& tokens) {
  Json texts = Json::array(), logprobs = Json::array(), tops = Json::array(), offsets = Json::array();
  for (const TokenLogprob& t : tokens) {
    texts.push_back(printable(t.bytes));
    logprobs.push_back(t.logprob);
    Json top = Json::object();
    for (const auto& [bytes, logprob] : t.top) {
      const std::string key = printable(bytes);
      if (!top.contains(key)) top[key] = logprob;
    }
    tops.push_back(std::move(top));
    offsets.push_back(t.text_offset);
  }
  return {{"tokens", std::move(texts)}, {"token_logprobs", std::move(logprobs)}, {"top_logprobs", std::move(tops)},
          {"text_offset", std::move(offsets)}};
}

Json logprobs_json(const ResponseHead& head, const std::vector<TokenLogprob>& tokens) {
  if (!head.logprobs) return nullptr;
  return head.endpoint == Endpoint::ChatCompletions ? chat_logprobs(tokens) : completion_logprobs(tokens);
}

Json usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

bool is_chat(const ResponseHead& head) { return head.endpoint == Endpoint::ChatCompletions; }

Json head_json(const ResponseHead& head, const char* object) {
  return {{"id", head.id}, {"object", object}, {"created", head.created}, {"model", head.model}};
}

}  // namespace

Json response_json(const ResponseHead& head, const std::vector<ChoiceResult>& choices, const Usage& usage) {
  Json out = head_json(head, is_chat(head) ? "chat.completion" : "text_completion");
  Json list = Json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    const ChoiceResult& c = choices[i];
    if (is_chat(head)) {
      list.push_back({{"index", i},
                      {"message", {{"role", "assistant"}, {"content", c.text}, {"refusal", nullptr}}},
                      {"logprobs", logprobs_json(head, c.logprobs)},
                      {"finish_reason", finish_reason_name(c.finish)}});
    } else {
      list.push_back({{"text", c.text}, {"index", i}, {"logprobs", logprobs_json(head, c.logprobs)},
                      {"finish_reason", finish_reason_name(c.finish)}});
    }
  }
  out["choices"] = std::move(list);
  out["usage"] = usage_json(usage);
  return out;
}

Json chunk_json(const ResponseHead& head, const ChoiceDelta& d) {
  Json out = head_json(head, is_chat(head) ? "chat.completion.chunk" : "text_completion");
  const Json finish = d.finish ? Json(finish_reason_name(*d.finish)) : Json(nullptr);
  // Chunks without tokens (the role, the finish) carry null, as OpenAI's do.
  const Json logprobs = d.logprobs.empty() ? Json(nullptr) : logprobs_json(head, d.logprobs);
  Json choice;
  if (is_chat(head)) {
    Json delta = Json::object();
    if (d.first) delta["role"] = "assistant";
    if (d.first || !d.text.empty()) delta["content"] = d.text;
    choice = {{"index", d.index}, {"delta", std::move(delta)}, {"logprobs", logprobs}, {"finish_reason", finish}};
  } else {
    choice = {{"text", d.text}, {"index", d.index}, {"logprobs", logprobs}, {"finish_reason", finish}};
  }
  out["choices"] = Json::array({std::move(choice)});
  if (head.include_usage) out["usage"] = nullptr;
  return out;
}

Json usage_chunk_json(const ResponseHead& head, const Usage& usage) {
  Json out = head_json(head, is_chat(head) ? "chat.completion.chunk" : "text_completion");
  out["choices"] = Json::array();
  out["usage"] = usage_json(usage);
  return out;
}

}  // namespace weblm::api
