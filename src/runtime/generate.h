// The decode loop for one sequence: prefill the prompt in chunks, then sample one token per
// forward pass until a stop condition. Front ends (CLI, chat API, wasm) stream through on_token.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "runtime/engine.h"
#include "runtime/sampler.h"
#include "tokenizer/tokenizer.h"

namespace weblm {

struct GenerateRequest {
  std::vector<int32_t> prompt;
  SamplingParams sampling;
  int32_t max_tokens = -1;   // < 0: until the context is full
  bool ignore_eos = false;   // keep going past end-of-generation tokens (benchmarks)
};

enum class FinishReason { Stop, Length, Cancelled };
const char* finish_reason_name(FinishReason r);  // "stop", "length", "cancelled"

struct GenerateStats {
  int32_t prompt_tokens = 0;
  int32_t generated_tokens = 0;
  double prompt_ms = 0;   // prefill time = time to first token's logits
  double decode_ms = 0;   // everything after
  FinishReason finish = FinishReason::Stop;
};

// Calls on_token for every generated token (end-of-generation tokens excluded); on_token returns
// false to stop (a stop string matched, the client went away). The sequence keeps its KV.
GenerateStats generate(Engine& engine, int32_t seq, const Tokenizer& tokenizer, const GenerateRequest& request,
                       const std::function<bool(int32_t token)>& on_token);

}  // namespace weblm
