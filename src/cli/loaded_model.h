// What every model-using command opens: the GGUF, a backend, the model and its tokenizer.
#pragma once

#include <memory>
#include <string>

#include "backend/cpu/cpu_backend.h"
#include "cli/args.h"
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

// The built-in model, models/default.gguf of the source tree: found from the executable's place in
// a build directory (BUILD/src/cli/weblm), else where the sources were at compile time. Error
// naming both places when it is in neither.
std::string default_model_path();
// -m / --model when given, else the built-in model.
std::string model_path(const Args& a);

// -t / --threads, defaulting to every core.
int thread_count(int64_t requested);

}  // namespace weblm::cli
