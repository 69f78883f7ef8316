#include "wasm/sampling_json.h"

#include <cerrno>
#include <cstdlib>
#include <string>

#include "util/error.h"

namespace weblm::wasm {

namespace {

float number(const nlohmann::json& v, const std::string& key) {
  if (!v.is_number()) fail("sampling parameter ", key, " must be a number, got ", v.dump());
  return v.get<float>();
}

int64_t integer(const nlohmann::json& v, const std::string& key) {
  if (!v.is_number_integer()) fail("sampling parameter ", key, " must be an integer, got ", v.dump());
  return v.get<int64_t>();
}

int32_t token_id(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const long id = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || id < 0 || id > INT32_MAX)
    fail("sampling parameter logit_bias: key '", text, "' is not a token id");
  return static_cast<int32_t>(id);
}

}  // namespace

SamplingParams sampling_from_json(const nlohmann::json& j) {
  if (!j.is_object()) fail("sampling parameters must be a JSON object, got ", j.dump());
  SamplingParams p;
  for (const auto& [key, v] : j.items()) {
    if (key == "temperature") p.temperature = number(v, key);
    else if (key == "top_k") p.top_k = static_cast<int32_t>(integer(v, key));
    else if (key == "top_p") p.top_p = number(v, key);
    else if (key == "min_p") p.min_p = number(v, key);
    else if (key == "repeat_penalty") p.repeat_penalty = number(v, key);
    else if (key == "repeat_last_n") p.repeat_last_n = static_cast<int32_t>(integer(v, key));
    else if (key == "frequency_penalty") p.frequency_penalty = number(v, key);
    else if (key == "presence_penalty") p.presence_penalty = number(v, key);
    else if (key == "seed") {
      if (!v.is_number_unsigned()) fail("sampling parameter seed must be a non-negative integer, got ", v.dump());
      p.seed = v.get<uint64_t>();
    } else if (key == "logit_bias") {
      if (!v.is_object()) fail("sampling parameter logit_bias must be an object of token id -> bias, got ", v.dump());
      for (const auto& [id, bias] : v.items()) p.logit_bias[token_id(id)] = number(bias, "logit_bias[" + id + "]");
    } else {
      fail("unknown sampling parameter '", key,
           "' (expected temperature, top_k, top_p, min_p, repeat_penalty, repeat_last_n, frequency_penalty, "
           "presence_penalty, seed, logit_bias)");
    }
  }
  return p;
}

}  // namespace weblm::wasm
