// A pass as the bridge submits it: dispatches, copies and writes in order (u32 words, format in
// wasm/webgpu_bridge.js), with each dispatch's parameter block in one shared uniform buffer.
// Buffers that may still grow while a pass is recorded (scratch arena, batch words, parameters)
// are recorded as stand-ins and named only when the pass is submitted.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

namespace weblm::webgpu {

enum class Deferred : uint32_t { Arena = 0xFFFFFFFFu, Batch = 0xFFFFFFFEu };
constexpr uint32_t deferred(Deferred d) { return static_cast<uint32_t>(d); }

// Workgroups per dimension.
struct Grid {
  uint32_t x = 1, y = 1, z = 1;
};

// `groups` workgroups as x * y with x <= max_per_dimension; kernels index them with
// workgroup_index() (shaders/grid.wgsl) and skip the surplus.
Grid linear_grid(uint64_t groups, uint32_t max_per_dimension);

// A kernel's parameters, in the order of the fields of its WGSL `Params` struct.
class Params {
 public:
  Params& u(uint64_t v);
  Params& f(float v);
  std::span<const uint32_t> words() const { return {words_.data(), size_}; }

 private:
  std::array<uint32_t, 64> words_{};
  size_t size_ = 0;
};

class CommandStream {
 public:
  static constexpr uint32_t kParamsBytes = 256;  // the bridge binds this much at each offset

  explicit CommandStream(uint32_t params_alignment);

  // `buffers` are the bindings after the parameters, in the order of the pipeline's layout.
  void dispatch(uint32_t pipeline, const Params& params, Grid grid, std::initializer_list<uint32_t> buffers);
  void copy(uint32_t src, uint32_t src_offset, uint32_t dst, uint32_t dst_offset, uint32_t bytes);
  void write(uint32_t dst, uint32_t offset, std::span<const uint8_t> bytes);

  bool empty() const { return words_.empty(); }
  size_t dispatches() const { return dispatches_; }
  std::span<const uint8_t> params() const;

  // The words to submit with the stand-ins replaced; valid until the stream changes.
  std::span<const uint32_t> resolve(uint32_t arena, uint32_t batch, uint32_t params);
  void clear();

 private:
  uint32_t params_stride_;
  std::vector<uint32_t> words_;
  std::vector<uint32_t> params_;
  std::vector<uint8_t> payload_;          // bytes of the writes
  std::vector<size_t> handle_words_;      // positions of buffer handles (stand-ins possible)
  std::vector<size_t> payload_words_;     // positions of write payload offsets -> pointers
  std::vector<uint32_t> resolved_;
  size_t dispatches_ = 0;
};

}  // namespace weblm::webgpu
