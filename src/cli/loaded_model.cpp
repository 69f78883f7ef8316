#include "cli/loaded_model.h"

#include <filesystem>
#include <system_error>

#include "tokenizer/vocab.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace weblm::cli {

std::string default_model_path() {
  namespace fs = std::filesystem;
  std::error_code exe_error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", exe_error);
  const fs::path beside_build = (exe.parent_path() / "../../../models/default.gguf").lexically_normal();
  const fs::path in_sources = fs::path(WEBLM_SOURCE_DIR) / "models" / "default.gguf";
  std::error_code ignored;  // an unreadable place is one where the model is not
  if (!exe_error && fs::is_regular_file(beside_build, ignored)) return beside_build.string();
  if (fs::is_regular_file(in_sources, ignored)) return in_sources.string();
  fail("no model given (-m MODEL.gguf) and the built-in model is neither at ", beside_build.string(), " nor at ",
       in_sources.string());
}

std::string model_path(const Args& a) { return a.has("-m") ? a.required("-m") : default_model_path(); }

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
