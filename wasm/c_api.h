// Shared by the module's C API files (api.cpp, service_api.cpp): the session handle JS holds and
// the error convention. A call that fails returns -1 or a null pointer and leaves the message in
// weblm_last_error().
#pragma once

#include <cstdint>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "util/error.h"
#include "wasm/session.h"

namespace weblm::wasm {

// The message weblm_last_error() returns.
std::string& last_error();

// Runs fn, turning any exception into `on_error` and a message for weblm_last_error.
template <class R, class Fn>
R guarded(const char* what, R on_error, Fn&& fn) {
  try {
    last_error().clear();
    return fn();
  } catch (const std::bad_alloc&) {
    last_error() = str_cat(what, ": out of memory (wasm32 memory is at most 4 GiB)");
  } catch (const std::exception& e) {
    last_error() = str_cat(what, ": ", e.what());
  }
  return on_error;
}

struct SessionHandle {
  Session session;
  std::vector<int32_t> ids;  // weblm_tokenize's result
  std::string text;          // the last string returned

  SessionHandle(uint8_t* file, size_t size, const SessionOptions& o) : session(file, size, o) {}
};

}  // namespace weblm::wasm
