// weblm complete: runs OpenAI-shaped requests (a JSON object, or an array of them run together
// in one batch) from a file or stdin and prints each response as one line of JSON; with
// "stream": true, the chunks as server-sent-event lines ("data: {...}", then "data: [DONE]").
// A rejected request prints OpenAI's error object and exits with 1.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/service_options.h"
#include "util/error.h"

namespace weblm::cli {

namespace {

std::string read_all(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open request file '", path, "'");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

api::Endpoint endpoint_of(const api::Json& body, const std::optional<std::string>& forced) {
  if (forced) {
    if (*forced == "chat") return api::Endpoint::ChatCompletions;
    if (*forced == "completions") return api::Endpoint::Completions;
    fail("--endpoint must be chat or completions, got '", *forced, "'");
  }
  return body.is_object() && body.contains("prompt") && !body.contains("messages") ? api::Endpoint::Completions
                                                                                    : api::Endpoint::ChatCompletions;
}

void print_line(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

int complete_command(const Argv& argv) {
  std::vector<OptionSpec> specs = engine_options();
  specs.push_back({{"--request"}, true, "request JSON file (default: stdin); an array runs its requests together"});
  specs.push_back({{"--endpoint"}, true, "chat or completions (default: completions when the request has a prompt)"});
  const Args a(argv, specs);
  const std::string text = read_all(a.str("--request", "-"));
  const api::Json input = api::Json::parse(text, nullptr, false);
  if (input.is_discarded()) {
    const api::ApiError e(400, "invalid_request_error", "We could not parse the JSON body of your request.");
    print_line(api::dump_json(e.to_json()) + "\n");
    std::fprintf(stderr, "weblm complete: %s\n", e.what());
    return 1;
  }
  const std::vector<api::Json> bodies = input.is_array() ? input.get<std::vector<api::Json>>() : std::vector<api::Json>{input};

  ServiceStack stack = open_service(a);
  api::Service& service = *stack.service;
  std::vector<std::optional<std::string>> outputs(bodies.size());  // non-stream responses, printed in order
  size_t finished = 0;
  int status = 0;
  for (size_t i = 0; i < bodies.size(); ++i) {
    const bool stream = bodies[i].is_object() && bodies[i].value("stream", false) == true;
    api::ResponseSink sink;
    if (stream) sink.on_chunk = [](const api::Json& chunk) { print_line("data: " + api::dump_json(chunk) + "\n\n"); };
    sink.on_done = [&, i, stream](const api::Json& response, const api::RequestStats&) {
      outputs[i] = stream ? "data: [DONE]\n\n" : api::dump_json(response) + "\n";
      ++finished;
    };
    sink.on_error = [&, i](const api::ApiError& e) {
      outputs[i] = api::dump_json(e.to_json()) + "\n";
      status = 1;
      ++finished;
    };
    try {
      service.submit(bodies[i], endpoint_of(bodies[i], a.str("--endpoint")), std::move(sink));
    } catch (const api::ApiError& e) {
      outputs[i] = api::dump_json(e.to_json()) + "\n";
      std::fprintf(stderr, "weblm complete: request %zu: %s\n", i, e.what());
      status = 1;
      ++finished;
    }
  }
  while (finished < bodies.size())
    if (!service.step() && finished < bodies.size()) fail("requests could not be scheduled");
  for (const auto& out : outputs) print_line(*out);
  return status;
}

}  // namespace weblm::cli
