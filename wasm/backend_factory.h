// Which backend a wasm session runs on, and why. `webgpu` and `cpu` force one; `auto` takes
// WebGPU when the host handed over a GPUDevice and the model loads on it, else the CPU backend.
//
// The WebGPU backend (src/backend/webgpu) plugs in by providing
//   std::unique_ptr<Backend> weblm::create_webgpu_backend(const GgufFile& file);
// in backend/webgpu/webgpu_backend.h. It throws Error saying why it cannot run the file (no
// GPUDevice handed over, tensors past the device's limits); that sentence becomes the reason the
// CPU backend was chosen. The build compiles it in when that header exists (wasm/CMakeLists.txt).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "backend/backend.h"
#include "model/model.h"

namespace weblm::wasm {

#if WEBLM_HAS_WEBGPU
inline constexpr bool kHasWebGpu = true;
#else
inline constexpr bool kHasWebGpu = false;
#endif

enum class BackendChoice : uint8_t { Auto, Cpu, WebGpu };

// "auto" | "cpu" | "webgpu"; Error listing them otherwise.
BackendChoice parse_backend_choice(std::string_view name);

// A model and the backend holding its weights (declared first, so destroyed last).
struct ModelOnBackend {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Model> model;
  std::string kind;    // "cpu" or "webgpu"
  std::string reason;  // why this backend, for the host to report
};

// Parses the GGUF in `bytes` (which must outlive the result: the CPU backend reads weights in
// place; `parts`: the sizes of its files when there are several, see GgufFile::parse_parts) and
// loads it on the chosen backend. Errors name the file; with `webgpu` forced, a WebGPU failure
// is the error, with `auto` it is the reason for the CPU fallback.
ModelOnBackend load_model(std::span<const uint8_t> bytes, std::span<const uint64_t> parts, const std::string& name,
                          BackendChoice choice, int cpu_threads);

}  // namespace weblm::wasm
