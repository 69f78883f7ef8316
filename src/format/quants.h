// Conversions between f32 and the stored element types, bit-exact with ggml: the same f16/bf16
// rounding, and the same quantizers `llama-quantize` runs without an importance matrix, so a
// model quantized here is byte-identical to one quantized by llama.cpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "format/dtype.h"

namespace weblm {

namespace detail {
inline float float_from_bits(uint32_t w) {
  float f;
  std::memcpy(&f, &w, sizeof f);
  return f;
}
inline uint32_t bits_from_float(float f) {
  uint32_t w;
  std::memcpy(&w, &f, sizeof w);
  return w;
}
}  // namespace detail

// Exact for every half value (subnormals, infinities, NaNs keep their payload), branch-free.
inline float f16_to_f32(f16_bits h) {
  using detail::bits_from_float;
  using detail::float_from_bits;
  const uint32_t w = static_cast<uint32_t>(h) << 16;
  const uint32_t sign = w & 0x80000000u;
  const uint32_t two_w = w + w;
  // Normals and inf/NaN: move the exponent and mantissa into place, then rebias by 2^-112.
  const float normalized = float_from_bits((two_w >> 4) + (0xE0u << 23)) * 0x1.0p-112f;
  // Subnormals: the mantissa as the low bits of 0.5's significand, minus 0.5.
  const float denormalized = float_from_bits((two_w >> 17) | (126u << 23)) - 0.5f;
  const uint32_t magnitude = two_w < (1u << 27) ? bits_from_float(denormalized) : bits_from_float(normalized);
  return float_from_bits(sign | magnitude);
}

// Round to nearest even; overflow gives infinity, every NaN becomes 0x7E00 (with its sign).
inline f16_bits f32_to_f16(float f) {
  using detail::bits_from_float;
  using detail::float_from_bits;
  // Scaling up then down makes the FPU round the mantissa to 10 bits at the right exponent.
  float base = (std::fabs(f) * 0x1.0p+112f) * 0x1.0p-110f;
  const uint32_t w = bits_from_float(f);
  const uint32_t shl1_w = w + w;
  const uint32_t sign = w & 0x80000000u;
  uint32_t bias = shl1_w & 0xFF000000u;
  if (bias < 0x71000000u) bias = 0x71000000u;
  base = float_from_bits((bias >> 1) + 0x07800000u) + base;
  const uint32_t bits = bits_from_float(base);
  const uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
  const uint32_t mantissa_bits = bits & 0x00000FFFu;
  const uint32_t nonsign = exp_bits + mantissa_bits;
  return static_cast<f16_bits>((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

inline float bf16_to_f32(bf16_bits h) { return detail::float_from_bits(static_cast<uint32_t>(h) << 16); }

// Round to nearest even; NaNs are truncated and forced quiet; subnormals are kept.
inline bf16_bits f32_to_bf16(float f) {
  const uint32_t u = detail::bits_from_float(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<bf16_bits>((u >> 16) | 64);
  return static_cast<bf16_bits>((u + (0x7FFFu + ((u >> 16) & 1))) >> 16);
}

// The 6-bit scale and min of sub-block j (of 8) of a Q4_K/Q5_K super-block's packed scales:
// bytes 0-3 hold scales 0-3, bytes 4-7 mins 0-3 (low 6 bits each); bytes 8-11 the low 4 bits of
// scale and min 4-7, whose high 2 bits sit in the top bits of bytes 0-7.
inline void k_scale_min(int j, const uint8_t* scales, uint8_t& d, uint8_t& m) {
  if (j < 4) {
    d = scales[j] & 63;
    m = scales[j + 4] & 63;
  } else {
    d = static_cast<uint8_t>((scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4));
    m = static_cast<uint8_t>((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
  }
}

// x[n] -> one row of `type` (n a multiple of its block size). Quantized types use ggml's
// reference quantizers (quantize_row_*_ref); Q8_1/Q8_K are the activation formats.
void quantize_row(DType type, const float* x, void* dst, int64_t n);

// One row of `type` -> y[n].
void dequantize_row(DType type, const void* src, float* dst, int64_t n);

// x: rows of `cols` values back to back -> the rows of `type`, back to back.
std::vector<uint8_t> quantize_tensor(DType type, std::span<const float> x, int64_t cols);

// Whether a tensor of `dims` (ggml order) takes `type` when a model is converted or quantized to
// it: matrices whose rows fit its blocks. Vectors (norms, biases) and matrices whose rows do not
// fit stay at higher precision, as llama.cpp's converter and llama-quantize keep them.
bool takes_weight_type(DType type, std::span<const int64_t> dims);

}  // namespace weblm
