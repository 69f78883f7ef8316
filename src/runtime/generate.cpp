#include "runtime/generate.h"

#include <chrono>

#include "util/error.h"

namespace weblm {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
    case FinishReason::Cancelled: return "cancelled";
  }
  return "stop";
}

GenerateStats generate(Engine& engine, int32_t seq, const Tokenizer& tokenizer, const GenerateRequest& request,
                       const std::function<bool(int32_t token)>& on_token) {
  using Clock = std::chrono::steady_clock;
  auto ms_since = [](Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  };
  if (request.prompt.empty()) fail("the prompt is empty");
  GenerateStats stats;
  stats.prompt_tokens = static_cast<int32_t>(request.prompt.size());
  Sampler sampler(request.sampling, engine.n_vocab());
  for (int32_t t : request.prompt) sampler.accept(t);

  const auto start = Clock::now();
  std::vector<float> logits = engine.prefill(seq, request.prompt, false);
  stats.prompt_ms = ms_since(start);

  const auto decode_start = Clock::now();
  const int32_t n_ctx = engine.options().n_ctx;
  stats.finish = FinishReason::Length;
  while (request.max_tokens < 0 || stats.generated_tokens < request.max_tokens) {
    const int32_t token = sampler.sample(logits);
    if (!request.ignore_eos && tokenizer.is_end_of_generation(token)) {
      stats.finish = FinishReason::Stop;
      break;
    }
    sampler.accept(token);
    ++stats.generated_tokens;
    if (!on_token(token)) {
      stats.finish = FinishReason::Stop;
      break;
    }
    if (engine.kv().length(seq) >= n_ctx) break;  // context full: finish "length"
    if (request.max_tokens >= 0 && stats.generated_tokens >= request.max_tokens) break;
    const SequenceInput in{seq, std::span<const int32_t>(&token, 1), Logits::Last};
    logits = engine.forward(std::span<const SequenceInput>(&in, 1));
  }
  stats.decode_ms = ms_since(decode_start);
  return stats;
}

}  // namespace weblm
