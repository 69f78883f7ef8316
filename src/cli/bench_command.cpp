// weblm bench: prompt processing and generation speed, like llama-bench's pp/tg rows.
#include <chrono>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/loaded_model.h"
#include "runtime/engine.h"

namespace weblm::cli {

namespace {

double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

}  // namespace

int bench_command(const Argv& argv) {
  const Args a(argv, {
                         {{"-m", "--model"}, true, "GGUF model file"},
                         {{"-p", "--n-prompt"}, true, "prompt tokens (default 512)"},
                         {{"-n", "--n-gen"}, true, "generated tokens (default 128)"},
                         {{"-t", "--threads"}, true, "threads (default all cores)"},
                         {{"-b", "--batch-size"}, true, "prompt tokens per forward pass (default 512)"},
                         {{"--json"}, false, "print one JSON object"},
                     });
  const int threads = thread_count(a.integer("-t", 0));
  const std::string path = model_path(a);
  LoadedModel m = load_model(path, threads);
  const int32_t n_prompt = static_cast<int32_t>(a.integer("-p", 512));
  const int32_t n_gen = static_cast<int32_t>(a.integer("-n", 128));
  EngineOptions eo;
  eo.n_ctx = n_prompt + n_gen + 1;
  eo.n_batch = static_cast<int32_t>(a.integer("-b", 512));
  Engine engine(*m.model, eo);
  const int32_t n_vocab = engine.n_vocab();

  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  // Tokens are arbitrary but deterministic; speed does not depend on which ids they are.
  std::vector<int32_t> prompt(n_prompt);
  for (int32_t i = 0; i < n_prompt; ++i) prompt[i] = (i * 7919 + 13) % n_vocab;

  const int32_t seq = engine.kv().create_sequence();
  const auto t0 = Clock::now();
  const std::vector<float>& logits = engine.prefill(seq, prompt, false);
  const double pp_s = seconds(t0);
  int32_t token = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  const double ttft_ms = seconds(t0) * 1000;

  const auto t1 = Clock::now();
  for (int32_t i = 0; i < n_gen; ++i) {
    const SequenceInput in{seq, std::span<const int32_t>(&token, 1), Logits::Last};
    const std::vector<float>& l = engine.forward(std::span<const SequenceInput>(&in, 1));
    token = static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
  }
  const double tg_s = seconds(t1);
  const double pp_tps = n_prompt / pp_s, tg_tps = n_gen / tg_s, rss = peak_rss_mib();
  if (a.has("--json")) {
    std::printf("{\"model\": \"%s\", \"threads\": %d, \"n_prompt\": %d, \"n_gen\": %d, \"pp_tps\": %.3f, "
                "\"tg_tps\": %.3f, \"ttft_ms\": %.3f, \"peak_rss_mib\": %.1f}\n",
                path.c_str(), threads, n_prompt, n_gen, pp_tps, tg_tps, ttft_ms, rss);
  } else {
    std::printf("| %-40s | %7s | %10s | %10s | %9s | %12s |\n", "model", "threads", "pp t/s", "tg t/s", "ttft ms",
                "peak RSS MiB");
    std::printf("| %-40s | %7d | %10.2f | %10.2f | %9.1f | %12.1f |\n", path.c_str(), threads, pp_tps, tg_tps,
                ttft_ms, rss);
  }
  return 0;
}

}  // namespace weblm::cli
