// Arbitrary bytes as a GGUF file: a weblm::Error is the only acceptable failure.
#include <cstddef>
#include <cstdint>

#include "format/gguf.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const weblm::GgufFile f = weblm::GgufFile::parse({data, size}, "fuzz");
    for (const weblm::GgufTensorInfo& t : f.tensors()) (void)f.tensor_data(t);
    for (const auto& [key, value] : f.metadata()) {
      if (value.type == weblm::GgufType::Array) (void)f.get_floats(key);
    }
  } catch (const weblm::Error&) {
  }
  return 0;
}
