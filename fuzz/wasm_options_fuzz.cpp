// libFuzzer target: arbitrary bytes as the JSON a JS host hands the wasm module for session
// options and for sampling parameters. Every rejection must be a weblm::Error; crashes,
// sanitizer reports and leaks are bugs.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "util/error.h"
#include "wasm/sampling_json.h"
#include "wasm/session.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j =
      nlohmann::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), nullptr, false);
  if (j.is_discarded()) return 0;
  try {
    weblm::wasm::SessionOptions::from_json(j);
  } catch (const weblm::Error&) {
  }
  try {
    weblm::Sampler(weblm::wasm::sampling_from_json(j), 512);
  } catch (const weblm::Error&) {
  }
  return 0;
}
