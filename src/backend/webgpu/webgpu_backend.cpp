#include "backend/webgpu/webgpu_backend.h"

#include <algorithm>
#include <cmath>

#include "format/quants.h"
#include "util/error.h"

namespace weblm {

using webgpu::BufferUsage;
using webgpu::Deferred;
using webgpu::deferred;
using webgpu::Grid;
using webgpu::Params;
using webgpu::PipelineSpec;

namespace {

constexpr uint32_t kArena = 1;          // storage id of the scratch arena (0 is "no tensor")
constexpr size_t kScratchAlignment = 256;
constexpr size_t kWeightSlack = 16;     // kernels read the word after a row's last unaligned bytes

// Each kernel's bindings after its parameters (see the .wgsl): 1 scratch arena, 2 batch words,
// 3 weights or a read-only input, 4 and 5 the KV cache.
constexpr PipelineSpec kEmbed{"embed", "main", "1w2r3r"};
constexpr PipelineSpec kMatVec{"matmul", "matvec", "1w3r"};
constexpr PipelineSpec kMatVecSubgroups{"matvec_subgroups", "main", "1w3r"};
constexpr PipelineSpec kMatMulTiled{"matmul", "tiled", "1w3r"};
constexpr PipelineSpec kElementwise{"elementwise", "main", "1w3r"};
constexpr PipelineSpec kRmsNorm{"rms_norm", "main", "1w3r"};
constexpr PipelineSpec kRope{"rope", "main", "1w2r"};
constexpr PipelineSpec kStoreKv{"store_kv", "main", "1r2r4w5w"};
constexpr PipelineSpec kAttention{"attention", "main", "1w2r4r5r"};
constexpr PipelineSpec kSelectRows{"select_rows", "main", "1w2r"};
constexpr PipelineSpec kCopyRows{"copy_rows", "main", "1w"};

// elementwise.wgsl's OP values.
enum ElementwiseOp : int { kAdd = 0, kGluSilu = 1, kGluGelu = 2, kSoftcap = 3 };

constexpr int64_t kMatVecMaxRows = 4;   // matmul.wgsl: MATVEC_MAX_ROWS
constexpr int64_t kSubgroupRows = 16;   // matvec_subgroups.wgsl: ROWS
constexpr int64_t kTile = 64;           // matmul.wgsl: TILE
constexpr int kMaxHeadDim = 256;        // attention.wgsl: 4 dimensions per thread, 64 threads
constexpr uint64_t kThreads = 256;      // grid.wgsl: ELEMENT_THREADS
constexpr uint64_t kEmbedThreads = 64;  // embed.wgsl: 4 elements per thread

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

void require_f32(const Tensor& t, const char* op, const char* what) {
  if (t.type != DType::F32) fail(op, ": ", what, " must be f32, is ", dtype_name(t.type));
}

void require_shape(const Tensor& t, int64_t cols, int64_t rows, const char* op, const char* what) {
  if (t.cols != cols || t.rows != rows)
    fail(op, ": ", what, " is ", t.rows, "x", t.cols, ", expected ", rows, "x", cols);
}

webgpu::Constant weight_type_constant(DType type) { return {"WEIGHT_TYPE", static_cast<uint32_t>(type)}; }

// ggml's GELU table: the f16 result for every f16 input (the CPU backend looks results up the same way).
std::vector<uint16_t> gelu_f16_values() {
  std::vector<uint16_t> t(1 << 16);
  constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
  constexpr float kCoefA = 0.044715f;
  for (uint32_t i = 0; i < t.size(); ++i) {
    const float x = f16_to_f32(static_cast<uint16_t>(i));
    t[i] = f32_to_f16(0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kCoefA * x * x))));
  }
  return t;
}

std::span<const uint8_t> as_bytes(const void* data, size_t size) { return {static_cast<const uint8_t*>(data), size}; }

}  // namespace

std::unique_ptr<Backend> create_webgpu_backend(const GgufFile& file) {
  auto backend = std::make_unique<WebGpuBackend>();
  const size_t limit = backend->limits().max_storage_buffer();
  for (const GgufTensorInfo& t : file.tensors()) {
    const size_t row = row_bytes(t.type, t.cols());
    if (row + kWeightSlack > limit)
      fail(file.name(), ": a row of tensor '", t.name, "' takes ", row, " bytes, more than one buffer of this "
           "WebGPU device may hold (", limit, ")");
  }
  return backend;
}

