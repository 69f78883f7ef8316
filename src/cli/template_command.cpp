// weblm template: prints a conversation rendered with a model's chat template, exactly (no
// newline added), for parity checks from outside. The messages go through the same validation
// and normalization as a chat.completions request.
#include <cstdio>
#include <fstream>
#include <iterator>

#include "api/chat_prompt.h"
#include "api/request.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/loaded_model.h"
#include "format/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"
#include "util/error.h"

namespace weblm::cli {

namespace {

api::Json read_json(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open ", what, " file '", path, "'");
  const api::Json j = api::Json::parse(std::string(std::istreambuf_iterator<char>(in), {}), nullptr, false);
  if (j.is_discarded()) fail(what, " file '", path, "' is not valid JSON");
  return j;
}

}  // namespace

int template_command(const Argv& argv) {
  const Args a(argv, {
                         {{"-m", "--model"}, true, "GGUF model file (its tokenizer.chat_template and vocabulary)"},
                         {{"--messages"}, true, "JSON file: an array of messages (or a request object with \"messages\")"},
                         {{"--tools"}, true, "JSON file: an array of tools"},
                         {{"--kwargs"}, true, "JSON object of extra template variables, e.g. '{\"enable_thinking\": false}'"},
                         {{"--no-generation-prompt"}, false, "do not open an assistant turn at the end"},
                     });
  const Tokenizer tokenizer(Vocab::from_gguf(GgufFile::open(model_path(a))));
  api::Json body = read_json(a.required("--messages"), "messages");
  if (!body.is_object()) body = api::Json{{"messages", body}};
  if (const auto tools = a.str("--tools")) body["tools"] = read_json(*tools, "tools");
  if (const auto kwargs = a.str("--kwargs")) {
    body["chat_template_kwargs"] = api::Json::parse(*kwargs, nullptr, false);
    if (body["chat_template_kwargs"].is_discarded()) fail("--kwargs is not valid JSON");
  }
  const api::Request request = api::parse_request(body, api::Endpoint::ChatCompletions, tokenizer.size());
  const std::string prompt = api::ChatPrompt(tokenizer).render(request.messages, request.tools,
                                                               !a.has("--no-generation-prompt"), request.template_kwargs);
  std::fwrite(prompt.data(), 1, prompt.size(), stdout);
  return 0;
}

}  // namespace weblm::cli
