// Arbitrary bytes as a safetensors file: a weblm::Error is the only acceptable failure. A file
// that parses must convert (or refuse with an Error), and the writer must turn it into bytes that
// parse back to the same tensors and metadata.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "format/safetensors.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weblm;
  std::optional<SafetensorsFile> f;
  try {
    f.emplace(SafetensorsFile::parse({data, size}, "fuzz"));
  } catch (const Error&) {
    return 0;
  }
  for (const SafetensorsFile::Tensor& t : f->tensors()) {
    try {
      (void)SafetensorsFile::to_f32(t);  // reads every byte: ASan checks the span
    } catch (const Error&) {
    }
  }

  const std::vector<uint8_t> rewritten = safetensors_bytes(f->tensors(), f->metadata());  // an Error is a writer bug
  const SafetensorsFile g = SafetensorsFile::parse(rewritten, "rewritten");
  if (g.metadata() != f->metadata() || g.tensors().size() != f->tensors().size()) __builtin_trap();
  for (size_t i = 0; i < g.tensors().size(); ++i) {
    const SafetensorsFile::Tensor &a = f->tensors()[i], &b = g.tensors()[i];
    if (a.name != b.name || a.dtype != b.dtype || a.shape != b.shape ||
        !std::equal(a.data.begin(), a.data.end(), b.data.begin(), b.data.end()))
      __builtin_trap();
  }
  return 0;
}