WebGpuBackend::WebGpuBackend(const WebGpuOptions& options)
    : stream_(device_.limits().params_alignment),
      weight_buffer_limit_(options.weight_buffer_limit > 0
                               ? std::min(options.weight_buffer_limit, device_.limits().max_storage_buffer())
                               : device_.limits().max_storage_buffer()),
      subgroups_(options.subgroups && device_.limits().subgroups) {
  storage_.resize(2);  // 0: no tensor, kArena: the scratch arena
}

WebGpuBackend::~WebGpuBackend() = default;

std::string WebGpuBackend::name() const { return str_cat("webgpu (", device_.adapter(), ")"); }

bool WebGpuBackend::supports(Op op, DType weight_type) const {
  return is_weight_type(weight_type);
}

size_t WebGpuBackend::memory_used() const { return device_.bytes_allocated(); }

// One-row weights (norms, biases, rope factors) become f32 here, so kernels read them as plain
// floats; matrices keep their GGUF layout, split by rows where one buffer cannot hold them.
Tensor WebGpuBackend::load_weight(DType type, int64_t cols, int64_t rows, std::span<const uint8_t> bytes) {
  const size_t stride = row_bytes(type, cols);
  if (bytes.size() != stride * static_cast<size_t>(rows))
    fail("weight of ", rows, "x", cols, " ", dtype_name(type), " needs ", stride * rows, " bytes, got ",
         bytes.size());
  Storage s;
  if (rows == 1) {
    s.host_row.resize(static_cast<size_t>(cols));
    dequantize_row(type, bytes.data(), s.host_row.data(), cols);
    s.row_stride = static_cast<size_t>(cols) * sizeof(float);
    s.chunks.push_back({device_.create_buffer(s.row_stride, BufferUsage::Storage,
                                              as_bytes(s.host_row.data(), s.row_stride), "a one-row weight"),
                        0, 1});
    storage_.push_back(std::move(s));
    return Tensor{DType::F32, cols, 1, row_bytes(DType::F32, cols), static_cast<uint32_t>(storage_.size() - 1), 0};
  }
  s.row_stride = stride;
  const int64_t rows_per_buffer = static_cast<int64_t>((weight_buffer_limit_ - kWeightSlack) / stride);
  if (rows_per_buffer == 0) fail("WebGPU: a weight row of ", stride, " bytes does not fit one buffer");
  for (int64_t first = 0; first < rows; first += rows_per_buffer) {
    const int64_t n = std::min(rows_per_buffer, rows - first);
    const size_t size = static_cast<size_t>(n) * stride;
    s.chunks.push_back({device_.create_buffer(size + kWeightSlack, BufferUsage::Storage,
                                              bytes.subspan(static_cast<size_t>(first) * stride, size),
                                              str_cat("rows ", first, "..", first + n, " of a ", rows, "x", cols, " ",
                                                      dtype_name(type), " weight")),
                        first, n});
  }
  storage_.push_back(std::move(s));
  return Tensor{type, cols, rows, stride, static_cast<uint32_t>(storage_.size() - 1), 0};
}

Tensor WebGpuBackend::alloc(DType type, int64_t cols, int64_t rows, Lifetime lifetime) {
  const size_t stride = row_bytes(type, cols);
  const size_t size = stride * static_cast<size_t>(rows);
  if (lifetime == Lifetime::Forward) {
    const size_t at = (scratch_top_ + kScratchAlignment - 1) / kScratchAlignment * kScratchAlignment;
    scratch_top_ = at + size;
    if (scratch_top_ > device_.limits().max_storage_buffer())
      fail("WebGPU: this pass needs ", scratch_top_, " bytes of scratch, more than one buffer of this device may "
           "hold (", device_.limits().max_storage_buffer(), "); use smaller batches");
    return Tensor{type, cols, rows, stride, kArena, at};
  }
  Storage s;
  s.row_stride = stride;
  s.chunks.push_back({device_.create_buffer(size, BufferUsage::Storage, {},
                                            str_cat("a ", rows, "x", cols, " ", dtype_name(type), " tensor")),
                      0, rows});
  storage_.push_back(std::move(s));
  return Tensor{type, cols, rows, stride, static_cast<uint32_t>(storage_.size() - 1), 0};
}

