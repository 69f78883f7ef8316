#include "cli/args.h"

#include <cerrno>
#include <cstdlib>

#include "util/error.h"

namespace weblm::cli {

Args::Args(const std::vector<std::string>& argv, std::vector<OptionSpec> specs) : specs_(std::move(specs)) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() < 2 || a[0] != '-' || (a[1] >= '0' && a[1] <= '9')) {
      positional_.push_back(a);
      continue;
    }
    std::string name = a, value;
    const size_t eq = a.find('=');
    const bool inline_value = a.rfind("--", 0) == 0 && eq != std::string::npos;
    if (inline_value) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
    }
    const OptionSpec& spec = spec_for(name);
    if (spec.takes_value && !inline_value) {
      if (i + 1 >= argv.size()) fail("option ", name, " needs a value");
      value = argv[++i];
    } else if (!spec.takes_value) {
      if (inline_value) fail("option ", name, " takes no value");
      value = "1";
    }
    values_[spec.names.front()] = value;
  }
}

const OptionSpec& Args::spec_for(const std::string& name) const {
  for (const OptionSpec& s : specs_)
    for (const std::string& n : s.names)
      if (n == name) return s;
  fail("unknown option ", name, "\n", usage());
}

std::string Args::usage() const {
  std::string out = "options:\n";
  for (const OptionSpec& s : specs_) {
    std::string names;
    for (const std::string& n : s.names) names += (names.empty() ? "" : ", ") + n;
    out += str_cat("  ", names, s.takes_value ? " VALUE" : "", "\n      ", s.help, "\n");
  }
  return out;
}

bool Args::has(const std::string& name) const { return values_.count(spec_for(name).names.front()) != 0; }

std::optional<std::string> Args::str(const std::string& name) const {
  const auto it = values_.find(spec_for(name).names.front());
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::str(const std::string& name, const std::string& fallback) const {
  return str(name).value_or(fallback);
}

std::string Args::required(const std::string& name) const {
  const auto v = str(name);
  if (!v) fail("missing required option ", name, "\n", usage());
  return *v;
}

int64_t Args::integer(const std::string& name, int64_t fallback) const {
  const auto v = str(name);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || errno != 0) fail("option ", name, " expects an integer, got '", *v, "'");
  return x;
}

float Args::number(const std::string& name, float fallback) const {
  const auto v = str(name);
  if (!v) return fallback;
  char* end = nullptr;
  const float x = std::strtof(v->c_str(), &end);
  if (v->empty() || *end != '\0') fail("option ", name, " expects a number, got '", *v, "'");
  return x;
}

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || errno != 0 || v < 0 || v > INT32_MAX)
      fail("token id list: '", item, "' is not a token id");
    ids.push_back(static_cast<int32_t>(v));
    start = comma + 1;
  }
  return ids;
}

}  // namespace weblm::cli
