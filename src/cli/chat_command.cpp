// weblm chat: an interactive terminal chat. Each line read from stdin is a user turn; the reply
// streams to stdout and a tok/s line follows on stderr. The whole conversation is re-sent every
// turn (as an API client would), and prefix reuse keeps its KV, so only the new turn is
// computed. Commands: /reset, /system TEXT, /exit. Ctrl-C interrupts a reply (the conversation
// keeps what was said) and, at the prompt, leaves. Works on piped input too.
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/service_options.h"
#include "util/error.h"

namespace weblm::cli {

namespace {

volatile std::sig_atomic_t g_interrupted = 0;

void on_sigint(int) { g_interrupted = 1; }

// SIGINT sets a flag instead of ending the process; without SA_RESTART, a blocked read returns
// so the prompt can notice it.
void catch_interrupts() {
  struct sigaction sa = {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, nullptr);
}

const char* kHelp =
    "commands: /reset (forget the conversation), /system TEXT (set the system prompt and reset), /exit; "
    "Ctrl-C interrupts a reply";

}  // namespace

int chat_command(const Argv& argv) {
  std::vector<OptionSpec> specs = engine_options();
  specs.push_back({{"-n", "--n-predict"}, true, "most tokens per reply, default: until the context is full"});
  specs.push_back({{"--system"}, true, "system prompt"});
  for (const OptionSpec& s : sampling_options()) specs.push_back(s);
  const Args a(argv, specs);
  ServiceStack stack = open_service(a);
  api::Service& service = *stack.service;

  std::optional<std::string> system = a.str("--system");
  api::Json history = api::Json::array();
  api::Json request = {{"stream", true}};
  add_sampling(a, request);
  if (a.has("-n")) request["max_tokens"] = a.integer("-n", 0);

  const bool interactive = isatty(STDIN_FILENO);
  catch_interrupts();
  std::fprintf(stderr, "weblm chat (%s). %s\n", model_path(a).c_str(), kHelp);
  std::string line;
  while (true) {
    if (interactive) {
      std::printf("> ");
      std::fflush(stdout);
    }
    g_interrupted = 0;
    if (!std::getline(std::cin, line)) {
      if (interactive) std::printf("\n");
      break;  // end of input, or Ctrl-C at the prompt
    }
    if (line.empty()) continue;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset" || line == "/system" || line.rfind("/system ", 0) == 0) {
      if (line != "/reset") {
        const std::string text = line.size() > 8 ? line.substr(8) : "";
        system = text.empty() ? std::nullopt : std::optional<std::string>(text);
      }
      history = api::Json::array();
      std::fprintf(stderr, "(conversation reset%s)\n", line == "/reset" ? "" : system ? ", new system prompt" : ", no system prompt");
      continue;
    }
    if (line[0] == '/') {
      std::fprintf(stderr, "%s\n", kHelp);
      continue;
    }

    api::Json messages = api::Json::array();
    if (system) messages.push_back({{"role", "system"}, {"content", *system}});
    for (const api::Json& m : history) messages.push_back(m);
    messages.push_back({{"role", "user"}, {"content", line}});
    request["messages"] = messages;

    bool done = false;
    std::optional<api::ApiError> error;
    api::Json response;
    api::RequestStats stats;
    api::ResponseSink sink;
    sink.on_chunk = [](const api::Json& chunk) {
      for (const api::Json& choice : chunk.at("choices")) {
        const std::string text = choice.at("delta").value("content", "");
        std::fwrite(text.data(), 1, text.size(), stdout);
      }
      std::fflush(stdout);
    };
    sink.on_done = [&](const api::Json& r, const api::RequestStats& s) {
      response = r;
      stats = s;
      done = true;
    };
    sink.on_error = [&](const api::ApiError& e) {
      error = e;
      done = true;
    };
    api::RequestId id;
    try {
      id = service.submit(request, api::Endpoint::ChatCompletions, std::move(sink));
    } catch (const api::ApiError& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      continue;
    }
    while (!done) {
      if (g_interrupted) service.cancel(id);
      if (!service.step() && !done) fail("the reply could not be scheduled");
    }
    std::printf("\n");
    std::fflush(stdout);
    if (error) {
      std::fprintf(stderr, "error: %s\n", error->what());
      continue;
    }
    const api::Json& choice = response.at("choices").at(0);
    history.push_back({{"role", "user"}, {"content", line}});
    history.push_back({{"role", "assistant"}, {"content", choice.at("message").at("content")}});
    std::fprintf(stderr, "[%d tokens, %.1f tok/s; prompt %d tokens (%d reused) in %.0f ms%s]\n", stats.completion_tokens,
                 stats.completion_tokens * 1000.0 / std::max(stats.decode_ms, 1e-3), stats.prompt_tokens,
                 stats.cached_tokens, stats.prompt_ms,
                 choice.at("finish_reason") == "cancelled" ? "; interrupted" : "");
  }
  return 0;
}

}  // namespace weblm::cli
