#include "api/chat_prompt.h"

#include "api/api_error.h"

namespace weblm::api {

namespace {

constexpr const char* kDefaultTemplate =
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message.role + '\\n' + (message.content if message.content is string else '') + "
    "'<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

std::string token_text(const Tokenizer& tokenizer, int32_t id) {
  return id >= 0 && id < tokenizer.size() ? tokenizer.vocab().tokens[id] : std::string();
}

jinja::Template parse_template(const std::string& source) {
  try {
    return jinja::Template::parse(source);
  } catch (const Error& e) {
    fail("the model's chat template (tokenizer.chat_template) does not parse: ", e.what());
  }
}

}  // namespace

ChatPrompt::ChatPrompt(const Tokenizer& tokenizer)
    : is_default_(tokenizer.vocab().chat_template.empty()),
      template_(parse_template(is_default_ ? kDefaultTemplate : tokenizer.vocab().chat_template)),
      bos_text_(token_text(tokenizer, tokenizer.bos())),
      eos_text_(token_text(tokenizer, tokenizer.eos())) {}

std::vector<std::string> ChatPrompt::default_stop() const {
  if (is_default_) return {"<|im_end|>"};
  return {};
}

std::string ChatPrompt::render(const Json& messages, const Json& tools, bool add_generation_prompt,
                               const Json& kwargs) const {
  Json context = Json::object();
  if (kwargs.is_object()) context = kwargs;
  context["messages"] = messages;
  if (!tools.is_null()) context["tools"] = tools;
  context["add_generation_prompt"] = add_generation_prompt;
  context["bos_token"] = bos_text_;
  context["eos_token"] = eos_text_;
  try {
    return template_.render(context);
  } catch (const Error& e) {
    reject("messages", "invalid_value", str_cat("The chat template cannot render these messages: ", e.what()));
  }
}

std::vector<int32_t> tokenize_prompt(const Tokenizer& tokenizer, std::string_view text) {
  const std::string bos = token_text(tokenizer, tokenizer.bos());
  const bool has_bos = !bos.empty() && text.substr(0, bos.size()) == bos;
  return tokenizer.encode(text, tokenizer.vocab().add_bos && !has_bos, true);
}

}  // namespace weblm::api
