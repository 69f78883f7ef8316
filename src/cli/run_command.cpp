// weblm run: generate text from a prompt through the API service, streaming it to stdout;
// timings go to stderr. With --chat the prompt is a user message rendered with the model's chat
// template.
#include <algorithm>
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/service_options.h"
#include "util/error.h"

namespace weblm::cli {

int run_command(const Argv& argv) {
  std::vector<OptionSpec> specs = engine_options();
  for (const OptionSpec& s : std::vector<OptionSpec>{
           {{"-p", "--prompt"}, true, "prompt text"},
           {{"-n", "--n-predict"}, true, "tokens to generate, default 128 (-1 = until the context is full)"},
           {{"--chat"}, false, "apply the model's chat template: the prompt is a user message"},
           {{"--system"}, true, "with --chat: a system message before the prompt"},
           {{"--ignore-eos"}, false, "keep generating past end-of-generation tokens"},
       })
    specs.push_back(s);
  for (const OptionSpec& s : sampling_options()) specs.push_back(s);
  const Args a(argv, specs);
  ServiceStack stack = open_service(a);
  api::Service& service = *stack.service;

  const bool chat = a.has("--chat");
  if (a.has("--system") && !chat) fail("--system needs --chat");
  api::Json body = {{"stream", true}, {"ignore_eos", a.has("--ignore-eos")}};
  if (chat) {
    body["messages"] = api::Json::array();
    if (const auto system = a.str("--system")) body["messages"].push_back({{"role", "system"}, {"content", *system}});
    body["messages"].push_back({{"role", "user"}, {"content", a.str("-p", "")}});
  } else {
    body["prompt"] = a.str("-p", "");
  }
  add_sampling(a, body);
  const api::Endpoint endpoint = chat ? api::Endpoint::ChatCompletions : api::Endpoint::Completions;
  api::Request request = api::parse_request(body, endpoint, stack.engine->n_vocab());
  const int64_t n_predict = a.integer("-n", 128);
  if (n_predict >= 0) {
    request.max_tokens = static_cast<int32_t>(n_predict);
  } else {  // until the context is full
    const int64_t room = stack.engine->options().n_ctx - static_cast<int64_t>(service.prompt_tokens(request).size());
    if (room > 0) request.max_tokens = static_cast<int32_t>(room);
    else request.max_tokens.reset();  // let the service report the overflow
  }

  const api::Service::Completion result = service.run(std::move(request), [&](const api::Json& chunk) {
    for (const api::Json& choice : chunk.at("choices")) {
      const api::Json text = chat ? choice.at("delta").value("content", api::Json("")) : choice.at("text");
      const std::string& piece = text.get_ref<const std::string&>();
      std::fwrite(piece.data(), 1, piece.size(), stdout);
    }
    std::fflush(stdout);
  });
  const api::RequestStats& stats = result.stats;
  const std::string finish = result.response.at("choices").at(0).at("finish_reason").get<std::string>();
  std::printf("\n");
  const auto rate = [](int32_t tokens, double ms) { return tokens * 1000.0 / std::max(ms, 1e-3); };
  std::fprintf(stderr, "\nprompt: %d tokens in %.1f ms (%.1f tok/s); generated: %d tokens in %.1f ms (%.1f tok/s); finish: %s\n",
               stats.prompt_tokens, stats.prompt_ms, rate(stats.prompt_tokens, stats.prompt_ms), stats.completion_tokens,
               stats.decode_ms, rate(stats.completion_tokens, stats.decode_ms), finish.c_str());
  if (result.response.at("usage").contains("speculative"))
    std::fprintf(stderr, "speculative: drafted %lld, accepted %lld (%.1f%%)\n",
                 static_cast<long long>(stats.speculation.drafted), static_cast<long long>(stats.speculation.accepted),
                 100.0 * stats.speculation.acceptance_rate());
  return 0;
}

}  // namespace weblm::cli
