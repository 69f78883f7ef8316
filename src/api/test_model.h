// For the service tests: the small random-weight model ctest writes with `weblm gen-model` before
// they run (its path in WEBLM_TEST_MODEL), loaded once per test binary on a one-thread CPU backend.
#pragma once

#include <cstdlib>
#include <string>

#include "backend/cpu/cpu_backend.h"
#include "format/gguf.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"
#include "util/error.h"

namespace weblm::api {

struct TestModel {
  TestModel() : backend(1), model(GgufFile::open(path()), backend), tokenizer(Vocab::from_gguf(model.file())) {}
  static std::string path() {
    const char* p = std::getenv("WEBLM_TEST_MODEL");
    if (!p) throw Error("WEBLM_TEST_MODEL is not set: run this test through ctest, which writes the model first");
    return p;
  }
  CpuBackend backend;
  Model model;
  Tokenizer tokenizer;
};

inline TestModel& test_model() {
  static TestModel m;
  return m;
}

}  // namespace weblm::api
