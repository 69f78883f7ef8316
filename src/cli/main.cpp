// weblm: run, inspect, generate and benchmark GGUF models on this machine's CPU.
#include <cstdio>
#include <map>
#include <string>

#include "cli/commands.h"
#include "util/error.h"

namespace {

using Command = int (*)(const weblm::cli::Argv&);

const std::map<std::string, std::pair<Command, const char*>>& commands() {
  using namespace weblm::cli;
  static const std::map<std::string, std::pair<Command, const char*>> table = {
      {"run", {run_command, "generate text: run -m MODEL -p PROMPT [-n N] [--temp T] ..."}},
      {"info", {info_command, "print metadata and tensors: info MODEL"}},
      {"logits", {logits_command, "write the logits of every position: logits -m MODEL (--ids 1,2 | -p TEXT) --out FILE"}},
      {"tokenize", {tokenize_command, "print token ids: tokenize -m MODEL (-p TEXT | -f FILE)"}},
      {"gen-model", {gen_model_command, "write a random-weight GGUF: gen-model --arch llama --type q4_0 -o FILE"}},
      {"quantize", {quantize_command, "quantize a GGUF: quantize IN OUT TYPE"}},
      {"split", {split_command, "split a GGUF into N files (llama.cpp's gguf-split format): split IN OUT_PREFIX --parts N"}},
      {"bench", {bench_command, "measure speed: bench -m MODEL [-p 512] [-n 128] [-t THREADS] [--json]"}},
      {"chat", {chat_command, "chat in the terminal: chat -m MODEL [--system TEXT] [--temp T] ..."}},
      {"template", {template_command, "print a rendered chat prompt: template -m MODEL --messages FILE.json [--tools FILE.json]"}},
      {"convert", {convert_command, "Hugging Face Llama checkpoint -> GGUF: convert HF_DIR -o OUT.gguf [--type f16|f32|bf16|q8_0]"}},
      {"perplexity", {perplexity_command, "perplexity as llama-perplexity measures it: perplexity [-m MODEL] -f TEXT [-c 512]"}},
      {"complete", {complete_command, "run OpenAI-shaped requests: complete -m MODEL [--request FILE.json]"}},
      {"demo", {demo_command, "the browser demo chat page: demo [--port 8000] [--model FILE] [--host 127.0.0.1]"}},
      {"serve", {serve_command, "OpenAI-compatible HTTP server: serve -m MODEL [--port 8080] [--parallel N] [--api-key K]"}},
  };
  return table;
}

void print_usage() {
  std::fprintf(stderr, "usage: weblm COMMAND [options]\n\ncommands:\n");
  for (const auto& [name, entry] : commands()) std::fprintf(stderr, "  %-10s %s\n", name.c_str(), entry.second);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    print_usage();
    return argc < 2 ? 1 : 0;
  }
  const auto it = commands().find(argv[1]);
  if (it == commands().end()) {
    std::fprintf(stderr, "weblm: unknown command '%s'\n\n", argv[1]);
    print_usage();
    return 1;
  }
  try {
    return it->second.first(weblm::cli::Argv(argv + 2, argv + argc));
  } catch (const weblm::Error& e) {
    std::fprintf(stderr, "weblm %s: error: %s\n", argv[1], e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weblm %s: internal error: %s\n", argv[1], e.what());
    return 2;
  }
}
