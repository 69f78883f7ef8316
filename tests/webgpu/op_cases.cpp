#include "op_cases.h"

#include <array>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "format/dtype.h"
#include "util/error.h"

namespace weblm::optest {

namespace {

constexpr char kMagic[4] = {'W', 'G', 'O', 'P'};

class Writer {
 public:
  template <class T>
  void pod(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof v);
  }
  template <class T>
  void vec(const std::vector<T>& v) {
    pod(static_cast<uint64_t>(v.size()));
    const auto* p = reinterpret_cast<const uint8_t*>(v.data());
    out.insert(out.end(), p, p + v.size() * sizeof(T));
  }
  void str(const std::string& s) { vec(std::vector<char>(s.begin(), s.end())); }
  std::vector<uint8_t> out;
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : bytes(b) {}
  template <class T>
  T pod() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, bytes.data() + at, sizeof v);
    at += sizeof v;
    return v;
  }
  template <class T>
  std::vector<T> vec() {
    const auto n = pod<uint64_t>();
    if (n > bytes.size() / sizeof(T)) fail("op case file: a list of ", n, " items at byte ", at, " is too long");
    need(n * sizeof(T));
    std::vector<T> v(n);
    std::memcpy(v.data(), bytes.data() + at, n * sizeof(T));
    at += n * sizeof(T);
    return v;
  }
  std::string str() {
    const std::vector<char> c = vec<char>();
    return {c.begin(), c.end()};
  }
  std::span<const uint8_t> bytes;
  size_t at = 0;

 private:
  void need(size_t n) const {
    if (bytes.size() - at < n) fail("op case file: ", n, " bytes wanted at byte ", at, " of ", bytes.size());
  }
};

// tolerance of output i = abs + rel * |reference_i| + mag * magnitude_i
struct Tolerance {
  double abs = 0, rel = 0, mag = 0;
  std::string text() const { return str_cat(abs, " + ", rel, "|ref| + ", mag, " sum|w x|"); }
};

Tolerance matmul_vs_native(DType type, Checked who) {
  // The WASM CPU backend converts activations exactly as the native one (f16/bf16 rounding,
  // 8-bit blocks for quantized weights); only the summation order differs.
  if (who == Checked::WasmCpu || type == DType::F32) return {1e-6, 0, 3e-5};
  // WebGPU keeps activations in f32: the native side's rounding of them is the difference.
  if (type == DType::F16) return {1e-6, 0, 1e-3};   // f16: 2^-11 relative per activation
  if (type == DType::BF16) return {1e-6, 0, 8e-3};  // bf16: 2^-8
  return {1e-5, 0, 2e-2};                           // 8-bit blocks: up to amax/254 per activation
}

Tolerance elementwise_tolerance(const OpCase& c) {
  if (c.op == "matmul") return {};  // handled above
  if (c.op == "embed" || c.op == "add" || c.op == "select_rows" || c.op == "copy_rows" || c.op == "store_kv")
    return {1e-7, 1e-6, 0};  // the same f32 arithmetic (dequantized blocks may differ by an ulp)
  if (c.op == "rms_norm") return {1e-6, 1e-5, 0};
  if (c.op == "rope") return {1e-5, 1e-5, 0};        // cos/sin of a libm or another: an ulp
  if (c.op == "attention") return {1e-5, 1e-5, 0};   // other summation order, online softmax
  if (c.op == "glu_silu") return {1e-6, 1e-5, 0};
  if (c.op == "glu_gelu") return {1e-5, 1e-3, 0};    // ggml's f16 table: one f16 ulp apart at most
  if (c.op == "softcap") return {2e-6 * c.floats.at(0), 1e-6, 0};
  fail("no tolerance for op ", c.op);
}

DType matmul_weight_type(const OpCase& c) { return c.inputs.at(0).type; }

