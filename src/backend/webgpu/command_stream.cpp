#include "backend/webgpu/command_stream.h"

#include <algorithm>
#include <cstring>

#include "util/error.h"

namespace weblm::webgpu {

namespace {
enum Op : uint32_t { kDispatch = 1, kCopy = 2, kWrite = 3 };
constexpr uint32_t kParamsHandle = 0xFFFFFFFDu;  // stand-in for the parameter buffer
}  // namespace

Grid linear_grid(uint64_t groups, uint32_t max_per_dimension) {
  if (groups == 0) return Grid{0, 1, 1};
  const uint64_t x = std::min<uint64_t>(groups, max_per_dimension);
  const uint64_t y = (groups + x - 1) / x;
  if (y > max_per_dimension) fail("WebGPU: a grid of ", groups, " workgroups is too large for this device");
  return Grid{static_cast<uint32_t>(x), static_cast<uint32_t>(y), 1};
}

Params& Params::u(uint64_t v) {
  if (size_ == words_.size()) fail("WebGPU: too many kernel parameters");
  if (v > 0xFFFFFFFFu) fail("WebGPU: kernel parameter ", v, " does not fit 32 bits");
  words_[size_++] = static_cast<uint32_t>(v);
  return *this;
}

Params& Params::f(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return u(bits);
}

CommandStream::CommandStream(uint32_t params_alignment)
    : params_stride_(std::max(kParamsBytes, params_alignment)) {}

std::span<const uint8_t> CommandStream::params() const {
  return {reinterpret_cast<const uint8_t*>(params_.data()), params_.size() * sizeof(uint32_t)};
}

void CommandStream::dispatch(uint32_t pipeline, const Params& params, Grid grid,
                             std::initializer_list<uint32_t> buffers) {
  const uint32_t offset = static_cast<uint32_t>(params_.size() * sizeof(uint32_t));
  params_.resize(params_.size() + params_stride_ / sizeof(uint32_t));
  std::copy(params.words().begin(), params.words().end(), params_.begin() + offset / sizeof(uint32_t));
  words_.insert(words_.end(), {kDispatch, pipeline, offset, grid.x, grid.y, grid.z,
                               static_cast<uint32_t>(buffers.size() + 1)});
  handle_words_.push_back(words_.size());
  words_.push_back(kParamsHandle);
  for (uint32_t b : buffers) {
    handle_words_.push_back(words_.size());
    words_.push_back(b);
  }
  ++dispatches_;
}

void CommandStream::copy(uint32_t src, uint32_t src_offset, uint32_t dst, uint32_t dst_offset, uint32_t bytes) {
  if ((src_offset | dst_offset | bytes) % 4 != 0) fail("WebGPU: copies must be whole 4-byte words");
  words_.insert(words_.end(), {kCopy, src, src_offset, dst, dst_offset, bytes});
  handle_words_.push_back(words_.size() - 5);
  handle_words_.push_back(words_.size() - 3);
}

void CommandStream::write(uint32_t dst, uint32_t offset, std::span<const uint8_t> bytes) {
  if (offset % 4 != 0 || bytes.size() % 4 != 0) fail("WebGPU: writes must be whole 4-byte words");
  words_.insert(words_.end(), {kWrite, dst, offset, static_cast<uint32_t>(bytes.size()),
                               static_cast<uint32_t>(payload_.size())});
  handle_words_.push_back(words_.size() - 4);
  payload_words_.push_back(words_.size() - 1);
  payload_.insert(payload_.end(), bytes.begin(), bytes.end());
}

std::span<const uint32_t> CommandStream::resolve(uint32_t arena, uint32_t batch, uint32_t params) {
  resolved_ = words_;
  for (size_t at : handle_words_) {
    uint32_t& h = resolved_[at];
    if (h == deferred(Deferred::Arena)) h = arena;
    else if (h == deferred(Deferred::Batch)) h = batch;
    else if (h == kParamsHandle) h = params;
  }
  for (size_t at : payload_words_)
    resolved_[at] = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(payload_.data() + resolved_[at]));
  return resolved_;
}

void CommandStream::clear() {
  words_.clear();
  params_.clear();
  payload_.clear();
  handle_words_.clear();
  payload_words_.clear();
  dispatches_ = 0;
}

}  // namespace weblm::webgpu
