#include "cli/service_options.h"

#include <algorithm>

namespace weblm::cli {

std::vector<OptionSpec> engine_options() {
  return {
      {{"-m", "--model"}, true, "GGUF model file"},
      {{"-c", "--ctx-size"}, true, "context size per sequence, default min(4096, the model's)"},
      {{"-b", "--batch-size"}, true, "tokens per forward pass, default 512"},
      {{"-t", "--threads"}, true, "threads, default all cores"},
      {{"-np", "--parallel"}, true, "sequences held in the KV cache at once (parallel requests and choices), default 1"},
  };
}

ServiceStack open_service(const Args& a) {
  ServiceStack s;
  const std::string path = a.required("-m");
  s.model = load_model(path, thread_count(a.integer("-t", 0)));
  EngineOptions eo;
  eo.n_ctx = static_cast<int32_t>(a.integer("-c", std::min<int64_t>(4096, s.model.model->config().n_ctx_train)));
  eo.n_batch = static_cast<int32_t>(a.integer("-b", 512));
  eo.n_seq_max = static_cast<int32_t>(a.integer("-np", 1));
  s.engine = std::make_unique<Engine>(*s.model.model, eo);
  api::ServiceOptions so;
  so.model_id = path.substr(path.find_last_of('/') + 1);
  s.service = std::make_unique<api::Service>(*s.engine, *s.model.tokenizer, so);
  return s;
}

std::vector<OptionSpec> sampling_options() {
  return {
      {{"--temp"}, true, "temperature (0 = greedy), default 0.8"},
      {{"--top-k"}, true, "top-k cut, default 40 (0 = off)"},
      {{"--top-p"}, true, "top-p cut, default 0.95"},
      {{"--min-p"}, true, "min-p cut, default 0.05"},
      {{"--repeat-penalty"}, true, "repetition penalty over the generated tokens, default 1.0 (off)"},
      {{"--frequency-penalty"}, true, "OpenAI frequency penalty, default 0"},
      {{"--presence-penalty"}, true, "OpenAI presence penalty, default 0"},
      {{"--seed", "-s"}, true, "random seed, default 0"},
  };
}

void add_sampling(const Args& a, api::Json& request) {
  request["temperature"] = a.number("--temp", 0.8f);
  request["top_k"] = a.integer("--top-k", 40);
  request["top_p"] = a.number("--top-p", 0.95f);
  request["min_p"] = a.number("--min-p", 0.05f);
  request["repetition_penalty"] = a.number("--repeat-penalty", 1.f);
  request["frequency_penalty"] = a.number("--frequency-penalty", 0.f);
  request["presence_penalty"] = a.number("--presence-penalty", 0.f);
  request["seed"] = a.integer("--seed", 0);
}

}  // namespace weblm::cli