void compare(const std::vector<float>& reference, std::span<const float> got, const std::vector<float>& magnitude,
             const Tolerance& tol, const char* against, Verdict& v) {
  if (reference.size() != got.size())
    fail("op test: ", got.size(), " outputs, ", reference.size(), " expected");
  for (size_t i = 0; i < got.size(); ++i) {
    const double allowed = tol.abs + tol.rel * std::abs(reference[i]) + (magnitude.empty() ? 0 : tol.mag * magnitude[i]);
    const double diff = std::abs(static_cast<double>(got[i]) - reference[i]);
    const double ratio = std::isfinite(diff) ? diff / allowed : INFINITY;
    if (ratio > v.worst || v.against.empty()) {
      v.worst = ratio;
      v.worst_index = i;
      v.got = got[i];
      v.want = reference[i];
      v.against = against;
      v.tolerance = tol.text();
    }
  }
}

}  // namespace

std::vector<uint8_t> serialize(const std::vector<OpCase>& cases) {
  Writer w;
  w.pod(kMagic);
  w.pod(static_cast<uint64_t>(cases.size()));
  for (const OpCase& c : cases) {
    w.str(c.name);
    w.str(c.op);
    w.vec(c.ints);
    w.vec(c.floats);
    const ForwardBatch& b = c.batch;
    w.vec(b.tokens);
    w.vec(b.positions);
    w.vec(b.seq_index);
    w.vec(b.kv_rows);
    w.vec(b.output_rows);
    w.pod(b.page_size);
    w.pod(static_cast<uint64_t>(b.page_tables.size()));
    for (const auto& t : b.page_tables) w.vec(t);
    w.pod(static_cast<uint64_t>(c.inputs.size()));
    for (const Input& in : c.inputs) {
      w.pod(in.role);
      w.pod(in.type);
      w.pod(in.cols);
      w.pod(in.rows);
      w.vec(in.bytes);
    }
    w.pod(c.out_cols);
    w.pod(c.out_rows);
    w.vec(c.expected);
    w.vec(c.exact);
    w.vec(c.magnitude);
  }
  return std::move(w.out);
}

std::vector<OpCase> deserialize(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  const auto magic = r.pod<std::array<char, 4>>();
  if (std::memcmp(magic.data(), kMagic, 4) != 0) fail("op case file: bad magic");
  const auto n = r.pod<uint64_t>();
  std::vector<OpCase> cases;
  for (uint64_t i = 0; i < n; ++i) {
    OpCase c;
    c.name = r.str();
    c.op = r.str();
    c.ints = r.vec<int64_t>();
    c.floats = r.vec<float>();
    ForwardBatch& b = c.batch;
    b.tokens = r.vec<int32_t>();
    b.positions = r.vec<int32_t>();
    b.seq_index = r.vec<int32_t>();
    b.kv_rows = r.vec<int32_t>();
    b.output_rows = r.vec<int32_t>();
    b.page_size = r.pod<int32_t>();
    const auto tables = r.pod<uint64_t>();
    if (tables > b.tokens.size() + 1) fail("op case file: ", tables, " page tables for case ", c.name);
    b.page_tables.resize(tables);
    for (auto& t : b.page_tables) t = r.vec<int32_t>();
    const auto inputs = r.pod<uint64_t>();
    if (inputs > 16) fail("op case file: ", inputs, " inputs for case ", c.name);
    c.inputs.resize(inputs);
    for (Input& in : c.inputs) {
      in.role = r.pod<Role>();
      in.type = r.pod<DType>();
      in.cols = r.pod<int64_t>();
      in.rows = r.pod<int64_t>();
      in.bytes = r.vec<uint8_t>();
    }
    c.out_cols = r.pod<int64_t>();
    c.out_rows = r.pod<int64_t>();
    c.expected = r.vec<float>();
    c.exact = r.vec<float>();
    c.magnitude = r.vec<float>();
    cases.push_back(std::move(c));
  }
  return cases;
}

