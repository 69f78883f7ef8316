// Arbitrary bytes as a GGUF file: a weblm::Error is the only acceptable failure. A file that
// parses must survive every getter on every key, and the writer must turn it into bytes that
// parse back to the same file (less split.* keys). The bytes also go in as the two files of a
// split model, cut where the first byte says.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "format/gguf.h"
#include "util/error.h"

namespace {

template <class F>
void allowing_errors(F f) {
  try {
    f();
  } catch (const weblm::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weblm;
  if (size > 1) {
    const uint64_t cut = 1 + data[0] % (size - 1);
    const uint64_t sizes[] = {cut, size - cut};
    allowing_errors([&] {
      const GgufFile parts = GgufFile::parse_parts({data, size}, sizes, "fuzz-parts");
      size_t sum = 0;
      for (const GgufTensorInfo& t : parts.tensors())
        for (uint8_t b : parts.tensor_data(t)) sum += b;  // every byte is read: ASan checks the span
      if (sum == SIZE_MAX) __builtin_trap();
    });
  }
  std::optional<GgufFile> f;
  allowing_errors([&] { f.emplace(GgufFile::parse({data, size}, "fuzz")); });
  if (!f) return 0;

  for (const auto& kv : f->metadata()) {
    const std::string& key = kv.first;
    allowing_errors([&] { f->get_string(key); });
    allowing_errors([&] { f->get_int(key); });
    allowing_errors([&] { f->get_float(key); });
    allowing_errors([&] { f->get_bool(key, false); });
    allowing_errors([&] { f->get_strings(key); });
    allowing_errors([&] { f->get_floats(key); });
    allowing_errors([&] { f->get_ints(key); });
    allowing_errors([&] { f->get_int_per_layer(key, 3); });
  }

  GgufWriter w;
  w.copy_metadata(*f);
  for (const GgufTensorInfo& t : f->tensors()) {
    const std::span<const uint8_t> bytes = f->tensor_data(t);  // every byte is read: ASan checks the span
    w.add_tensor(t.name, t.type, t.dims, std::vector<uint8_t>(bytes.begin(), bytes.end()));
  }
  const std::vector<uint8_t> rewritten = w.to_bytes();
  const GgufFile g = GgufFile::parse(rewritten, "rewritten");  // an Error here is a writer bug
  size_t kept_keys = 0;
  for (const auto& kv : f->metadata()) kept_keys += kv.first.rfind("split.", 0) != 0;
  if (g.metadata().size() != kept_keys || g.tensors().size() != f->tensors().size()) __builtin_trap();
  for (size_t i = 0; i < g.tensors().size(); ++i) {
    const std::span<const uint8_t> a = f->tensor_data(f->tensors()[i]), b = g.tensor_data(g.tensors()[i]);
    if (g.tensors()[i].name != f->tensors()[i].name || !std::equal(a.begin(), a.end(), b.begin(), b.end())) __builtin_trap();
  }
  GgufWriter again;
  again.copy_metadata(g);
  for (const GgufTensorInfo& t : g.tensors()) {
    const std::span<const uint8_t> bytes = g.tensor_data(t);
    again.add_tensor(t.name, t.type, t.dims, std::vector<uint8_t>(bytes.begin(), bytes.end()));
  }
  if (again.to_bytes() != rewritten) __builtin_trap();
  return 0;
}
