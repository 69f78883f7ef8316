// Single-thread throughput of the dot-product kernels: mat-vec (decode: GB/s of weights streamed)
// and 32-row tiles (prompt: GMAC/s), against ggml-cpu's own vec_dot on the same bytes where the
// node-llama-cpp libraries are present (native builds). Mat-vec runs "hot" (the same matrix
// again and again, cache-resident when it fits) and "cold" (rotating over copies that together
// exceed any cache, as in decoding a whole model). Also checks the kernels against the scalar
// ones, which is how the WASM SIMD path is verified under node.
//
//   kernels_bench [rows cols [seconds_per_case]]    default 5632 2048 0.5
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/vec_dot.h"
#include "backend/cpu/vec_dot_kernels.h"
#include "format/quants.h"

#if !defined(__EMSCRIPTEN__)
#include <dlfcn.h>
#endif

namespace {

using namespace weblm;

using Clock = std::chrono::steady_clock;
using GgmlVecDot = void (*)(int n, float* s, size_t bs, const void* x, size_t bx, const void* y, size_t by, int nrc);

// ggml-cpu's vec_dot for a type from the AVX2 build node-llama-cpp ships, or nullptr.
GgmlVecDot ggml_vec_dot(DType type) {
#if defined(__EMSCRIPTEN__)
  return nullptr;
#else
  struct Traits {
    void* from_float;
    GgmlVecDot vec_dot;
    int vec_dot_type;
    int64_t nrows;
  };
  static void* lib = [] {
    const std::string path =
        std::string(WEBLM_SOURCE_DIR) + "/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-cpu-haswell.so";
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) std::fprintf(stderr, "no ggml to compare with: %s\n", dlerror());
    if (h) reinterpret_cast<void (*)()>(dlsym(h, "ggml_cpu_init"))();
    return h;
  }();
  if (!lib) return nullptr;
  auto get = reinterpret_cast<const Traits* (*)(int)>(dlsym(lib, "ggml_get_type_traits_cpu"));
  return get(static_cast<int>(type))->vec_dot;
#endif
}

// Best time of repeated runs of fn over about `seconds`.
template <class Fn>
double best_seconds(double seconds, Fn&& fn) {
  fn();
  double best = 1e30, spent = 0;
  int runs = 0;
  while (spent < seconds || runs < 3) {
    const auto t0 = Clock::now();
    fn();
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::min(best, dt);
    spent += dt;
    ++runs;
  }
  return best;
}

