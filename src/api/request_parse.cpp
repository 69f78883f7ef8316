#include "api/request.h"

#include <cerrno>
#include <cstdlib>
#include <limits>
#include <set>

#include "api/api_error.h"

namespace weblm::api {

namespace {

std::string kind_of(const Json& v) {
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

[[noreturn]] void wrong_type(const std::string& param, const char* expected, const Json& got) {
  reject(param, "invalid_type",
         str_cat("Invalid type for '", param, "': expected ", expected, ", but got ", kind_of(got), " instead."));
}

[[noreturn]] void out_of_range(const std::string& param, const std::string& range, const Json& got) {
  reject(param, "invalid_value", str_cat("Invalid value for '", param, "': expected ", range, ", but got ", got.dump(), "."));
}

// The fields of one JSON object, read by name with their types and ranges checked. Every field
// a reader asks for (or declares ignored) is known; reject_unknown() refuses the others.
class Fields {
 public:
  explicit Fields(const Json& object, std::string prefix = "") : object_(object), prefix_(std::move(prefix)) {}

  std::string param(const std::string& name) const { return prefix_.empty() ? name : prefix_ + "." + name; }

  // The field's value, or nullptr when it is absent or null (OpenAI treats null as "default").
  const Json* get(const std::string& name) {
    known_.insert(name);
    const auto it = object_.find(name);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }
  void ignore(std::initializer_list<const char*> names) { known_.insert(names.begin(), names.end()); }

  std::optional<double> number(const std::string& name, double lo, double hi) {
    const Json* v = get(name);
    if (!v) return std::nullopt;
    if (!v->is_number()) wrong_type(param(name), "a number", *v);
    const double x = v->get<double>();
    if (!(x >= lo && x <= hi)) out_of_range(param(name), str_cat("a number in [", lo, ", ", hi, "]"), *v);
    return x;
  }
  std::optional<int64_t> integer(const std::string& name, int64_t lo, int64_t hi) {
    const Json* v = get(name);
    if (!v) return std::nullopt;
    if (!v->is_number_integer()) wrong_type(param(name), "an integer", *v);
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(hi))
      out_of_range(param(name), str_cat("an integer in [", lo, ", ", hi, "]"), *v);
    const int64_t x = v->get<int64_t>();
    if (x < lo || x > hi) out_of_range(param(name), str_cat("an integer in [", lo, ", ", hi, "]"), *v);
    return x;
  }
  std::optional<bool> boolean(const std::string& name) {
    const Json* v = get(name);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) wrong_type(param(name), "a boolean", *v);
    return v->get<bool>();
  }
  std::optional<std::string> string(const std::string& name) {
    const Json* v = get(name);
    if (!v) return std::nullopt;
    if (!v->is_string()) wrong_type(param(name), "a string", *v);
    return v->get<std::string>();
  }
  const Json* object(const std::string& name) {
    const Json* v = get(name);
    if (v && !v->is_object()) wrong_type(param(name), "an object", *v);
    return v;
  }
  const Json* array(const std::string& name) {
    const Json* v = get(name);
    if (v && !v->is_array()) wrong_type(param(name), "an array", *v);
    return v;
  }

  void reject_unknown() const {
    for (const auto& [name, value] : object_.items())
      if (!known_.count(name))
        reject(param(name), "unknown_parameter", str_cat("Unrecognized request argument supplied: ", param(name)));
  }

 private:
  const Json& object_;
  std::string prefix_;
  std::set<std::string, std::less<>> known_;
};

std::string indexed(const std::string& param, size_t i) { return str_cat(param, "[", i, "]"); }

// Message content as the template sees it: a string. Arrays of text parts are joined with
// newlines (as vLLM's "string" content format does); other part types are not supported.
Json content_string(const Json& content, const std::string& param) {
  if (content.is_string()) return content;
  if (!content.is_array()) wrong_type(param, "a string or an array of content parts", content);
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const Json& part = content[i];
    const std::string p = indexed(param, i);
    if (!part.is_object()) wrong_type(p, "an object", part);
    Fields f(part, p);
    const std::string type = f.string("type").value_or("");
    if (type != "text")
      reject(p + ".type", "invalid_value",
             str_cat("Invalid value for '", p, ".type': only \"text\" content parts are supported, got \"", type, "\"."));
    const auto t = f.string("text");
    if (!t) reject(p + ".text", "missing_required_parameter", str_cat("Missing required parameter: '", p, ".text'."));
    text += (i ? "\n" : "") + *t;
  }
  return text;
}