bool WebGpuBackend::in_arena(const Tensor& t) const { return t.buffer == kArena; }

WebGpuBackend::Bound WebGpuBackend::scratch(const Tensor& t, const char* op, const char* what) const {
  require_f32(t, op, what);
  if (!in_arena(t)) fail(op, ": ", what, " must be a scratch tensor (Lifetime::Forward) on WebGPU");
  return Bound{deferred(Deferred::Arena), static_cast<uint32_t>(t.offset / sizeof(float)),
               static_cast<uint32_t>(t.row_stride / sizeof(float))};
}

WebGpuBackend::Bound WebGpuBackend::resident(const Tensor& t, const char* op, const char* what) const {
  if (t.buffer == 0 || t.buffer >= storage_.size() || in_arena(t)) fail(op, ": ", what, " has no storage");
  const Storage& s = storage_[t.buffer];
  if (s.chunks.size() != 1) fail(op, ": ", what, " is split across buffers; it must fit one on WebGPU");
  if (t.offset % sizeof(float) != 0 || t.row_stride % sizeof(float) != 0)
    fail(op, ": ", what, " is not aligned to 4 bytes");
  return Bound{s.chunks[0].buffer, static_cast<uint32_t>(t.offset / sizeof(float)),
               static_cast<uint32_t>(t.row_stride / sizeof(float))};
}

std::vector<WebGpuBackend::WeightPiece> WebGpuBackend::weight_pieces(const Tensor& w, const char* op) const {
  if (w.buffer == 0 || w.buffer >= storage_.size() || in_arena(w))
    fail(op, ": the weight must be a loaded weight or a persistent tensor");
  const Storage& s = storage_[w.buffer];
  if (w.row_stride != s.row_stride || w.offset % s.row_stride != 0)
    fail(op, ": a view of a weight must be a range of whole rows");
  const int64_t first = static_cast<int64_t>(w.offset / s.row_stride);
  std::vector<WeightPiece> pieces;
  for (const Chunk& c : s.chunks) {
    const int64_t begin = std::max(first, c.first_row), end = std::min(first + w.rows, c.first_row + c.rows);
    if (begin < end)
      pieces.push_back({c.buffer, static_cast<uint32_t>((begin - c.first_row) * s.row_stride), begin - first,
                        end - begin});
  }
  return pieces;
}

uint32_t WebGpuBackend::gelu_table() {
  if (gelu_ == 0) {
    const std::vector<uint16_t> table = gelu_f16_values();
    gelu_ = device_.create_buffer(table.size() * sizeof(uint16_t), BufferUsage::Storage,
                                  as_bytes(table.data(), table.size() * sizeof(uint16_t)), "the GELU table");
  }
  return gelu_;
}

// Bound where a kernel's read-only input is unused (the input is in the arena instead).
uint32_t WebGpuBackend::dummy() {
  if (dummy_ == 0) dummy_ = device_.create_buffer(16, BufferUsage::Storage, {}, "a placeholder binding");
  return dummy_;
}

const ForwardBatch& WebGpuBackend::batch(const char* op) const {
  if (!batch_) fail(op, " outside a forward pass (begin_forward ... end_forward)");
  return *batch_;
}

void WebGpuBackend::copy_rows(const Tensor& t, int64_t src_row, int64_t dst_row, int64_t count) {
  if (src_row < 0 || dst_row < 0 || count < 0 || src_row + count > t.rows || dst_row + count > t.rows)
    fail("copy_rows outside a tensor of ", t.rows, " rows");
  if (count == 0 || src_row == dst_row) return;
  if (src_row < dst_row + count && dst_row < src_row + count) fail("copy_rows: overlapping row ranges");
  const size_t row = row_bytes(t.type, t.cols);
  if (row % sizeof(uint32_t) != 0) fail("copy_rows: rows of ", row, " bytes are not whole 4-byte words");
  const Bound b = resident(t, "copy_rows", "the tensor");
  const uint64_t words = row / sizeof(uint32_t);
  Params p;
  p.u(words).u(count).u(b.at + src_row * b.stride).u(b.at + dst_row * b.stride).u(b.stride);
  stream_.dispatch(device_.pipeline(kCopyRows), p, grid(ceil_div(words * count, kThreads)), {b.buffer});
}

