#include "backend/webgpu/gpu_device.h"

#include <algorithm>

#include "backend/webgpu/gpu_bridge.h"
#include "backend/webgpu/shader_sources.h"
#include "util/error.h"

namespace weblm::webgpu {

namespace {
enum Status : uint32_t { kIdle = 0, kRunning = 1, kFailed = 2 };
constexpr uint32_t kFeatureF16 = 1, kFeatureSubgroups = 2;

uint32_t u32_or_fail(size_t v, const char* what) {
  if (v > 0xFFFFFFFFu) fail("WebGPU: ", what, " of ", v, " does not fit 32 bits");
  return static_cast<uint32_t>(v);
}
}  // namespace

size_t Limits::max_storage_buffer() const {
  const uint64_t limit = std::min<uint64_t>({max_binding, max_buffer, uint64_t{1} << 31});
  return static_cast<size_t>(limit & ~uint64_t{3});
}

Device::Device() {
  double l[5] = {};
  ctx_ = weblm_gpu_open(l);
  if (ctx_ == 0) fail("no WebGPU device was handed over (Module.webgpuDevice)");
  limits_.max_binding = static_cast<uint64_t>(l[0]);
  limits_.max_buffer = static_cast<uint64_t>(l[1]);
  limits_.params_alignment = static_cast<uint32_t>(l[2]);
  limits_.max_groups = static_cast<uint32_t>(l[3]);
  const uint32_t features = static_cast<uint32_t>(l[4]);
  limits_.shader_f16 = features & kFeatureF16;
  limits_.subgroups = features & kFeatureSubgroups;
  char name[256];
  weblm_gpu_adapter_name(ctx_, name, sizeof name);
  adapter_ = name;
}

Device::~Device() {
  for (const auto& [handle, bytes] : buffers_) weblm_gpu_destroy_buffer(handle);
  weblm_gpu_close(ctx_);
}

uint32_t Device::create_buffer(size_t size, BufferUsage usage, std::span<const uint8_t> init, const std::string& what) {
  check();
  size = std::max<size_t>(4, (size + 3) & ~size_t{3});
  if (init.size() > size) fail("WebGPU: ", init.size(), " bytes of data for a buffer of ", size);
  if (usage == BufferUsage::Storage && size > limits_.max_storage_buffer())
    fail("WebGPU: ", what, " needs a buffer of ", size, " bytes; this device allows at most ",
         limits_.max_storage_buffer(), " (maxStorageBufferBindingSize ", limits_.max_binding, ", maxBufferSize ",
         limits_.max_buffer, ")");
  const uint32_t handle = weblm_gpu_create_buffer(ctx_, u32_or_fail(size, "a buffer size"),
                                                  static_cast<uint32_t>(usage), init.data(),
                                                  static_cast<uint32_t>(init.size()));
  if (handle == 0) {
    char message[512];
    weblm_gpu_error(ctx_, message, sizeof message);
    fail("WebGPU could not allocate ", size, " bytes for ", what, " (", bytes_allocated_,
         " bytes in use): ", message);
  }
  buffers_[handle] = size;
  bytes_allocated_ += size;
  return handle;
}

void Device::destroy_buffer(uint32_t buffer) {
  auto it = buffers_.find(buffer);
  if (it == buffers_.end()) return;
  bytes_allocated_ -= it->second;
  buffers_.erase(it);
  weblm_gpu_destroy_buffer(buffer);
}

uint32_t Device::pipeline(const PipelineSpec& spec, std::initializer_list<Constant> constants) {
  if (constants.size() > 2) fail("WebGPU: a kernel with more than two constants");
  uint32_t values[2] = {};
  std::string text;  // "NAME=value;NAME=value", as the bridge takes them
  size_t i = 0;
  for (const Constant& c : constants) values[i++] = c.value;
  const auto key = std::make_tuple(&spec, values[0], values[1]);
  auto it = pipelines_.find(key);
  if (it != pipelines_.end()) return it->second;
  for (const Constant& c : constants) text += str_cat(text.empty() ? "" : ";", c.name, "=", c.value);
  const std::string label = str_cat(spec.kernel, ":", spec.entry, ":", text);
  const std::string source(shader_source(spec.kernel));
  if (source.empty()) fail("WebGPU: no kernel named ", spec.kernel);
  const uint32_t handle =
      weblm_gpu_create_pipeline(ctx_, source.c_str(), spec.entry, spec.layout, text.c_str(), label.c_str());
  if (handle == 0) check();
  if (handle == 0) fail("WebGPU: pipeline ", label, " could not be made");
  pipelines_.emplace(key, handle);
  return handle;
}

void Device::write_buffer(uint32_t buffer, size_t offset, std::span<const uint8_t> bytes) {
  weblm_gpu_write_buffer(ctx_, buffer, u32_or_fail(offset, "a write offset"), bytes.data(),
                         u32_or_fail(bytes.size(), "a write size"));
}

void Device::submit(std::span<const uint32_t> commands, uint32_t readback, void* dst, size_t readback_bytes) {
  check();
  weblm_gpu_submit(ctx_, commands.data(), u32_or_fail(commands.size(), "a command stream"), readback, dst,
                   u32_or_fail(readback_bytes, "a readback"));
}

bool Device::busy() const { return weblm_gpu_status(ctx_) == kRunning; }

void Device::check() const {
  if (weblm_gpu_status(ctx_) != kFailed) return;
  char message[1024];
  weblm_gpu_error(ctx_, message, sizeof message);
  fail(message);
}

}  // namespace weblm::webgpu
