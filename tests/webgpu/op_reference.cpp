// The native side of the cross-backend op test: generates every case (every op, every weight
// type, several shapes including odd sizes and sizes past one workgroup), runs each on the
// native CPU backend and writes inputs and outputs for the wasm side (op_test.mjs).
//   webgpu_op_reference OUT_FILE
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>

#include "format/quants.h"
#include "op_cases.h"
#include "util/error.h"

namespace weblm::optest {
namespace {

std::vector<float> random_values(size_t n, uint32_t seed, float scale = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

std::vector<uint8_t> bytes_of(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(float));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

Input f32_input(Role role, int64_t cols, int64_t rows, uint32_t seed, float scale = 1.f) {
  return Input{role, DType::F32, cols, rows, bytes_of(random_values(static_cast<size_t>(cols * rows), seed, scale))};
}

Input weight_input(DType type, int64_t cols, int64_t rows, uint32_t seed) {
  return Input{Role::Weight, type, cols, rows,
               quantize_tensor(type, random_values(static_cast<size_t>(cols * rows), seed), cols)};
}

// n tokens of sequence 0 at positions [start, start + n), KV pages of page_size in reverse order
// so that page tables matter; with `second` > 0, that many tokens of sequence 1 follow, at
// positions [2 * start + 3, ...) over pages of their own.
ForwardBatch make_batch(int n, int start = 0, int page_size = 4, int second = 0) {
  ForwardBatch b;
  b.page_size = page_size;
  const int pages = 48;
  b.page_tables.push_back({});
  for (int p = 0; p < pages; ++p) b.page_tables[0].push_back(2 * pages - 1 - p);
  if (second > 0) {
    b.page_tables.push_back({});
    for (int p = 0; p < pages; ++p) b.page_tables[1].push_back(p);
  }
  auto add = [&](int seq, int pos) {
    b.tokens.push_back(static_cast<int32_t>(b.tokens.size() * 7 % 23));
    b.positions.push_back(pos);
    b.seq_index.push_back(seq);
    b.kv_rows.push_back(b.page_tables[seq][pos / page_size] * page_size + pos % page_size);
  };
  for (int i = 0; i < n; ++i) add(0, start + i);
  for (int i = 0; i < second; ++i) add(1, 2 * start + 3 + i);
  return b;
}

const DType kWeightTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1,
                              DType::Q5_0, DType::Q5_1, DType::Q4_K, DType::Q5_K, DType::Q6_K};

// Rows of every weight type: an odd number of blocks (rows not 4-byte aligned for 18/34-byte
// blocks), and an odd length for the plain float types.
int64_t row_length(DType type) {
  const int block = traits(type).block_size;
  return block == 256 ? 512 : block == 32 ? 96 : 67;
}

void add_matmul_cases(std::vector<OpCase>& cases) {
  uint32_t seed = 100;
  for (DType type : kWeightTypes) {
    const int64_t k = row_length(type);
    // decode (1 row), matvec with several rows, and tiles: partial, one exact, several + rest
    for (const auto& [n_w, n_x] : std::vector<std::pair<int64_t, int64_t>>{{37, 1}, {67, 3}, {300, 5}, {64, 64}, {33, 70}}) {
      OpCase c;
      c.name = str_cat("matmul ", dtype_name(type), " w=", n_w, "x", k, " x=", n_x);
      c.op = "matmul";
      c.batch = make_batch(1);
      c.inputs = {weight_input(type, k, n_w, ++seed), f32_input(Role::Scratch, k, n_x, ++seed)};
      c.out_cols = n_w;
      c.out_rows = n_x;
      cases.push_back(std::move(c));
    }
  }
  for (DType type : {DType::Q4_0, DType::Q4_K, DType::F16}) {  // long rows: many steps per thread
    OpCase c;
    c.name = str_cat("matmul ", dtype_name(type), " w=80x4096 x=1");
    c.op = "matmul";
    c.batch = make_batch(1);
    c.inputs = {weight_input(type, 4096, 80, ++seed), f32_input(Role::Scratch, 4096, 1, ++seed)};
    c.out_cols = 80;
    c.out_rows = 1;
    cases.push_back(std::move(c));
  }
}

void add_embed_cases(std::vector<OpCase>& cases) {
  uint32_t seed = 300;
  for (DType type : kWeightTypes) {
    const int64_t k = row_length(type);
    OpCase c;
    c.name = str_cat("embed ", dtype_name(type), " table=23x", k, " tokens=9");
    c.op = "embed";
    c.floats = {type == DType::Q4_K ? 2.5f : 1.f};
    c.batch = make_batch(9);
    c.inputs = {weight_input(type, k, 23, ++seed)};
    c.out_cols = k;
    c.out_rows = 9;
    cases.push_back(std::move(c));
  }
  for (DType type : {DType::Q4_0, DType::F16, DType::Q6_K}) {  // tables past 16 KiB, tokens all over
    const int64_t k = row_length(type);
    OpCase c;
    c.name = str_cat("embed ", dtype_name(type), " table=300x", k, " tokens=5");
    c.op = "embed";
    c.floats = {1.f};
    c.batch = make_batch(5);
    c.batch.tokens = {0, 299, 150, 37, 260};
    c.inputs = {weight_input(type, k, 300, ++seed)};
    c.out_cols = k;
    c.out_rows = 5;
    cases.push_back(std::move(c));
  }
}

void add_elementwise_cases(std::vector<OpCase>& cases) {
  uint32_t seed = 500;
  auto simple = [&](std::string name, std::string op, std::vector<Input> inputs, int64_t cols, int64_t rows,
                    std::vector<float> floats = {}) {
    OpCase c;
    c.name = std::move(name);
    c.op = std::move(op);
    c.floats = std::move(floats);
    c.batch = make_batch(static_cast<int>(rows));
    c.inputs = std::move(inputs);
    c.out_cols = cols;
    c.out_rows = rows;
    cases.push_back(std::move(c));
  };
  simple("add 5x1000", "add", {f32_input(Role::Scratch, 1000, 5, ++seed), f32_input(Role::Scratch, 1000, 5, ++seed)},
         1000, 5);
  simple("add bias (weight row) 3x300", "add",
         {f32_input(Role::Scratch, 300, 3, ++seed), weight_input(DType::F32, 300, 1, ++seed)}, 300, 3);
  simple("add broadcast scratch row 4x17", "add",
         {f32_input(Role::Scratch, 17, 4, ++seed), f32_input(Role::Scratch, 17, 1, ++seed)}, 17, 4);
  simple("rms_norm 3x10", "rms_norm", {f32_input(Role::Scratch, 10, 3, ++seed), weight_input(DType::F32, 10, 1, ++seed)},
         10, 3, {1e-5f});
  simple("rms_norm 4x300", "rms_norm",
         {f32_input(Role::Scratch, 300, 4, ++seed, 3.f), weight_input(DType::F32, 300, 1, ++seed)}, 300, 4, {1e-6f});
  simple("rms_norm f16 weight row 2x256", "rms_norm",
         {f32_input(Role::Scratch, 256, 2, ++seed), weight_input(DType::F16, 256, 1, ++seed)}, 256, 2, {1e-6f});
  simple("rms_norm weight in scratch 70x64", "rms_norm",
         {f32_input(Role::Scratch, 64, 70, ++seed), f32_input(Role::Scratch, 64, 1, ++seed)}, 64, 70, {1e-6f});
  simple("glu silu 7x300", "glu_silu",
         {f32_input(Role::Scratch, 300, 7, ++seed, 3.f), f32_input(Role::Scratch, 300, 7, ++seed)}, 300, 7);
  simple("glu gelu 2x1000", "glu_gelu",
         {f32_input(Role::Scratch, 1000, 2, ++seed, 5.f), f32_input(Role::Scratch, 1000, 2, ++seed)}, 1000, 2);
  simple("glu gelu 3x31", "glu_gelu",
         {f32_input(Role::Scratch, 31, 3, ++seed, 1e-3f), f32_input(Role::Scratch, 31, 3, ++seed)}, 31, 3);
  simple("softcap 30 3x300", "softcap", {f32_input(Role::Scratch, 300, 3, ++seed, 40.f)}, 300, 3, {30.f});
  simple("softcap 0.5 2x77", "softcap", {f32_input(Role::Scratch, 77, 2, ++seed)}, 77, 2, {0.5f});
  // select_rows: rows chosen by the batch
  for (const auto& [rows, cols, chosen] : std::vector<std::tuple<int, int64_t, std::vector<int32_t>>>{
           {9, 300, {0, 4, 8}}, {5, 17, {2}}, {70, 64, {3, 64, 69}}}) {
    OpCase c;
    c.name = str_cat("select_rows ", rows, "x", cols, " -> ", chosen.size());
    c.op = "select_rows";
    c.batch = make_batch(rows);
    c.batch.output_rows = chosen;
    c.inputs = {f32_input(Role::Scratch, cols, rows, ++seed)};
    c.out_cols = cols;
    c.out_rows = static_cast<int64_t>(chosen.size());
    cases.push_back(std::move(c));
  }
  for (const auto& [src, dst, count] : std::vector<std::tuple<int, int, int>>{{8, 20, 4}, {40, 0, 8}}) {
    OpCase c;
    c.name = str_cat("copy_rows ", count, " rows ", src, " -> ", dst);
    c.op = "copy_rows";
    c.ints = {src, dst, count};
    c.batch = make_batch(1);
    c.inputs = {f32_input(Role::Persistent, 24, 64, ++seed)};
    c.out_cols = 24;
    c.out_rows = 64;
    cases.push_back(std::move(c));
  }
}

void add_rope_cases(std::vector<OpCase>& cases) {
  uint32_t seed = 700;
  struct Shape {
    int tokens, start, heads, head_dim, n_rot;
    bool adjacent, factors;
    float base, scale;
  };
  for (const Shape& s : std::vector<Shape>{{2, 5, 2, 8, 8, true, false, 10000.f, 0.5f},
                                           {2, 5, 2, 8, 8, false, false, 10000.f, 0.5f},
                                           {3, 0, 3, 10, 6, false, false, 1000000.f, 1.f},
                                           {5, 5000, 4, 64, 64, true, true, 500000.f, 1.f},
                                           {37, 90, 8, 128, 128, false, false, 10000.f, 1.f}}) {
    OpCase c;
    c.name = str_cat("rope ", s.adjacent ? "adjacent" : "halves", " tokens=", s.tokens, "@", s.start, " heads=",
                     s.heads, "x", s.head_dim, " rot=", s.n_rot, s.factors ? " freq_factors" : "");
    c.op = "rope";
    c.ints = {s.heads, s.head_dim, s.n_rot, s.adjacent ? 1 : 0};
    c.floats = {s.base, s.scale};
    c.batch = make_batch(s.tokens, s.start, 256);  // pages that reach position 5000
    c.inputs = {f32_input(Role::Scratch, static_cast<int64_t>(s.heads) * s.head_dim, s.tokens, ++seed)};
    if (s.factors) {
      std::vector<float> f(static_cast<size_t>(s.n_rot / 2));
      for (size_t i = 0; i < f.size(); ++i) f[i] = 1.f + static_cast<float>(i % 5);
      c.inputs.push_back(Input{Role::Weight, DType::F32, static_cast<int64_t>(f.size()), 1, bytes_of(f)});
    }
    c.out_cols = static_cast<int64_t>(s.heads) * s.head_dim;
    c.out_rows = s.tokens;
    cases.push_back(std::move(c));
  }
}

void add_kv_cases(std::vector<OpCase>& cases) {
  uint32_t seed = 900;
  const int cache_rows = 2 * 48 * 4;  // make_batch's page tables with pages of 4
  for (int which : {0, 1}) {
    OpCase c;
    c.name = str_cat("store_kv ", which ? "values" : "keys", " tokens=11+3 width 12/20");
    c.op = "store_kv";
    c.ints = {which};
    c.batch = make_batch(11, 2, 4, 3);
    c.inputs = {f32_input(Role::Persistent, 12, cache_rows, ++seed), f32_input(Role::Persistent, 20, cache_rows, ++seed),
                f32_input(Role::Scratch, 12, 14, ++seed), f32_input(Role::Scratch, 20, 14, ++seed)};
    c.out_cols = which ? 20 : 12;
    c.out_rows = cache_rows;
    cases.push_back(std::move(c));
  }
  struct Shape {
    const char* what;
    int tokens, start, second, page_size, heads, kv_heads, head_dim, window;
    float softcap;
  };
  for (const Shape& s : std::vector<Shape>{{"prompt", 11, 0, 0, 4, 4, 2, 6, 0, 0.f},
                                           {"prompt window", 11, 0, 0, 4, 4, 2, 6, 5, 0.f},
                                           {"prompt softcap", 11, 0, 0, 4, 4, 2, 6, 0, 1.5f},
                                           {"decode past 2 chunks", 1, 150, 0, 16, 8, 2, 64, 0, 0.f},
                                           {"decode window", 1, 150, 0, 16, 8, 8, 64, 48, 50.f},
                                           {"head 256", 2, 40, 0, 4, 2, 1, 256, 0, 0.f},
                                           {"two sequences", 5, 4, 3, 4, 6, 3, 32, 0, 0.f}}) {
    OpCase c;
    c.name = str_cat("attention ", s.what, " tokens=", s.tokens, "@", s.start, s.second ? str_cat("+", s.second) : "",
                     " heads=", s.heads, "/", s.kv_heads, "x", s.head_dim, " window=", s.window, " cap=", s.softcap);
    c.op = "attention";
    c.ints = {s.heads, s.kv_heads, s.head_dim, s.window};
    c.floats = {1.f / std::sqrt(static_cast<float>(s.head_dim)), s.softcap};
    c.batch = make_batch(s.tokens, s.start, s.page_size, s.second);
    const int rows = 2 * 48 * s.page_size;
    const int64_t kv_width = static_cast<int64_t>(s.kv_heads) * s.head_dim;
    const int64_t n = s.tokens + s.second;
    c.inputs = {f32_input(Role::Scratch, static_cast<int64_t>(s.heads) * s.head_dim, n, ++seed, 2.f),
                f32_input(Role::Persistent, kv_width, rows, ++seed), f32_input(Role::Persistent, kv_width, rows, ++seed)};
    c.out_cols = static_cast<int64_t>(s.heads) * s.head_dim;
    c.out_rows = n;
    cases.push_back(std::move(c));
  }
}

// The exact product of the dequantized weights and the activations, and sum |w x| per output.
void add_matmul_references(OpCase& c) {
  const Input& w = c.inputs[0];
  const Input& x = c.inputs[1];
  const size_t stride = row_bytes(w.type, w.cols);
  std::vector<float> wd(static_cast<size_t>(w.cols * w.rows));
  for (int64_t r = 0; r < w.rows; ++r) dequantize_row(w.type, w.bytes.data() + r * stride, wd.data() + r * w.cols, w.cols);
  const auto* xf = reinterpret_cast<const float*>(x.bytes.data());
  for (int64_t r = 0; r < x.rows; ++r) {
    for (int64_t i = 0; i < w.rows; ++i) {
      double sum = 0, mag = 0;
      for (int64_t k = 0; k < w.cols; ++k) {
        const double p = static_cast<double>(wd[i * w.cols + k]) * xf[r * w.cols + k];
        sum += p;
        mag += std::abs(p);
      }
      c.exact.push_back(static_cast<float>(sum));
      c.magnitude.push_back(static_cast<float>(mag));
    }
  }
}

int run(int argc, char** argv) {
  if (argc != 2) fail("usage: webgpu_op_reference OUT_FILE");
  std::vector<OpCase> cases;
  add_matmul_cases(cases);
  add_embed_cases(cases);
  add_elementwise_cases(cases);
  add_rope_cases(cases);
  add_kv_cases(cases);
  CpuBackend cpu(2);
  const TensorWriter write = cpu_writer(cpu);
  for (OpCase& c : cases) {
    run_case(cpu, write, c, c.expected);
    if (c.op == "matmul") add_matmul_references(c);
  }
  const std::vector<uint8_t> bytes = serialize(cases);
  std::ofstream f(argv[1], std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) fail("cannot write ", argv[1]);
  std::fprintf(stderr, "wrote %zu op cases (%zu bytes) to %s\n", cases.size(), bytes.size(), argv[1]);
  return 0;
}

}  // namespace
}  // namespace weblm::optest

int main(int argc, char** argv) {
  try {
    return weblm::optest::run(argc, argv);
  } catch (const weblm::Error& e) {
    std::fprintf(stderr, "webgpu_op_reference: %s\n", e.what());
    return 1;
  }
}
