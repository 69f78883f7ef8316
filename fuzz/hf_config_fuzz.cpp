// Arbitrary bytes as a Hugging Face config.json: a weblm::Error is the only acceptable failure,
// and an accepted config must be one the converter can size tensors from without overflow.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "convert/hf_llama.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weblm;
  HfLlamaConfig c;
  try {
    c = parse_hf_llama_config(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz/config.json");
  } catch (const Error&) {
    return 0;
  }
  const bool sane = c.vocab > 0 && c.dim > 0 && c.n_ff > 0 && c.n_layers > 0 && c.n_heads > 0 && c.n_kv_heads > 0 &&
                    c.n_heads % c.n_kv_heads == 0 && c.head_dim > 0 && c.head_dim % 2 == 0 && c.eps > 0 && c.rope_theta > 0;
  if (!sane) __builtin_trap();
  return 0;
}