void WebGpuBackend::begin_forward(const ForwardBatch& batch) {
  device_.check();
  if (device_.busy()) fail("begin_forward: the previous WebGPU pass has not been collected");
  batch.validate();
  batch_ = &batch;
  scratch_top_ = 0;
  batch_words_.reset(batch);
}

void WebGpuBackend::ensure_buffer(uint32_t& buffer, size_t& capacity, size_t needed, BufferUsage usage,
                                  const char* what) {
  if (buffer != 0 && capacity >= needed) return;
  // Growing by half again keeps the number of re-creations small as passes get longer.
  size_t size = std::max(needed, capacity + capacity / 2);
  if (usage == BufferUsage::Storage) size = std::min(size, std::max(needed, device_.limits().max_storage_buffer()));
  if (buffer != 0) device_.destroy_buffer(buffer);  // the GPU frees it after submitted work that uses it
  buffer = 0;  // (so that a failure below leaves no handle to a destroyed buffer)
  capacity = 0;
  buffer = device_.create_buffer(size, usage, {}, what);
  capacity = size;
}

void WebGpuBackend::submit(uint32_t readback, void* dst, size_t bytes) {
  ensure_buffer(arena_, arena_bytes_, std::max<size_t>(scratch_top_, 16), BufferUsage::Storage, "the scratch arena");
  const std::span<const uint8_t> batch = batch_words_.bytes();
  ensure_buffer(batch_buffer_, batch_bytes_, batch.size(), BufferUsage::Storage, "the batch");
  const std::span<const uint8_t> params = stream_.params();
  ensure_buffer(params_, params_bytes_, std::max<size_t>(params.size(), webgpu::CommandStream::kParamsBytes),
                BufferUsage::Params, "kernel parameters");
  device_.write_buffer(batch_buffer_, 0, batch);
  if (!params.empty()) device_.write_buffer(params_, 0, params);
  device_.submit(stream_.resolve(arena_, batch_buffer_, params_), readback, dst, bytes);
  last_pass_dispatches_ = stream_.dispatches();
  stream_.clear();
}

void WebGpuBackend::end_forward(const Tensor& logits, float* dst) {
  batch("end_forward");
  require_f32(logits, "end_forward", "logits");
  const size_t row = static_cast<size_t>(logits.cols) * sizeof(float);
  const size_t bytes = row * static_cast<size_t>(logits.rows);
  if (bytes > 0) {
    ensure_buffer(readback_, readback_bytes_, bytes, BufferUsage::Readback, "the logits readback");
    const Bound src = in_arena(logits) ? scratch(logits, "end_forward", "logits")
                                       : resident(logits, "end_forward", "logits");
    if (logits.contiguous()) {
      stream_.copy(src.buffer, src.at * sizeof(float), readback_, 0, static_cast<uint32_t>(bytes));
    } else {
      for (int64_t r = 0; r < logits.rows; ++r)
        stream_.copy(src.buffer, (src.at + r * src.stride) * sizeof(float), readback_,
                     static_cast<uint32_t>(r * row), static_cast<uint32_t>(row));
    }
  }
  submit(readback_, dst, bytes);
  batch_ = nullptr;
}

void WebGpuBackend::wait() {
  device_.check();
  if (device_.busy())
    fail("the WebGPU pass is still running, and a GPU read cannot block in wasm: await "
         "Module.weblmBackendIdle() until the backend is ready, then collect");
}

bool WebGpuBackend::ready() const { return !device_.busy(); }

void WebGpuBackend::write(const Tensor& t, std::span<const uint8_t> bytes) {
  const size_t row = row_bytes(t.type, t.cols);
  if (bytes.size() != row * static_cast<size_t>(t.rows))
    fail("write: ", bytes.size(), " bytes for a ", t.rows, "x", t.cols, " ", dtype_name(t.type), " tensor");
  // t.offset is the byte in its buffer either way: the arena's, or a resident tensor's own.
  const uint32_t buffer = in_arena(t) ? deferred(Deferred::Arena) : resident(t, "write", "the tensor").buffer;
  if (t.contiguous()) {
    stream_.write(buffer, static_cast<uint32_t>(t.offset), bytes);
  } else {
    for (int64_t r = 0; r < t.rows; ++r)
      stream_.write(buffer, static_cast<uint32_t>(t.offset + r * t.row_stride), bytes.subspan(r * row, row));
  }
}

