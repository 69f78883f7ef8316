// weblm logits: the logits of every position, as little-endian float32 [positions][vocab] and
// nothing else: the format the oracle tests and outside checks read.
#include <cstdio>
#include <fstream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/loaded_model.h"
#include "runtime/engine.h"
#include "util/error.h"

namespace weblm::cli {

int logits_command(const Argv& argv) {
  const Args a(argv, {
                         {{"-m", "--model"}, true, "GGUF model file"},
                         {{"--ids"}, true, "comma-separated token ids"},
                         {{"-p", "--prompt"}, true, "text to tokenize (with BOS where the model adds one)"},
                         {{"--out", "-o"}, true, "output file"},
                         {{"-t", "--threads"}, true, "threads, default all cores"},
                         {{"-b", "--batch"}, true, "prompt chunk size, default 512"},
                         {{"-c", "--ctx-size"}, true, "context size, default the number of tokens"},
                         {{"--decode"}, false, "feed one token per forward pass"},
                     });
  LoadedModel m = load_model(a.required("-m"), thread_count(a.integer("-t", 0)));
  std::vector<int32_t> ids;
  if (a.has("--ids")) ids = parse_ids(a.required("--ids"));
  else if (a.has("-p")) ids = m.tokenizer->encode(a.required("-p"), m.tokenizer->vocab().add_bos, true);
  else fail("give the tokens with --ids 1,2,3 or the text with -p");
  if (ids.empty()) fail("no tokens to evaluate");

  EngineOptions eo;
  eo.n_ctx = static_cast<int32_t>(a.integer("-c", static_cast<int64_t>(ids.size())));
  eo.n_batch = a.has("--decode") ? 1 : static_cast<int32_t>(a.integer("-b", 512));
  Engine engine(*m.model, eo);
  const int32_t seq = engine.kv().create_sequence();
  const std::vector<float>& logits = engine.prefill(seq, ids, true);

  const std::string out = a.required("--out");
  std::ofstream f(out, std::ios::binary);
  f.write(reinterpret_cast<const char*>(logits.data()), static_cast<std::streamsize>(logits.size() * sizeof(float)));
  if (!f) fail("cannot write ", out);
  std::fprintf(stderr, "wrote %zu positions x %d logits to %s\n", ids.size(), engine.n_vocab(), out.c_str());
  return 0;
}

}  // namespace weblm::cli