// Tool calls of an assistant message. Their `arguments` (a JSON string in OpenAI's format) are
// parsed into objects where they parse, since templates such as Llama 3.1's print them with
// `tojson`; Qwen-style templates accept either form.
Json tool_calls(const Json& calls, const std::string& param) {
  if (!calls.is_array()) wrong_type(param, "an array", calls);
  Json out = Json::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    const std::string p = indexed(param, i);
    if (!calls[i].is_object()) wrong_type(p, "an object", calls[i]);
    Json call = calls[i];
    Fields f(calls[i], p);
    const Json* fn = f.object("function");
    if (!fn) reject(p + ".function", "missing_required_parameter", str_cat("Missing required parameter: '", p, ".function'."));
    Fields ff(*fn, p + ".function");
    if (!ff.string("name"))
      reject(p + ".function.name", "missing_required_parameter", str_cat("Missing required parameter: '", p, ".function.name'."));
    if (const auto args = ff.string("arguments")) {
      Json parsed = Json::parse(*args, nullptr, false);
      if (parsed.is_object()) call["function"]["arguments"] = std::move(parsed);
    }
    out.push_back(std::move(call));
  }
  return out;
}

Json parse_messages(const Json* messages) {
  if (!messages) reject("messages", "missing_required_parameter", "Missing required parameter: 'messages'.");
  if (messages->empty()) reject("messages", "invalid_value", "Invalid value for 'messages': expected a non-empty array.");
  Json out = Json::array();
  for (size_t i = 0; i < messages->size(); ++i) {
    const std::string p = indexed("messages", i);
    const Json& m = (*messages)[i];
    if (!m.is_object()) wrong_type(p, "an object", m);
    Fields f(m, p);
    const auto role = f.string("role");
    if (!role) reject(p + ".role", "missing_required_parameter", str_cat("Missing required parameter: '", p, ".role'."));
    static const std::set<std::string> roles = {"system", "developer", "user", "assistant", "tool"};
    if (!roles.count(*role))
      reject(p + ".role", "invalid_value",
             str_cat("Invalid value for '", p, ".role': '", *role,
                     "'. Supported values are: 'system', 'developer', 'user', 'assistant' and 'tool'."));
    Json msg = m;
    // Templates know "system"; "developer" is OpenAI's newer name for it.
    if (*role == "developer") msg["role"] = "system";
    const Json* content = f.get("content");
    const Json* calls = f.get("tool_calls");
    if (calls && *role != "assistant")
      reject(p + ".tool_calls", "invalid_value", str_cat("Invalid '", p, ".tool_calls': only assistant messages carry tool calls."));
    if (content) msg["content"] = content_string(*content, p + ".content");
    else if (*role != "assistant" || !calls)
      reject(p + ".content", "missing_required_parameter", str_cat("Missing required parameter: '", p, ".content'."));
    if (calls) msg["tool_calls"] = tool_calls(*calls, p + ".tool_calls");
    if (*role == "tool" && !f.string("tool_call_id"))
      reject(p + ".tool_call_id", "missing_required_parameter", str_cat("Missing required parameter: '", p, ".tool_call_id'."));
    f.string("name");
    out.push_back(std::move(msg));
  }
  return out;
}

Json parse_tools(const Json* tools) {
  if (!tools) return nullptr;
  for (size_t i = 0; i < tools->size(); ++i) {
    const std::string p = indexed("tools", i);
    const Json& t = (*tools)[i];
    if (!t.is_object()) wrong_type(p, "an object", t);
    Fields f(t, p);
    if (f.string("type").value_or("function") != "function")
      reject(p + ".type", "invalid_value", str_cat("Invalid value for '", p, ".type': only 'function' tools are supported."));
    const Json* fn = f.object("function");
    if (!fn) reject(p + ".function", "missing_required_parameter", str_cat("Missing required parameter: '", p, ".function'."));
    Fields ff(*fn, p + ".function");
    if (!ff.string("name"))
      reject(p + ".function.name", "missing_required_parameter", str_cat("Missing required parameter: '", p, ".function.name'."));
    ff.string("description");
    ff.object("parameters");
  }
  return *tools;
}

