// Internal to vec_dot*.cpp (and their test and bench, which call the scalar kernels directly):
// the kernel interface each instruction set implements, and the driver that covers a tile of
// weight rows x activation rows with register-blocked micro-tiles.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "format/dtype.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define WEBLM_VEC_DOT_AVX2 1
#elif defined(__wasm_simd128__)
#define WEBLM_VEC_DOT_WASM 1
#endif

namespace weblm::cpu::kernels {

struct Tile {
  int64_t n;  // elements per row
  const uint8_t* w;
  size_t w_stride;
  int n_w;
  const uint8_t* a;
  size_t a_stride;
  int n_a;
  float* out;
  size_t out_stride;      // between activation rows
  size_t out_w_step = 1;  // between weight rows
};

using TileFn = void (*)(const Tile& t);

// Kernels for a weight type, or nullptr where the instruction set has none (the caller then
// falls back to the next one; scalar covers every type).
TileFn scalar_tile(DType weight);
#if WEBLM_VEC_DOT_AVX2
TileFn avx2_tile(DType weight);
#elif WEBLM_VEC_DOT_WASM
TileFn wasm_tile(DType weight);
#endif

// Maps the micro-tile's shape (m.n_w x m.n_a, at most RW x RA) to its instantiation.
template <class Micro, int RW, int RA>
void dispatch_micro(const Tile& m) {
  if constexpr (RW > 1) {
    if (m.n_w < RW) return dispatch_micro<Micro, RW - 1, RA>(m);
  }
  if constexpr (RA > 1) {
    if (m.n_a < RA) return dispatch_micro<Micro, RW, RA - 1>(m);
  }
  Micro::template run<RW, RA>(m);
}

// Covers t with micro-tiles computed by Micro::run<RW, RA> of at most MW x MA rows.
//
// The weights stream through once: a group of weight rows is read from as many far-apart parts
// of the matrix, each walked sequentially (interleaving adjacent rows would zigzag inside 4 KiB
// pages and defeat the hardware prefetchers), and meets every activation row while it is in L1.
// A few activation rows (decode, sequences decoding together, a draft being verified) then cost
// little more than one. Fewer activation rows than MA leave accumulators for more weight rows
// per group, up to MW1.
template <class Micro, int MW, int MA, int MW1 = MW>
void run_micro_tiles(const Tile& t) {
  const int rw = t.n_a <= MA ? std::max(1, std::min(MW1, MW * MA / t.n_a)) : MW;
  const int part = t.n_w / rw;
  auto cover = [&](Tile m) {  // m: n_w weight rows (part rows apart), every activation row
    for (int j0 = 0; j0 < t.n_a; j0 += MA) {
      Tile c = m;
      c.a = t.a + static_cast<size_t>(j0) * t.a_stride;
      c.out = m.out + static_cast<size_t>(j0) * t.out_stride;
      c.n_a = std::min(MA, t.n_a - j0);
      dispatch_micro<Micro, MW1, MA>(c);
    }
  };
  Tile m = t;
  m.n_w = rw;
  m.w_stride = t.w_stride * part;
  m.out_w_step = t.out_w_step * part;
  for (int i = 0; i < part; ++i, m.w += t.w_stride, m.out += t.out_w_step) cover(m);
  m.n_w = 1;
  for (int i = part * rw; i < t.n_w; ++i) {
    m.w = t.w + static_cast<size_t>(i) * t.w_stride;
    m.out = t.out + i * t.out_w_step;
    cover(m);
  }
}

// The i-th block of row r of a tile's weights or activations.
template <class Block>
inline const Block& block_at(const uint8_t* rows, size_t stride, int r, int64_t i) {
  return reinterpret_cast<const Block*>(rows + static_cast<size_t>(r) * stride)[i];
}

}  // namespace weblm::cpu::kernels
