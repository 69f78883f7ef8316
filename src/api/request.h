// An OpenAI-shaped generation request, parsed and validated from its JSON body before any
// compute: chat.completions (`messages`) or the plain completions shape (`prompt`). Every
// rejected value is an ApiError (400) naming the offending field in `param`.
//
// Accepted beyond OpenAI's own fields (as vLLM and llama.cpp's server accept them): `top_k`,
// `min_p`, `repetition_penalty`, `ignore_eos`, and `chat_template_kwargs` (extra template
// variables such as {"enable_thinking": false}). Known OpenAI fields that change nothing here
// (`user`, `metadata`, `store`, `service_tier`, `parallel_tool_calls`) are accepted and ignored;
// any other field is rejected, as OpenAI does. Not supported (rejected with a clear message):
// more than one prompt per completions request, `suffix`, `best_of` > 1, `echo` with
// `logprobs`, non-text content parts, forcing tool calls, and JSON response formats.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/json.h"
#include "runtime/sampler.h"

namespace weblm::api {

enum class Endpoint { ChatCompletions, Completions };

struct Request {
  Endpoint endpoint = Endpoint::ChatCompletions;
  std::string model;  // as the client named it; empty when it named none

  // chat.completions: messages ready for the chat template (content parts joined into strings,
  // tool-call arguments parsed into objects); `tools` and `template_kwargs` are null when absent.
  Json messages;
  Json tools;
  Json template_kwargs;

  // completions: the prompt as text, or as token ids when the client sent ids.
  std::string prompt_text;
  std::optional<std::vector<int32_t>> prompt_tokens;
  bool echo = false;

  std::optional<int32_t> max_tokens;  // none: until the context is full
  int32_t n = 1;                      // choices, each sampled independently from one prompt
  std::vector<std::string> stop;
  SamplingParams sampling;            // OpenAI's defaults (temperature 1, no truncation)
  std::optional<uint64_t> seed;
  bool logprobs = false;
  int32_t top_logprobs = 0;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool ignore_eos = false;
};

// `body` is the parsed JSON body; n_vocab bounds the token ids of logit_bias and of a token prompt.
Request parse_request(const Json& body, Endpoint endpoint, int32_t n_vocab);

}  // namespace weblm::api
