// weblm convert HF_DIR -o OUT.gguf [--type f16]: a Hugging Face Llama checkpoint -> GGUF.
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "convert/hf_llama.h"
#include "util/error.h"

namespace weblm::cli {

int convert_command(const Argv& argv) {
  const Args a(argv, {
                         {{"-o", "--out"}, true, "output GGUF file"},
                         {{"--type"}, true, "matrix type: f32, f16, bf16 or q8_0 (default f16); norms stay f32"},
                     });
  if (a.positional().size() != 1) fail("usage: weblm convert HF_DIR -o OUT.gguf [--type f16|f32|bf16|q8_0]\n", a.usage());
  const std::string& dir = a.positional()[0];
  const DType type = parse_dtype(a.str("--type", "f16"));
  const std::string out = a.required("-o");
  const GgufWriter w = convert_hf_llama(dir, type);
  w.write(out);
  std::fprintf(stderr, "converted %s -> %s (%s)\n", dir.c_str(), out.c_str(), std::string(dtype_name(type)).c_str());
  return 0;
}

}  // namespace weblm::cli
