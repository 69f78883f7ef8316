// Chat-template renderer: a Jinja interpreter that renders templates exactly as npm
// @huggingface/jinja 0.5.11 does (the renderer transformers.js uses), quirks included: the same
// trim_blocks + lstrip_blocks preprocessing, JavaScript number printing and `==`, the same set of
// filters, tests and methods, and an error wherever that library throws.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace weblm::jinja {

namespace detail {
struct Program;
}

class Template {
 public:
  // Throws weblm::Error "chat template line L, column C: ..." on a syntax error.
  static Template parse(std::string_view source);

  // Renders with `context` (a JSON object, or null) as the global variables. Throws weblm::Error
  // "chat template line L: ..." on a runtime error; raise_exception("msg") gives an error ending in
  // msg. Rendering is bounded (nesting depth, work, string and list sizes), so hostile templates
  // fail with an error instead of exhausting the stack, memory or time.
  std::string render(const nlohmann::ordered_json& context) const;

 private:
  explicit Template(std::shared_ptr<const detail::Program> program) : program_(std::move(program)) {}
  std::shared_ptr<const detail::Program> program_;
};

}  // namespace weblm::jinja
