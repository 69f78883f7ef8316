// What every model-using command opens: the GGUF, a backend, the model and its tokenizer.
#pragma once

#include <memory>
#include <string>

#include "backend/cpu/cpu_backend.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace weblm::cli {

struct LoadedModel {
  std::unique_ptr<CpuBackend> backend;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
};

// Errors name the file and what is wrong with it.
LoadedModel load_model(const std::string& path, int threads);

// -t / --threads, defaulting to every core.
int thread_count(int64_t requested);

}  // namespace weblm::cli