std::vector<int32_t> token_ids(const Json& ids, const std::string& param, int32_t n_vocab) {
  std::vector<int32_t> out;
  for (size_t i = 0; i < ids.size(); ++i) {
    const Json& id = ids[i];
    if (!id.is_number_integer()) wrong_type(indexed(param, i), "an integer token id", id);
    if (id.is_number_unsigned() ? id.get<uint64_t>() >= static_cast<uint64_t>(n_vocab)
                                : (id.get<int64_t>() < 0 || id.get<int64_t>() >= n_vocab))
      out_of_range(indexed(param, i), str_cat("a token id in [0, ", n_vocab, ")"), id);
    out.push_back(id.get<int32_t>());
  }
  return out;
}

// `prompt`: a string or token ids, also each wrapped in a one-element array (one prompt per
// request here).
void parse_prompt(const Json* prompt, int32_t n_vocab, Request& r) {
  if (!prompt) reject("prompt", "missing_required_parameter", "Missing required parameter: 'prompt'.");
  if (prompt->is_string()) {
    r.prompt_text = prompt->get<std::string>();
    return;
  }
  if (!prompt->is_array()) wrong_type("prompt", "a string, an array of token ids, or an array of one of those", *prompt);
  if (prompt->empty()) reject("prompt", "invalid_value", "Invalid value for 'prompt': the prompt is empty.");
  const Json& first = (*prompt)[0];
  if (first.is_number()) {
    r.prompt_tokens = token_ids(*prompt, "prompt", n_vocab);
    return;
  }
  if (prompt->size() > 1)
    reject("prompt", "invalid_value", "Invalid value for 'prompt': one prompt per request is supported, got an array of several.");
  if (first.is_string()) r.prompt_text = first.get<std::string>();
  else if (first.is_array() && !first.empty()) r.prompt_tokens = token_ids(first, "prompt[0]", n_vocab);
  else wrong_type("prompt[0]", "a string or a non-empty array of token ids", first);
}

std::vector<std::string> parse_stop(const Json* stop) {
  if (!stop) return {};
  auto one = [](const Json& s, const std::string& param) {
    if (!s.is_string()) wrong_type(param, "a string", s);
    if (s.get<std::string>().empty()) reject(param, "invalid_value", str_cat("Invalid value for '", param, "': stop strings must not be empty."));
    return s.get<std::string>();
  };
  if (stop->is_string()) return {one(*stop, "stop")};
  if (!stop->is_array()) wrong_type("stop", "a string or an array of strings", *stop);
  if (stop->size() > 4) reject("stop", "invalid_value", "Invalid value for 'stop': at most 4 stop sequences are allowed.");
  std::vector<std::string> out;
  for (size_t i = 0; i < stop->size(); ++i) out.push_back(one((*stop)[i], indexed("stop", i)));
  return out;
}

std::map<int32_t, float> parse_logit_bias(const Json* bias, int32_t n_vocab) {
  std::map<int32_t, float> out;
  if (!bias) return out;
  for (const auto& [key, value] : bias->items()) {
    const std::string param = "logit_bias." + key;
    char* end = nullptr;
    errno = 0;
    const long long id = std::strtoll(key.c_str(), &end, 10);
    if (key.empty() || *end != '\0' || errno != 0 || id < 0 || id >= n_vocab)
      reject("logit_bias", "invalid_value",
             str_cat("Invalid key in 'logit_bias': \"", key, "\" is not a token id in [0, ", n_vocab, ")."));
    if (!value.is_number()) wrong_type(param, "a number", value);
    const double b = value.get<double>();
    if (!(b >= -100 && b <= 100)) out_of_range(param, "a number in [-100, 100]", value);
    out[static_cast<int32_t>(id)] = static_cast<float>(b);
  }
  return out;
}

}  // namespace

