#include "cli/service_options.h"

#include <algorithm>

#include "format/gguf.h"
#include "runtime/model_drafter.h"
#include "runtime/ngram_drafter.h"
#include "tokenizer/vocab.h"
#include "util/error.h"

namespace weblm::cli {

std::vector<OptionSpec> engine_options() {
  return {
      {{"-m", "--model"}, true, "GGUF model file (default: the built-in model)"},
      {{"-c", "--ctx-size", "--ctx"}, true, "context size per sequence, default min(4096, the model's)"},
      {{"-b", "--batch-size"}, true, "tokens per forward pass, default 512"},
      {{"-t", "--threads"}, true, "threads, default all cores"},
      {{"-np", "--parallel"}, true, "sequences held in the KV cache at once (parallel requests and choices), default 1"},
      {{"--spec"}, true, "speculative decoding: none, ngram (prompt lookup) or draft (--draft-model); default none, "
                         "or draft when --draft-model is given"},
      {{"--draft-model"}, true, "GGUF draft model for speculative decoding (same vocabulary as -m)"},
      {{"--draft-max"}, true, "most tokens drafted per step, default 8"},
  };
}

namespace {
// The drafter --spec asks for (null: none). A draft model loads onto the target's backend.
std::shared_ptr<Drafter> open_drafter(const Args& a, ServiceStack& s, const EngineOptions& eo) {
  const std::optional<std::string> draft_path = a.str("--draft-model");
  const std::string mode = a.str("--spec", draft_path ? "draft" : "none");
  if (draft_path && mode != "draft") fail("--draft-model needs --spec draft, got --spec ", mode);
  if (mode == "none") return nullptr;
  if (mode == "ngram") return std::make_shared<NgramDrafter>();
  if (mode != "draft") fail("--spec must be none, ngram or draft, got '", mode, "'");
  if (!draft_path) fail("--spec draft needs --draft-model FILE");
  GgufFile file = GgufFile::open(*draft_path);
  try {
    // Both as the tokenizer normalizes them (empty token texts renamed alike).
    require_same_vocabulary(s.model.tokenizer->vocab(), Tokenizer(Vocab::from_gguf(file)).vocab());
  } catch (const Error& e) {
    fail("draft model '", *draft_path, "': ", e.what());
  }
  s.draft_model = std::make_unique<Model>(std::move(file), *s.model.backend);
  return std::make_shared<ModelDrafter>(*s.draft_model, s.engine->n_vocab(), eo);
}
}  // namespace

ServiceStack open_service(const Args& a) {
  ServiceStack s;
  const std::string path = model_path(a);
  s.model = load_model(path, thread_count(a.integer("-t", 0)));
  EngineOptions eo;
  eo.n_ctx = static_cast<int32_t>(a.integer("-c", std::min<int64_t>(4096, s.model.model->config().n_ctx_train)));
  eo.n_batch = static_cast<int32_t>(a.integer("-b", 512));
  eo.n_seq_max = static_cast<int32_t>(a.integer("-np", 1));
  s.engine = std::make_unique<Engine>(*s.model.model, eo);
  api::ServiceOptions so;
  so.model_id = path.substr(path.find_last_of('/') + 1);
  so.drafter = open_drafter(a, s, eo);
  so.draft_max = static_cast<int32_t>(a.integer("--draft-max", 8));
  if (so.draft_max < 1) fail("--draft-max must be at least 1, got ", so.draft_max);
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
