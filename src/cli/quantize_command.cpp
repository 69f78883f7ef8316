// weblm quantize IN OUT TYPE: every matrix whose rows fit TYPE's blocks is converted to TYPE
// (through f32, with ggml's reference quantizers, so llama.cpp reads the same numbers back);
// vectors (norms, biases) and matrices whose rows do not fit stay as they are.
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "format/gguf.h"
#include "format/quants.h"
#include "util/error.h"

namespace weblm::cli {

int quantize_command(const Argv& argv) {
  const Args a(argv, {});
  if (a.positional().size() != 3) fail("usage: weblm quantize IN OUT TYPE");
  const std::string& in = a.positional()[0];
  const std::string& out = a.positional()[1];
  const DType type = parse_dtype(a.positional()[2]);
  if (type == DType::Q8_1 || type == DType::Q8_K) fail(dtype_name(type), " is for activations, not weights");
  const GgufFile f = GgufFile::open(in);
  GgufWriter w;
  w.copy_metadata(f);
  w.set("general.file_type", GgufValue::of_u32(static_cast<uint32_t>(type)));
  size_t before = 0, after = 0;
  for (const GgufTensorInfo& t : f.tensors()) {
    const std::span<const uint8_t> bytes = f.tensor_data(t);
    before += bytes.size();
    const bool convert = takes_weight_type(type, t.dims) && t.type != type;
    if (!convert) {
      w.add_tensor(t.name, t.type, t.dims, std::vector<uint8_t>(bytes.begin(), bytes.end()));
      after += bytes.size();
      continue;
    }
    std::vector<float> values(static_cast<size_t>(t.elements()));
    const size_t src_row = row_bytes(t.type, t.cols());
    for (int64_t r = 0; r < t.rows(); ++r)
      dequantize_row(t.type, bytes.data() + r * src_row, values.data() + r * t.cols(), t.cols());
    std::vector<uint8_t> q = quantize_tensor(type, values, t.cols());
    after += q.size();
    w.add_tensor(t.name, type, t.dims, std::move(q));
  }
  w.write(out);
  std::fprintf(stderr, "quantized %s -> %s (%s): %.2f MiB -> %.2f MiB\n", in.c_str(), out.c_str(),
               std::string(dtype_name(type)).c_str(), before / 1048576.0, after / 1048576.0);
  return 0;
}

}  // namespace weblm::cli
