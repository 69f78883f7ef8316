// Renders chat-template cases with weblm::jinja for the parity test (parity.mjs).
// Input JSON: {"templates": [source...], "contexts": [{...}...], "cases": [{"template": i, "context": j}...]}.
// Output JSON: {"results": [{"output": str} | {"error": msg}...]}, parse errors as "parse: msg".
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "chat/jinja.h"
#include "util/error.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: render_cases IN.json OUT.json\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  const auto input = nlohmann::ordered_json::parse(in);
  std::vector<std::optional<weblm::jinja::Template>> templates;
  std::vector<std::string> parse_errors;
  for (const auto& source : input.at("templates")) {
    try {
      templates.emplace_back(weblm::jinja::Template::parse(source.get<std::string>()));
      parse_errors.emplace_back();
    } catch (const weblm::Error& e) {
      templates.emplace_back(std::nullopt);
      parse_errors.emplace_back(e.what());
    }
  }
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (const auto& c : input.at("cases")) {
    const size_t index = c.at("template").get<size_t>();
    const auto& tmpl = templates.at(index);
    if (!tmpl) {
      results.push_back({{"error", "parse: " + parse_errors[index]}});
      continue;
    }
    try {
      results.push_back({{"output", tmpl->render(input.at("contexts").at(c.at("context").get<size_t>()))}});
    } catch (const weblm::Error& e) {
      results.push_back({{"error", e.what()}});
    }
  }
  std::ofstream out(argv[2]);
  // Replacement of invalid UTF-8 keeps the dump from throwing on a broken result.
  out << nlohmann::ordered_json{{"results", results}}.dump(-1, ' ', false,
                                                           nlohmann::ordered_json::error_handler_t::replace);
  return 0;
}