Request parse_request(const Json& body, Endpoint endpoint, int32_t n_vocab) {
  if (!body.is_object()) reject("", "invalid_type", str_cat("The request body must be a JSON object, got ", kind_of(body), "."));
  const bool chat = endpoint == Endpoint::ChatCompletions;
  Request r;
  r.endpoint = endpoint;
  Fields f(body);
  f.ignore({"user", "metadata", "store", "service_tier", "parallel_tool_calls"});
  r.model = f.string("model").value_or("");

  if (chat) {
    r.messages = parse_messages(f.array("messages"));
    r.tools = parse_tools(f.array("tools"));
    if (const Json* choice = f.get("tool_choice")) {
      if (!choice->is_string() || (*choice != "auto" && *choice != "none"))
        reject("tool_choice", "invalid_value",
               "Invalid value for 'tool_choice': only \"auto\" and \"none\" are supported (tool calls are not forced).");
    }
    if (const Json* format = f.object("response_format")) {
      if (format->value("type", "") != "text")
        reject("response_format", "invalid_value", "Invalid value for 'response_format': only {\"type\": \"text\"} is supported.");
    }
    if (const Json* kwargs = f.object("chat_template_kwargs")) r.template_kwargs = *kwargs;
  } else {
    parse_prompt(f.get("prompt"), n_vocab, r);
    r.echo = f.boolean("echo").value_or(false);
    if (const Json* suffix = f.get("suffix"); suffix && !(suffix->is_string() && suffix->get<std::string>().empty()))
      reject("suffix", "invalid_value", "Invalid value for 'suffix': suffixes (insertion) are not supported.");
    if (f.integer("best_of", 0, 128).value_or(1) > 1)
      reject("best_of", "invalid_value", "Invalid value for 'best_of': only 1 is supported.");
  }

  constexpr int64_t kMaxInt = std::numeric_limits<int32_t>::max();
  const auto max_tokens = f.integer("max_tokens", 1, kMaxInt);
  const auto max_completion_tokens = chat ? f.integer("max_completion_tokens", 1, kMaxInt) : std::nullopt;
  if (max_completion_tokens) r.max_tokens = static_cast<int32_t>(*max_completion_tokens);
  else if (max_tokens) r.max_tokens = static_cast<int32_t>(*max_tokens);
  else if (!chat) r.max_tokens = 16;  // OpenAI's default for completions
  r.n = static_cast<int32_t>(f.integer("n", 1, 128).value_or(1));
  r.stop = parse_stop(f.get("stop"));

  SamplingParams& s = r.sampling;
  s.temperature = static_cast<float>(f.number("temperature", 0, 2).value_or(1));
  s.top_p = static_cast<float>(f.number("top_p", 0, 1).value_or(1));
  if (s.top_p == 0.f) {  // only the most likely token survives: greedy
    s.top_p = 1.f;
    s.temperature = 0.f;
  }
  s.top_k = static_cast<int32_t>(std::max<int64_t>(0, f.integer("top_k", -1, kMaxInt).value_or(0)));
  s.min_p = static_cast<float>(f.number("min_p", 0, 1).value_or(0));
  const auto repetition = f.number("repetition_penalty", 0, 10);
  if (repetition && *repetition == 0) out_of_range("repetition_penalty", "a number in (0, 10]", body.at("repetition_penalty"));
  s.repeat_penalty = static_cast<float>(repetition.value_or(1));
  s.frequency_penalty = static_cast<float>(f.number("frequency_penalty", -2, 2).value_or(0));
  s.presence_penalty = static_cast<float>(f.number("presence_penalty", -2, 2).value_or(0));
  // Penalties look at every generated token (and not at the prompt), as OpenAI's do.
  s.repeat_last_n = std::numeric_limits<int32_t>::max();
  s.logit_bias = parse_logit_bias(f.object("logit_bias"), n_vocab);
  if (const Json* seed = f.get("seed")) {
    if (!seed->is_number_integer()) wrong_type("seed", "an integer", *seed);
    r.seed = seed->is_number_unsigned() ? seed->get<uint64_t>() : static_cast<uint64_t>(seed->get<int64_t>());
  }

  if (chat) {
    r.logprobs = f.boolean("logprobs").value_or(false);
    const auto top = f.integer("top_logprobs", 0, 20);
    if (top && !r.logprobs)
      reject("top_logprobs", "invalid_value", "Invalid value for 'top_logprobs': 'logprobs' must be true to use 'top_logprobs'.");
    r.top_logprobs = static_cast<int32_t>(top.value_or(0));
  } else if (const auto top = f.integer("logprobs", 0, 5)) {
    r.logprobs = true;
    r.top_logprobs = static_cast<int32_t>(*top);
    if (r.echo) reject("echo", "invalid_value", "Invalid value for 'echo': 'echo' together with 'logprobs' is not supported.");
  }

  r.stream = f.boolean("stream").value_or(false);
  if (const Json* options = f.object("stream_options")) {
    if (!r.stream)
      reject("stream_options", "invalid_value", "Invalid value for 'stream_options': only allowed when 'stream' is true.");
    Fields so(*options, "stream_options");
    r.include_usage = so.boolean("include_usage").value_or(false);
    so.reject_unknown();
  }
  r.ignore_eos = f.boolean("ignore_eos").value_or(false);
  f.reject_unknown();
  return r;
}

}  // namespace weblm::api
