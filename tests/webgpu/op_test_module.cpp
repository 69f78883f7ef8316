// The wasm side of the cross-backend op test: runs the native driver's cases on the WebGPU
// backend, again on WebGPU without subgroups and with weights split across small buffers (the
// kernels every device can run, and the split), and on the WASM CPU backend, and judges each
// output (op_cases.h). op_test.mjs drives it and awaits the GPU between submit and check.
#include <emscripten/emscripten.h>

#include <cstring>
#include <memory>

#include <nlohmann/json.hpp>

#include "backend/webgpu/webgpu_backend.h"
#include "op_cases.h"
#include "util/error.h"

namespace {

using weblm::optest::Checked;
using weblm::optest::OpCase;

enum Kind : int { kWebGpu = 0, kWebGpuPlain = 1, kWasmCpu = 2, kKinds = 3 };

// Small enough that the weights of the larger cases span several buffers.
constexpr size_t kSmallBufferBytes = 16 * 1024;

std::vector<OpCase> g_cases;
std::unique_ptr<weblm::Backend> g_backends[kKinds];
std::vector<float> g_outputs[kKinds];
std::string g_text;

weblm::optest::TensorWriter writer(int kind) {
  weblm::Backend* b = g_backends[kind].get();
  if (kind == kWasmCpu) return weblm::optest::cpu_writer(*static_cast<weblm::CpuBackend*>(b));
  auto* gpu = static_cast<weblm::WebGpuBackend*>(b);
  return [gpu](const weblm::Tensor& t, std::span<const uint8_t> bytes) { gpu->write(t, bytes); };
}

const char* fail_text(const std::exception& e) {
  g_text = nlohmann::json{{"error", e.what()}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return g_text.c_str();
}

}  // namespace

extern "C" {

// Takes the case file (malloc'ed; freed here); returns the number of cases, -1 on error.
EMSCRIPTEN_KEEPALIVE int op_test_load(uint8_t* data, size_t size) {
  try {
    g_cases = weblm::optest::deserialize(std::span<const uint8_t>(data, size));
    std::free(data);
    return static_cast<int>(g_cases.size());
  } catch (const std::exception& e) {
    std::free(data);
    fail_text(e);
    return -1;
  }
}

EMSCRIPTEN_KEEPALIVE const char* op_test_case_name(int i) { return g_cases.at(i).name.c_str(); }

// Makes backend `kind`; returns its name as JSON {"name": ...} or {"error": ...}.
EMSCRIPTEN_KEEPALIVE const char* op_test_open(int kind) {
  try {
    if (kind == kWasmCpu) g_backends[kind] = std::make_unique<weblm::CpuBackend>(2);
    else if (kind == kWebGpu) g_backends[kind] = std::make_unique<weblm::WebGpuBackend>();
    else g_backends[kind] = std::make_unique<weblm::WebGpuBackend>(weblm::WebGpuOptions{kSmallBufferBytes, false});
    g_text = nlohmann::json{{"name", g_backends[kind]->name()}}.dump();
    return g_text.c_str();
  } catch (const std::exception& e) {
    return fail_text(e);
  }
}

// Records case i on backend `kind` and submits it; "" or {"error": ...}.
EMSCRIPTEN_KEEPALIVE const char* op_test_submit(int kind, int i) {
  try {
    weblm::optest::run_case(*g_backends[kind], writer(kind), g_cases.at(i), g_outputs[kind]);
    return "";
  } catch (const std::exception& e) {
    return fail_text(e);
  }
}

EMSCRIPTEN_KEEPALIVE int op_test_ready(int kind) { return g_backends[kind]->ready() ? 1 : 0; }

// The verdict on case i's output on backend `kind`, as JSON.
EMSCRIPTEN_KEEPALIVE const char* op_test_check(int kind, int i) {
  try {
    g_backends[kind]->wait();
    const weblm::optest::Verdict v =
        weblm::optest::check(g_cases.at(i), kind == kWasmCpu ? Checked::WasmCpu : Checked::WebGpu, g_outputs[kind]);
    g_text = nlohmann::json{{"worst", v.worst},       {"index", v.worst_index}, {"got", v.got},
                            {"want", v.want},         {"against", v.against},   {"tolerance", v.tolerance}}
                 .dump();
    return g_text.c_str();
  } catch (const std::exception& e) {
    return fail_text(e);
  }
}

EMSCRIPTEN_KEEPALIVE const char* op_test_error() { return g_text.c_str(); }

}  // extern "C"
