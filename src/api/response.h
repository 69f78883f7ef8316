// Response JSON exactly in OpenAI's shapes: chat.completion, chat.completion.chunk, and
// text_completion (whole and streamed), with `usage` and both logprobs formats (chat's
// `logprobs.content[]` and the legacy completions' parallel arrays).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/json.h"
#include "api/request.h"

namespace weblm::api {

// Cancelled is not OpenAI's: it ends a response whose request was cancelled before finishing.
enum class FinishReason { Stop, Length, Cancelled };
const char* finish_reason_name(FinishReason r);

struct TokenLogprob {
  std::string bytes;   // the token's bytes as the text has them (may be part of a UTF-8 character;
                       // none for control tokens, which the text does not show either)
  float logprob = 0;
  int64_t text_offset = 0;  // characters of output text before this token (legacy completions)
  std::vector<std::pair<std::string, float>> top;  // most likely tokens (bytes, logprob), best first
};

// What every response and chunk of one request repeats.
struct ResponseHead {
  std::string id;  // "chatcmpl-..." / "cmpl-..."
  int64_t created = 0;
  std::string model;
  Endpoint endpoint = Endpoint::ChatCompletions;
  bool logprobs = false;       // the request asked for logprobs
  bool include_usage = false;  // streamed: every chunk carries "usage": null, the last one the usage
};

struct Usage {
  int32_t prompt_tokens = 0;
  int32_t completion_tokens = 0;
  int32_t cached_tokens = 0;  // prompt tokens whose KV was reused from an earlier request
};

struct ChoiceResult {
  std::string text;
  std::vector<TokenLogprob> logprobs;
  FinishReason finish = FinishReason::Stop;
};

// One streamed piece of one choice.
struct ChoiceDelta {
  int32_t index = 0;
  bool first = false;  // chat: the delta that announces the assistant role
  std::string text;
  std::vector<TokenLogprob> logprobs;
  std::optional<FinishReason> finish;
};

std::string make_response_id(Endpoint endpoint, uint64_t unique);
Json response_json(const ResponseHead& head, const std::vector<ChoiceResult>& choices, const Usage& usage);
Json chunk_json(const ResponseHead& head, const ChoiceDelta& delta);
// The final chunk of a stream with stream_options.include_usage: no choices, the usage.
Json usage_chunk_json(const ResponseHead& head, const Usage& usage);

// `bytes` with every ill-formed UTF-8 sequence replaced by U+FFFD: a token's bytes as JSON text.
std::string printable(const std::string& bytes);

}  // namespace weblm::api
