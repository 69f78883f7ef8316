// weblm perplexity -m MODEL -f TEXT [-c 512]: llama-perplexity's measurement (see
// runtime/perplexity.h), with its output: running ppl per chunk, then "PPL = x +/- y".
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/loaded_model.h"
#include "runtime/perplexity.h"
#include "util/error.h"

namespace weblm::cli {

int perplexity_command(const Argv& argv) {
  const Args a(argv, {
                         {{"-m", "--model"}, true, "GGUF model file (default: the built-in model)"},
                         {{"-f", "--file"}, true, "text file"},
                         {{"-c", "--ctx-size"}, true, "tokens per chunk (default 512)"},
                         {{"-b", "--batch-size"}, true, "tokens per forward pass (default 512)"},
                         {{"-t", "--threads"}, true, "threads (default all cores)"},
                         {{"--parse-special"}, false, "read special-token text (e.g. <|im_start|>) as those tokens, so a "
                                                      "chat transcript is scored as the model sees chats; llama-perplexity "
                                                      "reads it as plain text"},
                     });
  const std::string text_path = a.required("-f");
  std::ifstream in(text_path, std::ios::binary);
  if (!in) fail("cannot open ", text_path);
  std::ostringstream text;
  text << in.rdbuf();

  LoadedModel m = load_model(model_path(a), thread_count(a.integer("-t", 0)));
  const Vocab& vocab = m.tokenizer->vocab();
  if (vocab.add_eos) fail("perplexity needs a model that does not append EOS to its text");
  // As llama-perplexity: BOS where the model adds one, special-token text plain unless asked.
  const std::vector<int32_t> tokens = m.tokenizer->encode(text.str(), vocab.add_bos, a.has("--parse-special"));
  const int32_t n_ctx = static_cast<int32_t>(a.integer("-c", 512));
  EngineOptions eo;
  eo.n_ctx = n_ctx;
  eo.n_batch = static_cast<int32_t>(a.integer("-b", 512));
  if (eo.n_ctx <= 0 || eo.n_batch <= 0) fail("-c and -b must be positive");
  Engine engine(*m.model, eo);
  std::fprintf(stderr, "%s: %zu tokens, %zu chunks of %d\n", text_path.c_str(), tokens.size(),
               tokens.size() / static_cast<size_t>(n_ctx), n_ctx);
  const PerplexityResult r = perplexity(engine, tokens, n_ctx, vocab.add_bos ? vocab.bos : -1, [](int32_t chunk, double ppl) {
    std::printf("[%d]%.4f,", chunk, ppl);
    std::fflush(stdout);
  });
  std::printf("\nFinal estimate: PPL = %.4f +/- %.5f (%lld tokens scored)\n", r.ppl, r.ppl_error,
              static_cast<long long>(r.n_scored));
  return 0;
}

}  // namespace weblm::cli
