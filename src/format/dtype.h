// Tensor element types: the numbering and on-disk block layouts of ggml/GGUF.
// A quantized row of n elements is n / block_size blocks laid out back to back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace weblm {

// Values are ggml's `ggml_type` numbers, as stored in GGUF tensor infos.
enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,  // activations only (dot partner of Q4_1/Q5_1)
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,  // activations only (dot partner of the K-quants)
  BF16 = 30,
};

using f16_bits = uint16_t;   // IEEE half, stored as bits
using bf16_bits = uint16_t;  // bfloat16, stored as bits

constexpr int QK4_0 = 32;
constexpr int QK4_1 = 32;
constexpr int QK5_0 = 32;
constexpr int QK5_1 = 32;
constexpr int QK8_0 = 32;
constexpr int QK8_1 = 32;
constexpr int QK_K = 256;
constexpr int K_SCALE_SIZE = 12;

// x = (q - 8) * d; element j in the low nibble of qs[j], element j+16 in the high nibble.
struct BlockQ4_0 {
  f16_bits d;
  uint8_t qs[QK4_0 / 2];
};
// x = q * d + m
struct BlockQ4_1 {
  f16_bits d;
  f16_bits m;
  uint8_t qs[QK4_1 / 2];
};
// x = (q - 16) * d; bit 4 of element j is bit j of qh.
struct BlockQ5_0 {
  f16_bits d;
  uint8_t qh[4];
  uint8_t qs[QK5_0 / 2];
};
struct BlockQ5_1 {
  f16_bits d;
  f16_bits m;
  uint8_t qh[4];
  uint8_t qs[QK5_1 / 2];
};
struct BlockQ8_0 {
  f16_bits d;
  int8_t qs[QK8_0];
};
// s = d * sum(qs)
struct BlockQ8_1 {
  f16_bits d;
  f16_bits s;
  int8_t qs[QK8_1];
};
// 8 sub-blocks of 32 with 6-bit scales and mins packed in `scales`.
struct BlockQ4_K {
  f16_bits d;
  f16_bits dmin;
  uint8_t scales[K_SCALE_SIZE];
  uint8_t qs[QK_K / 2];
};
struct BlockQ5_K {
  f16_bits d;
  f16_bits dmin;
  uint8_t scales[K_SCALE_SIZE];
  uint8_t qh[QK_K / 8];
  uint8_t qs[QK_K / 2];
};
// 16 sub-blocks of 16 with 8-bit scales; 6-bit quants split into low 4 (ql) and high 2 (qh) bits.
struct BlockQ6_K {
  uint8_t ql[QK_K / 2];
  uint8_t qh[QK_K / 4];
  int8_t scales[QK_K / 16];
  f16_bits d;
};
// bsums[i] = sum of qs[16 i .. 16 i + 15]
struct BlockQ8_K {
  float d;
  int8_t qs[QK_K];
  int16_t bsums[QK_K / 16];
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

struct DTypeTraits {
  std::string_view name;  // ggml's name: "f32", "q4_0", "q4_K", ...
  int block_size;         // elements per block (1 for plain floats)
  size_t block_bytes;     // bytes per block
  bool quantized;
};

// Traits of a type; nullptr for a number that is not a supported DType.
const DTypeTraits* dtype_traits(uint32_t type);
const DTypeTraits& traits(DType type);  // throws Error for unsupported types
std::string_view dtype_name(DType type);
// Parses "f16", "Q4_K", "q8_0", ... (case-insensitive); throws Error naming the choices.
DType parse_dtype(std::string_view name);

// Bytes of a row of n elements; throws Error if n is not a multiple of the block size.
size_t row_bytes(DType type, int64_t n);

// Weight types every backend computes with (float types and the block quantizations with dot
// kernels); the intermediate Q8_1/Q8_K activation types are not among them.
bool is_weight_type(DType type);

}  // namespace weblm