void WebGpuBackend::embed(const Tensor& out, const Tensor& table, float scale) {
  const ForwardBatch& b = batch("embed");
  const Bound o = scratch(out, "embed", "out");
  require_shape(out, table.cols, b.size(), "embed", "out");
  for (int32_t token : b.tokens)
    if (token < 0 || token >= table.rows) fail("token id ", token, " outside the vocabulary of ", table.rows);
  const uint32_t p = device_.pipeline(kEmbed, {weight_type_constant(table.type)});
  for (const WeightPiece& piece : weight_pieces(table, "embed")) {
    Params params;
    params.u(table.cols).u(b.size()).u(table.row_stride).u(piece.first_row).u(piece.rows).u(piece.at).u(o.at)
        .u(o.stride).f(scale);
    const Grid g{static_cast<uint32_t>(ceil_div(ceil_div(table.cols, 4), kEmbedThreads)),
                 static_cast<uint32_t>(b.size()), 1};
    stream_.dispatch(p, params, g, {deferred(Deferred::Arena), deferred(Deferred::Batch), piece.buffer});
  }
}

// Decode (a few activation rows) streams each weight row once (a subgroup or a workgroup per
// row); prompts use 64 x 64 output tiles that reuse each dequantized weight for 64 rows.
void WebGpuBackend::matmul(const Tensor& out, const Tensor& w, const Tensor& x) {
  const Bound xb = scratch(x, "matmul", "x");
  const Bound ob = scratch(out, "matmul", "out");
  if (x.cols != w.cols) fail("matmul: x has ", x.cols, " columns, weight rows have ", w.cols);
  require_shape(out, w.rows, x.rows, "matmul", "out");
  if (x.rows == 0) return;
  const bool few_rows = x.rows <= kMatVecMaxRows;
  const uint32_t p =
      !few_rows   ? device_.pipeline(kMatMulTiled, {weight_type_constant(w.type)})
      : subgroups_ ? device_.pipeline(kMatVecSubgroups, {weight_type_constant(w.type), {"X_ROWS", static_cast<uint32_t>(x.rows)}})
                   : device_.pipeline(kMatVec, {weight_type_constant(w.type)});
  for (const WeightPiece& piece : weight_pieces(w, "matmul")) {
    Params params;
    params.u(w.cols).u(w.row_stride).u(piece.rows).u(piece.at).u(xb.at).u(xb.stride).u(x.rows)
        .u(ob.at + piece.first_row).u(ob.stride);
    const Grid g = few_rows ? grid(subgroups_ ? ceil_div(piece.rows, kSubgroupRows) : piece.rows)
                            : Grid{static_cast<uint32_t>(ceil_div(piece.rows, kTile)),
                                   static_cast<uint32_t>(ceil_div(x.rows, kTile)), 1};
    stream_.dispatch(p, params, g, {deferred(Deferred::Arena), piece.buffer});
  }
}

void WebGpuBackend::elementwise(int op, const Tensor& out, const Bound& a, const Bound& b, uint32_t b_stride,
                                uint32_t aux, float cap) {
  const Bound o = scratch(out, "elementwise", "out");
  const bool b_in_aux = b.buffer != deferred(Deferred::Arena);
  Params p;
  p.u(out.cols).u(out.rows).u(o.at).u(o.stride).u(a.at).u(a.stride).u(b.at).u(b_stride).u(b_in_aux ? 1 : 0).f(cap);
  stream_.dispatch(device_.pipeline(kElementwise, {{"OP", static_cast<uint32_t>(op)}}), p,
                   grid(ceil_div(static_cast<uint64_t>(out.cols) * out.rows, kThreads)),
                   {deferred(Deferred::Arena), aux != 0 ? aux : b_in_aux ? b.buffer : dummy()});
}

