#include "cli/loaded_model.h"

#include "tokenizer/vocab.h"
#include "util/thread_pool.h"

namespace weblm::cli {

int thread_count(int64_t requested) {
  return requested > 0 ? static_cast<int>(requested) : ThreadPool::default_threads();
}

LoadedModel load_model(const std::string& path, int threads) {
  GgufFile file = GgufFile::open(path);
  LoadedModel m;
  m.tokenizer = std::make_unique<Tokenizer>(Vocab::from_gguf(file));
  m.backend = std::make_unique<CpuBackend>(threads);
  m.model = std::make_unique<Model>(std::move(file), *m.backend);
  return m;
}

}  // namespace weblm::cli
