// The GPUDevice as C++ sees it through the JS bridge: buffers, pipelines made once per kernel
// variant, and passes submitted as recorded command streams. Buffers it made are destroyed with it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>

namespace weblm::webgpu {

struct Limits {
  uint64_t max_binding = 0;        // bytes one storage binding may cover
  uint64_t max_buffer = 0;         // bytes of one buffer
  uint32_t params_alignment = 0;   // of dynamic uniform offsets
  uint32_t max_groups = 0;         // workgroups per grid dimension
  bool shader_f16 = false;
  bool subgroups = false;
  // The largest buffer this backend makes: both limits, and under 2 GiB so that byte offsets
  // and sizes fit the bridge's 32-bit arguments.
  size_t max_storage_buffer() const;
};

enum class BufferUsage : uint32_t { Storage = 0, Params = 1, Readback = 2 };

// A kernel: shaders/<kernel>.wgsl's entry point with its bindings ("1w3r": binding 1 read-write,
// binding 3 read-only; binding 0, the parameters, is implied).
struct PipelineSpec {
  const char* kernel;
  const char* entry;
  const char* layout;
};

// A pipeline-overridable constant of a kernel (WGSL `override`), fixed when its pipeline is made.
struct Constant {
  const char* name;
  uint32_t value;
};

class Device {
 public:
  // Opens the GPUDevice the host handed over; Error when there is none.
  Device();
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const Limits& limits() const { return limits_; }
  const std::string& adapter() const { return adapter_; }

  // A buffer of `size` bytes (rounded up to 4), starting with `init`, zero after it. Error naming
  // `what` when the device cannot allocate it.
  uint32_t create_buffer(size_t size, BufferUsage usage, std::span<const uint8_t> init, const std::string& what);
  void destroy_buffer(uint32_t buffer);
  size_t bytes_allocated() const { return bytes_allocated_; }

  // The pipeline of `spec` with up to two constants, made on first use.
  uint32_t pipeline(const PipelineSpec& spec, std::initializer_list<Constant> constants = {});
  // Ordered after every submitted pass and before the next one.
  void write_buffer(uint32_t buffer, size_t offset, std::span<const uint8_t> bytes);
  // When readback_bytes > 0, the pass is running until they are copied to dst (see busy()).
  void submit(std::span<const uint32_t> commands, uint32_t readback, void* dst, size_t readback_bytes);

  bool busy() const;
  // Error with the device's failure (lost, out of memory, a rejected command), if any.
  void check() const;

 private:
  uint32_t ctx_ = 0;
  Limits limits_;
  std::string adapter_;
  std::unordered_map<uint32_t, size_t> buffers_;  // handle -> bytes
  size_t bytes_allocated_ = 0;
  // (kernel, constant values) -> handle; ops look pipelines up on every dispatch.
  std::map<std::tuple<const PipelineSpec*, uint32_t, uint32_t>, uint32_t> pipelines_;
};

}  // namespace weblm::webgpu
