// weblm info: metadata, tensors and sizes of a GGUF file; then whether weblm can run it.
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/loaded_model.h"
#include "format/gguf.h"
#include "model/model_config.h"
#include "util/error.h"

namespace weblm::cli {

namespace {

std::string value_text(const GgufValue& v) {
  switch (v.type) {
    case GgufType::String: return "\"" + (v.str.size() > 60 ? v.str.substr(0, 57) + "..." : v.str) + "\"";
    case GgufType::Bool: return v.u ? "true" : "false";
    case GgufType::Float32: case GgufType::Float64: return str_cat(v.f);
    case GgufType::Int8: case GgufType::Int16: case GgufType::Int32: case GgufType::Int64: return str_cat(v.i);
    case GgufType::Array: {
      std::string s = str_cat("[", gguf_type_name(v.array_type), " x ", v.array.size(), "] ");
      for (size_t i = 0; i < v.array.size() && i < 4; ++i) s += (i ? ", " : "") + value_text(v.array[i]);
      return s + (v.array.size() > 4 ? ", ..." : "");
    }
    default: return str_cat(v.u);
  }
}

}  // namespace

int info_command(const Argv& argv) {
  const Args a(argv, {{{"-m", "--model"}, true, "GGUF model file (or give it as the only argument)"}});
  const std::string path = a.has("-m") ? a.required("-m")
                           : a.positional().size() == 1 ? a.positional()[0]
                           : a.positional().empty()     ? default_model_path()
                                                        : (fail("usage: weblm info [MODEL]"), std::string());
  const GgufFile f = GgufFile::open(path);
  std::printf("file: %s\nGGUF version %u, %zu bytes, alignment %zu\n\nmetadata (%zu keys):\n", path.c_str(),
              f.version(), f.file_size(), f.alignment(), f.metadata().size());
  for (const auto& [key, value] : f.metadata())
    std::printf("  %-45s %s\n", key.c_str(), value_text(value).c_str());
  std::printf("\ntensors (%zu):\n", f.tensors().size());
  size_t total = 0;
  for (const GgufTensorInfo& t : f.tensors()) {
    std::string dims;
    for (int64_t d : t.dims) dims += (dims.empty() ? "" : " x ") + std::to_string(d);
    std::printf("  %-32s %-6s %-20s %12zu bytes\n", t.name.c_str(), std::string(dtype_name(t.type)).c_str(),
                dims.c_str(), t.size);
    total += t.size;
  }
  std::printf("  total %.2f MiB in tensors\n\n", total / 1048576.0);
  try {
    const ModelConfig c = read_model_config(f);
    std::printf("model: %s, %d layers, dim %lld, %d heads (%d KV), head size %d, ffn %lld, vocab %lld, context %lld\n",
                c.arch.c_str(), c.n_layers(), static_cast<long long>(c.dim), c.layers[0].n_heads,
                c.layers[0].n_kv_heads, c.head_dim, static_cast<long long>(c.n_ff),
                static_cast<long long>(c.n_vocab), static_cast<long long>(c.n_ctx_train));
  } catch (const Error& e) {
    std::printf("model: not runnable by weblm: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace weblm::cli