std::vector<float> random_values(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

// Kernels against the scalar ones on a few rows, tile against single dots; false on mismatch.
bool check(DType type, int64_t cols, const uint8_t* w, size_t w_stride, const uint8_t* a, size_t a_stride) {
  constexpr int kW = 7, kA = 5;
  float tile[kA][kW], scalar[kA][kW];
  cpu::vec_dot_tile(type, cols, w, w_stride, kW, a, a_stride, kA, &tile[0][0], kW);
  cpu::kernels::scalar_tile(type)({cols, w, w_stride, kW, a, a_stride, kA, &scalar[0][0], kW, 1});
  bool ok = true;
  for (int j = 0; j < kA; ++j) {
    for (int i = 0; i < kW; ++i) {
      const float single = cpu::vec_dot(type, cols, w + i * w_stride, a + j * a_stride);
      const float tol = 1e-4f * (std::fabs(scalar[j][i]) + 1.f);
      if (single != tile[j][i] || std::fabs(single - scalar[j][i]) > tol) {
        std::printf("  MISMATCH %s [%d,%d]: tile %.9g single %.9g scalar %.9g\n", std::string(dtype_name(type)).c_str(),
                    i, j, tile[j][i], single, scalar[j][i]);
        ok = false;
      }
    }
  }
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t rows = argc > 2 ? std::atoll(argv[1]) : 5632;
  const int64_t cols = argc > 2 ? std::atoll(argv[2]) : 2048;
  const double seconds = argc > 3 ? std::atof(argv[3]) : 0.5;
  constexpr int kPromptRows = 32;
  std::printf("%lld x %lld weights, 1 thread; decode = mat-vec, prompt = %d activation rows\n",
              static_cast<long long>(rows), static_cast<long long>(cols), kPromptRows);
  std::printf("%-5s %8s %10s %10s %10s %10s %12s\n", "", "weights", "hot GB/s", "", "cold GB/s", "", "prompt");
  std::printf("%-5s %8s %10s %10s %10s %10s %12s\n", "type", "MiB", "ours", "ggml", "ours", "ggml", "GMAC/s");
  const std::vector<float> wf = random_values(rows * cols, 1);
  const std::vector<float> xf = random_values(kPromptRows * cols, 2);
  bool all_ok = true;
  for (DType type : {DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1,
                     DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
    if (cols % traits(type).block_size) continue;
    const std::vector<uint8_t> w = quantize_tensor(type, wf, cols);
    const size_t w_stride = row_bytes(type, cols);
    const DType act = cpu::activation_type(type);
    const size_t a_stride = row_bytes(act, cols);
    std::vector<uint8_t> a(a_stride * kPromptRows);
    for (int j = 0; j < kPromptRows; ++j)
      cpu::convert_activation(act, xf.data() + j * cols, a.data() + j * a_stride, cols);
    all_ok &= check(type, cols, w.data(), w_stride, a.data(), a_stride);

    std::vector<float> out(rows * kPromptRows);
    const double bytes = static_cast<double>(w.size());
    // Copies of the matrix that together exceed any cache.
    const size_t n_copies = std::max<size_t>(2, (size_t{256} << 20) / w.size() + 1);
    std::vector<std::vector<uint8_t>> copies(n_copies, w);
    size_t next = 0;
    auto ours = [&](const std::vector<uint8_t>& m) {
      cpu::vec_dot_tile(type, cols, m.data(), w_stride, static_cast<int>(rows), a.data(), a_stride, 1, out.data(),
                        rows);
    };
    const double hot = best_seconds(seconds, [&] { ours(w); });
    const double cold = best_seconds(seconds, [&] { ours(copies[next++ % n_copies]); });
    double ggml_hot = 0, ggml_cold = 0;
    if (GgmlVecDot dot = ggml_vec_dot(type)) {
      auto theirs = [&](const std::vector<uint8_t>& m) {
        for (int64_t r = 0; r < rows; ++r)
          dot(static_cast<int>(cols), &out[r], 0, m.data() + r * w_stride, 0, a.data(), 0, 1);
      };
      ggml_hot = best_seconds(seconds, [&] { theirs(w); });
      ggml_cold = best_seconds(seconds, [&] { theirs(copies[next++ % n_copies]); });
    }
    // Prompt: blocks of 64 weight rows against all activation rows, as the CPU backend tiles.
    const double prompt = best_seconds(seconds, [&] {
      for (int64_t r0 = 0; r0 < rows; r0 += 64)
        cpu::vec_dot_tile(type, cols, w.data() + r0 * w_stride, w_stride,
                          static_cast<int>(std::min<int64_t>(64, rows - r0)), a.data(), a_stride, kPromptRows,
                          out.data() + r0, rows);
    });
    auto gbps = [&](double t) {
      char s[32] = "-";
      if (t > 0) std::snprintf(s, sizeof s, "%.2f", bytes / t / 1e9);
      return std::string(s);
    };
    std::printf("%-5s %8.1f %10s %10s %10s %10s %12.2f\n", std::string(dtype_name(type)).c_str(), bytes / (1 << 20),
                gbps(hot).c_str(), gbps(ggml_hot).c_str(), gbps(cold).c_str(), gbps(ggml_cold).c_str(),
                static_cast<double>(rows) * cols * kPromptRows / prompt / 1e9);
  }
  std::printf(all_ok ? "kernels agree with the scalar reference\n" : "KERNEL MISMATCH\n");
  return all_ok ? 0 : 1;
}