TensorWriter cpu_writer(CpuBackend& cpu) {
  return [&cpu](const Tensor& t, std::span<const uint8_t> bytes) {
    const size_t row = row_bytes(t.type, t.cols);
    for (int64_t r = 0; r < t.rows; ++r) std::memcpy(cpu.mutable_data(t) + r * t.row_stride, bytes.data() + r * row, row);
  };
}

void run_case(Backend& backend, const TensorWriter& write, const OpCase& c, std::vector<float>& out) {
  backend.begin_forward(c.batch);
  std::vector<Tensor> in;
  for (const Input& i : c.inputs) {
    if (i.role == Role::Weight) {
      in.push_back(backend.load_weight(i.type, i.cols, i.rows, i.bytes));
    } else {
      in.push_back(backend.alloc(i.type, i.cols, i.rows,
                                 i.role == Role::Persistent ? Lifetime::Persistent : Lifetime::Forward));
      write(in.back(), i.bytes);
    }
  }
  const std::vector<int64_t>& n = c.ints;
  const std::vector<float>& f = c.floats;
  auto fresh = [&] { return backend.alloc(DType::F32, c.out_cols, c.out_rows, Lifetime::Forward); };
  Tensor result;
  if (c.op == "embed") {
    backend.embed(result = fresh(), in.at(0), f.at(0));
  } else if (c.op == "matmul") {
    backend.matmul(result = fresh(), in.at(0), in.at(1));
  } else if (c.op == "add") {
    backend.add(result = fresh(), in.at(0), in.at(1));
  } else if (c.op == "rms_norm") {
    backend.rms_norm(result = fresh(), in.at(0), in.at(1), f.at(0));
  } else if (c.op == "rope") {
    const RopeSpec spec{static_cast<int>(n.at(0)), static_cast<int>(n.at(1)), static_cast<int>(n.at(2)), f.at(0),
                        f.at(1), n.at(3) ? RopeLayout::Adjacent : RopeLayout::Halves,
                        in.size() > 1 ? &in[1] : nullptr};
    backend.rope(result = in.at(0), spec);
  } else if (c.op == "store_kv") {  // ints[0]: which cache to read back (0 keys, 1 values)
    backend.store_kv(in.at(0), in.at(1), in.at(2), in.at(3));
    result = in.at(n.at(0));
  } else if (c.op == "attention") {
    const AttentionSpec spec{static_cast<int>(n.at(0)), static_cast<int>(n.at(1)), static_cast<int>(n.at(2)),
                             f.at(0), f.at(1), static_cast<int>(n.at(3))};
    backend.attention(result = fresh(), in.at(0), in.at(1), in.at(2), spec);
  } else if (c.op == "glu_silu" || c.op == "glu_gelu") {
    backend.glu(result = fresh(), in.at(0), in.at(1), c.op == "glu_silu" ? Activation::Silu : Activation::GeluTanh);
  } else if (c.op == "softcap") {
    backend.softcap(result = in.at(0), f.at(0));
  } else if (c.op == "select_rows") {
    backend.select_rows(result = fresh(), in.at(0));
  } else if (c.op == "copy_rows") {
    backend.copy_rows(result = in.at(0), n.at(0), n.at(1), n.at(2));
  } else {
    fail("op test: unknown op '", c.op, "'");
  }
  out.assign(static_cast<size_t>(c.out_rows * c.out_cols), 0.f);
  backend.end_forward(result, out.data());
}

Verdict check(const OpCase& c, Checked backend, std::span<const float> got) {
  Verdict v;
  if (c.op == "matmul") {
    compare(c.expected, got, c.magnitude, matmul_vs_native(matmul_weight_type(c), backend), "native CPU", v);
    if (backend == Checked::WebGpu) compare(c.exact, got, c.magnitude, {1e-6, 0, 3e-5}, "exact", v);
  } else {
    compare(c.expected, got, {}, elementwise_tolerance(c), "native CPU", v);
  }
  return v;
}

}  // namespace weblm::optest
