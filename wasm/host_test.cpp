// The wasm host's plain C++: session and sampling options from JSON, and backend choice.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "util/error.h"
#include "wasm/backend_factory.h"
#include "wasm/sampling_json.h"
#include "wasm/session.h"

namespace weblm::wasm {
namespace {

using nlohmann::json;

std::string error_of(auto&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(SessionOptions, ReadsEveryKey) {
  const SessionOptions o = SessionOptions::from_json(
      json::parse(R"({"n_ctx": 0, "n_batch": 64, "n_seq_max": 3, "threads": 2, "backend": "cpu", "name": "m.gguf"})"));
  EXPECT_EQ(o.n_ctx, 0);
  EXPECT_EQ(o.n_batch, 64);
  EXPECT_EQ(o.n_seq_max, 3);
  EXPECT_EQ(o.threads, 2);
  EXPECT_EQ(o.backend, BackendChoice::Cpu);
  EXPECT_EQ(o.name, "m.gguf");
  EXPECT_EQ(SessionOptions::from_json(json::object()).backend, BackendChoice::Auto);
}

TEST(SessionOptions, RejectsBadInputNamingTheKey) {
  EXPECT_EQ(error_of([] { SessionOptions::from_json(json::parse("[]")); }), "session options must be a JSON object, got []");
  EXPECT_NE(error_of([] { SessionOptions::from_json(json::parse(R"({"n_batch": 0})")); }).find("n_batch must be an integer >= 1"),
            std::string::npos);
  EXPECT_NE(error_of([] { SessionOptions::from_json(json::parse(R"({"threads": 1.5})")); }).find("threads"), std::string::npos);
  EXPECT_NE(error_of([] { SessionOptions::from_json(json::parse(R"({"n_ctx": 3000000000})")); }).find("n_ctx"), std::string::npos);
  EXPECT_NE(error_of([] { SessionOptions::from_json(json::parse(R"({"backend": "tpu"})")); })
                .find("unknown backend 'tpu' (expected webgpu, cpu or auto)"),
            std::string::npos);
  EXPECT_NE(error_of([] { SessionOptions::from_json(json::parse(R"({"ctx": 5})")); }).find("unknown session option 'ctx'"),
            std::string::npos);
}

TEST(SamplingJson, ReadsEveryKey) {
  const SamplingParams p = sampling_from_json(json::parse(
      R"({"temperature": 0.5, "top_k": 7, "top_p": 0.9, "min_p": 0.1, "repeat_penalty": 1.1, "repeat_last_n": 32,
          "frequency_penalty": 0.2, "presence_penalty": -0.3, "seed": 42, "logit_bias": {"5": -100, "7": 2.5}})"));
  EXPECT_FLOAT_EQ(p.temperature, 0.5f);
  EXPECT_EQ(p.top_k, 7);
  EXPECT_FLOAT_EQ(p.top_p, 0.9f);
  EXPECT_FLOAT_EQ(p.min_p, 0.1f);
  EXPECT_FLOAT_EQ(p.repeat_penalty, 1.1f);
  EXPECT_EQ(p.repeat_last_n, 32);
  EXPECT_FLOAT_EQ(p.frequency_penalty, 0.2f);
  EXPECT_FLOAT_EQ(p.presence_penalty, -0.3f);
  EXPECT_EQ(p.seed, 42u);
  EXPECT_EQ(p.logit_bias.size(), 2u);
  EXPECT_FLOAT_EQ(p.logit_bias.at(7), 2.5f);
}

TEST(SamplingJson, RejectsBadInputNamingTheKey) {
  EXPECT_NE(error_of([] { sampling_from_json(json::parse(R"({"temperature": "hot"})")); }).find("temperature must be a number"),
            std::string::npos);
  EXPECT_NE(error_of([] { sampling_from_json(json::parse(R"({"seed": -1})")); }).find("seed must be a non-negative integer"),
            std::string::npos);
  EXPECT_NE(error_of([] { sampling_from_json(json::parse(R"({"logit_bias": {"x1": 1}})")); }).find("'x1' is not a token id"),
            std::string::npos);
  EXPECT_NE(error_of([] { sampling_from_json(json::parse(R"({"top_n": 1})")); }).find("unknown sampling parameter 'top_n'"),
            std::string::npos);
}

TEST(BackendChoice, ExplainsWhatCannotLoad) {
  const std::vector<uint8_t> junk = {'G', 'G', 'U', 'F', 3, 0};
  for (BackendChoice choice : {BackendChoice::Cpu, BackendChoice::Auto}) {
    EXPECT_NE(error_of([&] { load_model(junk, {}, "junk.gguf", choice, 1); }).find("junk.gguf"), std::string::npos);
  }
  if (!kHasWebGpu) {
    EXPECT_EQ(error_of([&] { load_model(junk, {}, "junk.gguf", BackendChoice::WebGpu, 1); }),
              "WebGPU backend requested but unavailable: this build of the module has no WebGPU backend");
  }
}

}  // namespace
}  // namespace weblm::wasm