void WebGpuBackend::add(const Tensor& out, const Tensor& a, const Tensor& b) {
  const Bound ab = scratch(a, "add", "a");
  require_f32(b, "add", "b");
  require_shape(out, a.cols, a.rows, "add", "out");
  if (b.cols != a.cols || (b.rows != a.rows && b.rows != 1))
    fail("add: b is ", b.rows, "x", b.cols, ", a is ", a.rows, "x", a.cols);
  const Bound bb = in_arena(b) ? scratch(b, "add", "b") : resident(b, "add", "b");
  elementwise(kAdd, out, ab, bb, b.rows == 1 ? 0 : bb.stride, 0, 0.f);
}

void WebGpuBackend::rms_norm(const Tensor& out, const Tensor& x, const Tensor& w, float eps) {
  const Bound xb = scratch(x, "rms_norm", "x");
  const Bound ob = scratch(out, "rms_norm", "out");
  require_shape(out, x.cols, x.rows, "rms_norm", "out");
  if (w.cols != x.cols || w.rows != 1) fail("rms_norm: weight has ", w.cols, " columns, x has ", x.cols);
  require_f32(w, "rms_norm", "weight");
  const bool w_in_aux = !in_arena(w);
  const Bound wb = w_in_aux ? resident(w, "rms_norm", "weight") : scratch(w, "rms_norm", "weight");
  Params p;
  p.u(x.cols).u(x.rows).u(xb.at).u(xb.stride).u(ob.at).u(ob.stride).u(wb.at).u(w_in_aux ? 1 : 0).f(eps);
  stream_.dispatch(device_.pipeline(kRmsNorm), p, grid(x.rows), {deferred(Deferred::Arena), w_in_aux ? wb.buffer : dummy()});
}

void WebGpuBackend::rope(const Tensor& x, const RopeSpec& spec) {
  const ForwardBatch& b = batch("rope");
  const Bound xb = scratch(x, "rope", "x");
  require_shape(x, static_cast<int64_t>(spec.n_heads) * spec.head_dim, b.size(), "rope", "x");
  if (spec.n_rot <= 0 || spec.n_rot % 2 != 0 || spec.n_rot > spec.head_dim)
    fail("rope: rotated dims ", spec.n_rot, " invalid for head size ", spec.head_dim);
  const float* factors = nullptr;
  if (spec.freq_factors) {
    const Tensor& f = *spec.freq_factors;
    if (f.cols * f.rows != spec.n_rot / 2)
      fail("rope: ", f.cols, " frequency factors for ", spec.n_rot, " rotated dims");
    if (f.buffer == 0 || f.buffer >= storage_.size() || storage_[f.buffer].host_row.empty())
      fail("rope: frequency factors must be a loaded one-row weight");
    factors = storage_[f.buffer].host_row.data() + f.offset / sizeof(float);
  }
  const uint32_t table = batch_words_.rope_table(b, spec, factors);
  const uint64_t pairs = static_cast<uint64_t>(spec.n_rot / 2);
  Params p;
  p.u(b.size()).u(spec.n_heads).u(spec.head_dim).u(pairs).u(spec.layout == RopeLayout::Adjacent ? 1 : 0)
      .u(xb.at).u(xb.stride).u(table);
  stream_.dispatch(device_.pipeline(kRope), p, grid(ceil_div(b.size() * spec.n_heads * pairs, kThreads)),
                   {deferred(Deferred::Arena), deferred(Deferred::Batch)});
}

void WebGpuBackend::store_kv(const Tensor& k_cache, const Tensor& v_cache, const Tensor& k, const Tensor& v) {
  const ForwardBatch& b = batch("store_kv");
  for (const Tensor* cache : {&k_cache, &v_cache}) require_f32(*cache, "store_kv", "cache");
  if (k.cols != k_cache.cols || v.cols != v_cache.cols) fail("store_kv: row width differs from the cache");
  if (k.rows != b.size() || v.rows != b.size()) fail("store_kv: ", k.rows, " keys for a batch of ", b.size());
  for (int64_t t = 0; t < k.rows; ++t) {
    const int64_t row = b.kv_rows[t];
    if (row < 0 || row >= k_cache.rows || row >= v_cache.rows)
      fail("store_kv: KV row ", row, " outside the cache of ", k_cache.rows);
  }
  const Bound kb = scratch(k, "store_kv", "k"), vb = scratch(v, "store_kv", "v");
  const Bound kc = resident(k_cache, "store_kv", "k_cache"), vc = resident(v_cache, "store_kv", "v_cache");
  if (kc.buffer == vc.buffer) fail("store_kv: keys and values must be separate tensors on WebGPU");
  Params p;
  p.u(k.rows).u(k.cols).u(v.cols).u(kb.at).u(kb.stride).u(vb.at).u(vb.stride).u(kc.at).u(kc.stride).u(vc.at)
      .u(vc.stride);
  stream_.dispatch(device_.pipeline(kStoreKv), p,
                   grid(ceil_div(static_cast<uint64_t>(k.rows) * std::max(k.cols, v.cols), kThreads)),
                   {deferred(Deferred::Arena), deferred(Deferred::Batch), kc.buffer, vc.buffer});
}

