#include "api/chat_prompt.h"

#include <gtest/gtest.h>

#include "api/api_error.h"
#include "tokenizer/synthetic_vocab.h"

namespace weblm::api {
namespace {

Tokenizer tokenizer_with_template(std::string source) {
  Vocab v = make_synthetic_vocab(Vocab::Kind::Spm, 512, "");
  v.chat_template = std::move(source);
  return Tokenizer(std::move(v));
}

const Json kMessages = Json::parse(R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])");

TEST(ChatPrompt, RendersTheModelsTemplate) {
  const Tokenizer tokenizer(make_synthetic_vocab(Vocab::Kind::Spm, 512, ""));  // ChatML
  const ChatPrompt prompt(tokenizer);
  EXPECT_FALSE(prompt.is_default());
  EXPECT_TRUE(prompt.default_stop().empty());
  EXPECT_EQ(prompt.render(kMessages, nullptr, true, nullptr),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(prompt.render(kMessages, nullptr, false, nullptr),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
}

TEST(ChatPrompt, ModelWithoutTemplateGetsChatMlAndItsStop) {
  const Tokenizer tokenizer = tokenizer_with_template("");
  const ChatPrompt prompt(tokenizer);
  EXPECT_TRUE(prompt.is_default());
  EXPECT_EQ(prompt.default_stop(), std::vector<std::string>{"<|im_end|>"});
  const Json messages = Json::parse(R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": null}])");
  EXPECT_EQ(prompt.render(messages, nullptr, true, nullptr),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatPrompt, PassesSpecialTokensToolsAndKwargs) {
  const Tokenizer tokenizer = tokenizer_with_template(
      "{{ bos_token }}|{{ eos_token }}|{% if tools is defined %}{{ tools | length }}{% else %}none{% endif %}|"
      "{% if enable_thinking is defined %}{{ enable_thinking }}{% endif %}|{{ messages | length }}");
  const ChatPrompt prompt(tokenizer);
  EXPECT_EQ(prompt.render(kMessages, nullptr, true, nullptr), "<s>|</s>|none||2");
  const Json tools = Json::parse(R"([{"type": "function", "function": {"name": "f"}}])");
  EXPECT_EQ(prompt.render(kMessages, tools, true, Json{{"enable_thinking", false}}), "<s>|</s>|1|false|2");
}

TEST(ChatPrompt, TemplateErrorsAreRequestErrorsNamingTheLine) {
  const Tokenizer tokenizer = tokenizer_with_template(
      "{% for m in messages %}\n{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}"
      "{% endif %}{% endfor %}");
  const ChatPrompt prompt(tokenizer);
  try {
    prompt.render(kMessages, nullptr, true, nullptr);
    FAIL() << "expected an error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.param(), "messages");
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("System role not supported"), std::string::npos) << e.what();
  }
}

TEST(ChatPrompt, UnparsableTemplateIsAnErrorNamingTheLine) {
  const Tokenizer tokenizer = tokenizer_with_template("ok\n{% if %}");
  try {
    ChatPrompt prompt(tokenizer);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.chat_template"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
}

TEST(ChatPrompt, TokenizeAddsBosOnce) {
  const Tokenizer tokenizer(make_synthetic_vocab(Vocab::Kind::Spm, 512, ""));
  ASSERT_TRUE(tokenizer.vocab().add_bos);
  const std::vector<int32_t> plain = tokenize_prompt(tokenizer, "<|im_start|>user");
  const std::vector<int32_t> with_bos = tokenize_prompt(tokenizer, "<s><|im_start|>user");
  ASSERT_FALSE(plain.empty());
  EXPECT_EQ(plain[0], tokenizer.bos());
  EXPECT_NE(plain[1], tokenizer.bos());
  EXPECT_EQ(plain, with_bos);
  EXPECT_EQ(plain[1], tokenizer.encode("<|im_start|>", false, true).at(0));  // special text became its token
}

}  // namespace
}  // namespace weblm::api
