// weblm run: generate text from a prompt, streaming it to stdout; timings go to stderr.
#include <algorithm>
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/loaded_model.h"
#include "runtime/generate.h"

namespace weblm::cli {

std::vector<OptionSpec> sampling_options() {
  return {
      {{"--temp"}, true, "temperature (0 = greedy), default 0.8"},
      {{"--top-k"}, true, "top-k cut, default 40 (0 = off)"},
      {{"--top-p"}, true, "top-p cut, default 0.95"},
      {{"--min-p"}, true, "min-p cut, default 0.05"},
      {{"--repeat-penalty"}, true, "repetition penalty, default 1.0 (off)"},
      {{"--repeat-last-n"}, true, "tokens of history the penalties look at, default 64"},
      {{"--frequency-penalty"}, true, "OpenAI frequency penalty, default 0"},
      {{"--presence-penalty"}, true, "OpenAI presence penalty, default 0"},
      {{"--seed", "-s"}, true, "random seed, default 0"},
  };
}

SamplingParams sampling_from(const Args& a) {
  SamplingParams p;
  p.temperature = a.number("--temp", p.temperature);
  p.top_k = static_cast<int32_t>(a.integer("--top-k", p.top_k));
  p.top_p = a.number("--top-p", p.top_p);
  p.min_p = a.number("--min-p", p.min_p);
  p.repeat_penalty = a.number("--repeat-penalty", p.repeat_penalty);
  p.repeat_last_n = static_cast<int32_t>(a.integer("--repeat-last-n", p.repeat_last_n));
  p.frequency_penalty = a.number("--frequency-penalty", p.frequency_penalty);
  p.presence_penalty = a.number("--presence-penalty", p.presence_penalty);
  p.seed = static_cast<uint64_t>(a.integer("--seed", 0));
  return p;
}

int run_command(const Argv& argv) {
  std::vector<OptionSpec> specs = {
      {{"-m", "--model"}, true, "GGUF model file"},
      {{"-p", "--prompt"}, true, "prompt text"},
      {{"-n", "--n-predict"}, true, "tokens to generate, default 128 (-1 = until the context is full)"},
      {{"-c", "--ctx-size"}, true, "context size, default min(4096, the model's)"},
      {{"-b", "--batch-size"}, true, "prompt tokens per forward pass, default 512"},
      {{"-t", "--threads"}, true, "threads, default all cores"},
      {{"--ignore-eos"}, false, "keep generating past end-of-generation tokens"},
  };
  for (OptionSpec& s : sampling_options()) specs.push_back(s);
  const Args a(argv, specs);
  LoadedModel m = load_model(a.required("-m"), thread_count(a.integer("-t", 0)));
  const ModelConfig& config = m.model->config();
  EngineOptions eo;
  eo.n_ctx = static_cast<int32_t>(a.integer("-c", std::min<int64_t>(4096, config.n_ctx_train)));
  eo.n_batch = static_cast<int32_t>(a.integer("-b", 512));
  Engine engine(*m.model, eo);

  GenerateRequest req;
  const Vocab& vocab = m.tokenizer->vocab();
  req.prompt = m.tokenizer->encode(a.str("-p", ""), vocab.add_bos, true);
  req.sampling = sampling_from(a);
  req.max_tokens = static_cast<int32_t>(a.integer("-n", 128));
  req.ignore_eos = a.has("--ignore-eos");

  const int32_t seq = engine.kv().create_sequence();
  StreamDecoder text(*m.tokenizer);
  const GenerateStats s = generate(engine, seq, *m.tokenizer, req, [&](int32_t token) {
    const std::string piece = text.push(token);
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  const std::string rest = text.finish();
  std::fwrite(rest.data(), 1, rest.size(), stdout);
  std::printf("\n");
  std::fprintf(stderr, "\nprompt: %d tokens in %.1f ms (%.1f tok/s); generated: %d tokens in %.1f ms (%.1f tok/s); finish: %s\n",
               s.prompt_tokens, s.prompt_ms, s.prompt_tokens * 1000.0 / std::max(s.prompt_ms, 1e-3),
               s.generated_tokens, s.decode_ms, s.generated_tokens * 1000.0 / std::max(s.decode_ms, 1e-3),
               finish_reason_name(s.finish));
  return 0;
}

}  // namespace weblm::cli
