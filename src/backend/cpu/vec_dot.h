// Dot products of weight rows with activation rows: the building block of every CPU matmul.
// As in ggml-cpu, activations are first converted to the weight's "dot type" (8-bit blocks for
// quantized weights), then each pair of blocks is multiplied in integers and scaled once.
// Kernels: AVX2+FMA+F16C, WASM SIMD128, and portable scalar code, chosen at compile time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "format/dtype.h"

namespace weblm::cpu {

// The type activations must be converted to before a dot with `weight` rows (ggml's
// vec_dot_type): F32, F16, BF16 for themselves; Q8_0 for Q4_0/Q5_0/Q8_0; Q8_1 for Q4_1/Q5_1;
// Q8_K for the K-quants. Throws Error for types with no dot product.
DType activation_type(DType weight);

// x[n] -> one row of act_type, exactly as ggml-cpu's x86 build quantizes activations
// (from_float), whatever machine this runs on.
void convert_activation(DType act_type, const float* x, void* dst, int64_t n);

// dot(weight row, activation row) of n elements; act_row is of activation_type(weight).
float vec_dot(DType weight, int64_t n, const void* w_row, const void* act_row);

// out[j * out_stride + i] = dot(w row i, a row j) for i < n_w, j < n_a; rows `w_stride` and
// `a_stride` bytes apart. Every weight block is loaded once for several activation rows, the
// fast path for prompts. Each result is bit-identical to vec_dot's.
void vec_dot_tile(DType weight, int64_t n, const void* w, size_t w_stride, int n_w, const void* a, size_t a_stride,
                  int n_a, float* out, size_t out_stride);

}  // namespace weblm::cpu
