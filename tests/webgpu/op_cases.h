// The cross-backend op test (in the spirit of ggml's test-backend-ops): cases that run one op of
// the Backend interface on given inputs. The native driver (op_reference.cpp) generates them,
// runs them on the native CPU backend and writes inputs and outputs to a file; the wasm module
// (op_test_module.cpp) runs the same cases on WebGPU and on the WASM CPU backend and compares.
// This file is shared by both sides: the case format, running a case, and the tolerances.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"

namespace weblm::optest {

enum class Role : uint8_t {
  Weight,      // load_weight
  Scratch,     // alloc(Forward) + write
  Persistent,  // alloc(Persistent) + write (KV caches, copy_rows' tensor)
};

struct Input {
  Role role = Role::Scratch;
  DType type = DType::F32;
  int64_t cols = 0, rows = 0;
  std::vector<uint8_t> bytes;  // rows of row_bytes(type, cols), back to back
};

struct OpCase {
  std::string name;  // op, type and shape, e.g. "matmul q4_K w=37x512 x=1"
  std::string op;    // embed matmul add rms_norm rope store_kv attention glu_silu glu_gelu softcap
                     // select_rows copy_rows
  std::vector<int64_t> ints;  // the op's integer parameters (see run_case)
  std::vector<float> floats;  // and its float parameters
  ForwardBatch batch;
  std::vector<Input> inputs;
  int64_t out_cols = 0, out_rows = 0;
  std::vector<float> expected;  // the native CPU backend's output
  // matmul only: the exact product of the dequantized weights and the f32 activations (double
  // precision), and sum_k |w x| per output, the scale of each output's rounding error.
  std::vector<float> exact;
  std::vector<float> magnitude;
};

std::vector<uint8_t> serialize(const std::vector<OpCase>& cases);
// Error naming the offset when the bytes are not a case file.
std::vector<OpCase> deserialize(std::span<const uint8_t> bytes);

// Puts a scratch or persistent tensor's bytes in place (each backend has its own way).
using TensorWriter = std::function<void(const Tensor&, std::span<const uint8_t>)>;
TensorWriter cpu_writer(CpuBackend& cpu);

// Runs the case as one forward pass, begin_forward to end_forward; its output lands in `out`
// (out_rows x out_cols) once the backend is ready.
void run_case(Backend& backend, const TensorWriter& write, const OpCase& c, std::vector<float>& out);

enum class Checked : uint8_t { WebGpu, WasmCpu };

struct Verdict {
  double worst = 0;  // max over outputs of |difference| / tolerance: the case passes at <= 1
  size_t worst_index = 0;
  float got = 0, want = 0;
  std::string against;  // which reference the worst ratio was measured against
  std::string tolerance;
};

// Compares a backend's output with the native reference under the case's stated tolerance
// (and, for WebGPU's matmul, also with the exact product).
Verdict check(const OpCase& c, Checked backend, std::span<const float> got);

}  // namespace weblm::optest
