// weblm tokenize: the ids of a text, comma-separated, with BOS where the model adds one.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/args.h"
#include "cli/commands.h"
#include "format/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"
#include "util/error.h"

namespace weblm::cli {

int tokenize_command(const Argv& argv) {
  const Args a(argv, {
                         {{"-m", "--model"}, true, "GGUF model file (only its vocabulary is read)"},
                         {{"-p", "--prompt"}, true, "text"},
                         {{"-f", "--file"}, true, "read the text from a file"},
                         {{"--no-bos"}, false, "never add BOS"},
                         {{"--no-parse-special"}, false, "treat special-token text as plain text"},
                     });
  const GgufFile file = GgufFile::open(a.required("-m"));
  const Tokenizer tokenizer(Vocab::from_gguf(file));
  std::string text;
  if (a.has("-f")) {
    std::ifstream in(a.required("-f"), std::ios::binary);
    if (!in) fail("cannot read ", a.required("-f"));
    std::ostringstream s;
    s << in.rdbuf();
    text = s.str();
  } else {
    text = a.required("-p");
  }
  const bool add_bos = !a.has("--no-bos") && tokenizer.vocab().add_bos;
  const std::vector<int32_t> ids = tokenizer.encode(text, add_bos, !a.has("--no-parse-special"));
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + std::to_string(ids[i]);
  std::printf("%s\n", out.c_str());
  return 0;
}

}  // namespace weblm::cli
