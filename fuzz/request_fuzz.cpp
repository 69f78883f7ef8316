// libFuzzer target: arbitrary bytes as the JSON body of a chat.completions and of a completions
// request; what parses is rendered with a ChatML template and tokenized, as the service would.
// Every rejection must be a weblm::Error (ApiError); crashes, sanitizer reports and leaks are bugs.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/chat_prompt.h"
#include "api/request.h"
#include "tokenizer/synthetic_vocab.h"
#include "util/error.h"

namespace {

const weblm::Tokenizer& tokenizer() {
  static const weblm::Tokenizer t(weblm::make_synthetic_vocab(weblm::Vocab::Kind::Spm, 512, ""));
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weblm::api;
  const Json body = Json::parse(std::string_view(reinterpret_cast<const char*>(data), size), nullptr, false);
  if (body.is_discarded()) return 0;
  static const ChatPrompt prompt(tokenizer());
  for (Endpoint endpoint : {Endpoint::ChatCompletions, Endpoint::Completions}) {
    try {
      const Request r = parse_request(body, endpoint, tokenizer().size());
      if (endpoint == Endpoint::ChatCompletions)
        tokenize_prompt(tokenizer(), prompt.render(r.messages, r.tools, true, r.template_kwargs));
      else if (!r.prompt_tokens)
        tokenize_prompt(tokenizer(), r.prompt_text);
    } catch (const weblm::Error&) {
    }
  }
  return 0;
}
