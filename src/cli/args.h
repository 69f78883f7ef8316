// Command-line options in the style llama.cpp's users know: `-n 64`, `--temp 0.7`, flags
// without values. Every lookup is declared by the command, so unknown options are errors that
// list what the command accepts.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace weblm::cli {

struct OptionSpec {
  std::vector<std::string> names;  // e.g. {"-n", "--n-predict"}
  bool takes_value = true;
  std::string help;
};

class Args {
 public:
  // Parses argv against the specs; positional arguments are kept in order.
  Args(const std::vector<std::string>& argv, std::vector<OptionSpec> specs);

  bool has(const std::string& name) const;
  std::string str(const std::string& name, const std::string& fallback) const;
  std::optional<std::string> str(const std::string& name) const;
  std::string required(const std::string& name) const;
  int64_t integer(const std::string& name, int64_t fallback) const;
  float number(const std::string& name, float fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }
  std::string usage() const;

 private:
  const OptionSpec& spec_for(const std::string& name) const;
  std::vector<OptionSpec> specs_;
  std::map<std::string, std::string> values_;  // keyed by the spec's first name
  std::vector<std::string> positional_;
};

// Parses "1,2,3" into ids; Error naming the bad item.
std::vector<int32_t> parse_ids(const std::string& text);

}  // namespace weblm::cli
