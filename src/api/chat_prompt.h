// A conversation rendered into prompt text with the model's chat template
// (tokenizer.chat_template in the GGUF), and that text into tokens.
//
// Template variables, as transformers passes them: `messages`, `tools` (only when the request
// has tools), `add_generation_prompt`, `bos_token` and `eos_token` (the vocabulary's token texts),
// plus every entry of the request's `chat_template_kwargs` (e.g. `enable_thinking`).
//
// A model without a template gets the default, ChatML:
//   <|im_start|>{role}\n{content}<|im_end|>\n ... and, with add_generation_prompt,
//   <|im_start|>assistant\n
// and, since its end marker may be plain text in such a vocabulary, "<|im_end|>" also stops
// generation (default_stop()).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/json.h"
#include "chat/jinja.h"
#include "tokenizer/tokenizer.h"

namespace weblm::api {

class ChatPrompt {
 public:
  // The tokenizer's template, or the default one. Throws Error naming the template line when
  // the model's template does not parse.
  explicit ChatPrompt(const Tokenizer& tokenizer);

  bool is_default() const { return is_default_; }
  // Stop strings every chat request gets with this template (empty unless default).
  std::vector<std::string> default_stop() const;

  // Throws ApiError (400, param "messages") when the template fails on these messages, e.g. its
  // raise_exception("Conversation roles must alternate ..."); the message names the template line.
  std::string render(const Json& messages, const Json& tools, bool add_generation_prompt, const Json& kwargs) const;


 private:
  bool is_default_;
  jinja::Template template_;
  std::string bos_text_, eos_text_;
};

// Prompt text (rendered or a completions prompt) to tokens: special-token texts become their
// tokens, and BOS is added where the vocabulary asks for it unless the text already starts with
// it (templates that print bos_token themselves must not get two).
std::vector<int32_t> tokenize_prompt(const Tokenizer& tokenizer, std::string_view text);

}  // namespace weblm::api
