#include "wasm/backend_factory.h"

#include "backend/cpu/cpu_backend.h"
#include "util/error.h"

#if WEBLM_HAS_WEBGPU
#include "backend/webgpu/webgpu_backend.h"
#endif

namespace weblm::wasm {

namespace {

struct ModelBytes {
  std::span<const uint8_t> bytes;
  std::span<const uint64_t> parts;
  const std::string& name;
  GgufFile parse() const { return parts.empty() ? GgufFile::parse(bytes, name) : GgufFile::parse_parts(bytes, parts, name); }
};

ModelOnBackend on_cpu(const ModelBytes& file, int threads, std::string reason) {
  ModelOnBackend m;
  m.backend = std::make_unique<CpuBackend>(threads);
  m.model = std::make_unique<Model>(file.parse(), *m.backend);
  m.kind = "cpu";
  m.reason = std::move(reason);
  return m;
}

// Throws Error with the reason WebGPU cannot run this file.
ModelOnBackend on_webgpu(const ModelBytes& bytes) {
#if WEBLM_HAS_WEBGPU
  GgufFile file = bytes.parse();
  ModelOnBackend m;
  m.backend = create_webgpu_backend(file);
  m.model = std::make_unique<Model>(std::move(file), *m.backend);
  m.kind = "webgpu";
  return m;
#else
  fail("this build of the module has no WebGPU backend");
#endif
}

}  // namespace

BackendChoice parse_backend_choice(std::string_view name) {
  if (name == "auto") return BackendChoice::Auto;
  if (name == "cpu") return BackendChoice::Cpu;
  if (name == "webgpu") return BackendChoice::WebGpu;
  fail("unknown backend '", name, "' (expected webgpu, cpu or auto)");
}

ModelOnBackend load_model(std::span<const uint8_t> bytes, std::span<const uint64_t> parts, const std::string& name,
                          BackendChoice choice, int cpu_threads) {
  const ModelBytes file{bytes, parts, name};
  switch (choice) {
    case BackendChoice::Cpu:
      return on_cpu(file, cpu_threads, "the CPU backend was requested");
    case BackendChoice::WebGpu: {
      try {
        ModelOnBackend m = on_webgpu(file);
        m.reason = "the WebGPU backend was requested";
        return m;
      } catch (const Error& e) {
        fail("WebGPU backend requested but unavailable: ", e.what());
      }
    }
    case BackendChoice::Auto:
      break;
  }
  try {
    ModelOnBackend m = on_webgpu(file);
    m.reason = "auto: a WebGPU device is available and the model fits on it";
    return m;
  } catch (const Error& e) {
    return on_cpu(file, cpu_threads, str_cat("auto: WebGPU unavailable (", e.what(), ")"));
  }
}

}  // namespace weblm::wasm
