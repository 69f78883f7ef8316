// Errors that reach the user: one exception type whose message says what is wrong and where.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace weblm {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Concatenates its arguments with operator<< (no std::format in Emscripten 3.1.6's libc++).
template <class... Parts>
std::string str_cat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  throw Error(str_cat(parts...));
}

}  // namespace weblm