void WebGpuBackend::attention(const Tensor& out, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                              const AttentionSpec& spec) {
  const ForwardBatch& b = batch("attention");
  const int hd = spec.head_dim;
  if (spec.n_kv_heads <= 0 || spec.n_heads % spec.n_kv_heads != 0)
    fail("attention: ", spec.n_heads, " heads cannot share ", spec.n_kv_heads, " KV heads");
  if (hd <= 0 || hd > kMaxHeadDim) fail("attention: head size ", hd, " (WebGPU supports up to ", kMaxHeadDim, ")");
  require_shape(q, static_cast<int64_t>(spec.n_heads) * hd, b.size(), "attention", "q");
  require_shape(out, q.cols, q.rows, "attention", "out");
  if (k_cache.cols != static_cast<int64_t>(spec.n_kv_heads) * hd || v_cache.cols != k_cache.cols)
    fail("attention: KV row width mismatch");
  for (const Tensor* cache : {&k_cache, &v_cache}) require_f32(*cache, "attention", "cache");
  const Bound qb = scratch(q, "attention", "q"), ob = scratch(out, "attention", "out");
  const Bound kc = resident(k_cache, "attention", "k_cache"), vc = resident(v_cache, "attention", "v_cache");
  Params p;
  p.u(q.rows).u(spec.n_heads).u(spec.n_kv_heads).u(hd).u(qb.at).u(qb.stride).u(ob.at).u(ob.stride).u(kc.at)
      .u(kc.stride).u(vc.at).u(vc.stride).u(std::max(spec.window, 0)).f(spec.scale).f(spec.softcap);
  stream_.dispatch(device_.pipeline(kAttention), p, grid(static_cast<uint64_t>(q.rows) * spec.n_heads),
                   {deferred(Deferred::Arena), deferred(Deferred::Batch), kc.buffer, vc.buffer});
}

void WebGpuBackend::glu(const Tensor& out, const Tensor& gate, const Tensor& up, Activation act) {
  require_shape(up, gate.cols, gate.rows, "glu", "up");
  require_shape(out, gate.cols, gate.rows, "glu", "out");
  const Bound g = scratch(gate, "glu", "gate"), u = scratch(up, "glu", "up");
  if (act == Activation::GeluTanh) elementwise(kGluGelu, out, g, u, u.stride, gelu_table(), 0.f);
  else elementwise(kGluSilu, out, g, u, u.stride, 0, 0.f);
}

void WebGpuBackend::softcap(const Tensor& x, float cap) {
  const Bound xb = scratch(x, "softcap", "x");
  elementwise(kSoftcap, x, xb, xb, 0, 0, cap);
}

void WebGpuBackend::select_rows(const Tensor& out, const Tensor& x) {
  const ForwardBatch& b = batch("select_rows");
  require_shape(out, x.cols, static_cast<int64_t>(b.output_rows.size()), "select_rows", "out");
  const Bound xb = scratch(x, "select_rows", "x"), ob = scratch(out, "select_rows", "out");
  Params p;
  p.u(out.rows).u(x.cols).u(xb.at).u(xb.stride).u(ob.at).u(ob.stride);
  stream_.dispatch(device_.pipeline(kSelectRows), p, grid(ceil_div(static_cast<uint64_t>(out.rows) * x.cols, kThreads)),
                   {deferred(Deferred::Arena), deferred(Deferred::Batch)});
}

}  // namespace weblm
