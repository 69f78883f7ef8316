#include "format/gguf.h"

#include <algorithm>
#include <cerrno>
#include <array>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <unordered_set>

#include "format/mapped_file.h"
#include "util/error.h"

namespace weblm {

std::string_view gguf_type_name(GgufType type) {
  switch (type) {
    case GgufType::UInt8: return "u8";
    case GgufType::Int8: return "i8";
    case GgufType::UInt16: return "u16";
    case GgufType::Int16: return "i16";
    case GgufType::UInt32: return "u32";
    case GgufType::Int32: return "i32";
    case GgufType::Float32: return "f32";
    case GgufType::Bool: return "bool";
    case GgufType::String: return "string";
    case GgufType::Array: return "array";
    case GgufType::UInt64: return "u64";
    case GgufType::Int64: return "i64";
    case GgufType::Float64: return "f64";
  }
  return "unknown";
}

GgufValue GgufValue::of_string(std::string s) { GgufValue v; v.type = GgufType::String; v.str = std::move(s); return v; }
GgufValue GgufValue::of_u32(uint32_t x) { GgufValue v; v.type = GgufType::UInt32; v.u = x; return v; }
GgufValue GgufValue::of_i32(int32_t x) { GgufValue v; v.type = GgufType::Int32; v.i = x; return v; }
GgufValue GgufValue::of_u64(uint64_t x) { GgufValue v; v.type = GgufType::UInt64; v.u = x; return v; }
GgufValue GgufValue::of_f32(float x) { GgufValue v; v.type = GgufType::Float32; v.f = x; return v; }
GgufValue GgufValue::of_bool(bool x) { GgufValue v; v.type = GgufType::Bool; v.u = x; return v; }

template <class T, class Make>
static GgufValue array_of(GgufType element, const std::vector<T>& items, Make make) {
  GgufValue v;
  v.type = GgufType::Array;
  v.array_type = element;
  v.array.reserve(items.size());
  for (const T& x : items) v.array.push_back(make(x));
  return v;
}
GgufValue GgufValue::of_strings(const std::vector<std::string>& x) { return array_of(GgufType::String, x, of_string); }
GgufValue GgufValue::of_f32s(const std::vector<float>& x) { return array_of(GgufType::Float32, x, of_f32); }
GgufValue GgufValue::of_i32s(const std::vector<int32_t>& x) { return array_of(GgufType::Int32, x, of_i32); }

int64_t GgufTensorInfo::elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

// --- reading ---------------------------------------------------------------------------------

struct GgufFile::Mapping {
  explicit Mapping(const std::string& path) : file(path) {}
  MappedFile file;
};

namespace {

constexpr uint32_t kMaxDims = 4;
constexpr size_t kMaxArrayDepth = 8;
constexpr uint64_t kDefaultAlignment = 32;

bool is_value_type(uint32_t type) { return type <= static_cast<uint32_t>(GgufType::Float64); }

// Smallest encoding of one value of `type`: bounds an array's claimed length by the bytes left.
uint64_t min_encoded_size(GgufType type) {
  switch (type) {
    case GgufType::UInt8: case GgufType::Int8: case GgufType::Bool: return 1;
    case GgufType::UInt16: case GgufType::Int16: return 2;
    case GgufType::UInt32: case GgufType::Int32: case GgufType::Float32: return 4;
    case GgufType::Array: return 12;  // element type + length
    default: return 8;                // 64-bit scalars; a string's length
  }
}

// ggml's names for its type numbers, so that a file with a type weblm cannot load says which.
std::string_view ggml_type_name(uint32_t type) {
  static constexpr std::string_view kNames[] = {
      "f32",  "f16",   "q4_0",   "q4_1",   "",      "",      "q5_0",  "q5_1",  "q8_0",    "q8_1",   "q2_K",
      "q3_K", "q4_K",  "q5_K",   "q6_K",   "q8_K",  "iq2_xxs", "iq2_xs", "iq3_xxs", "iq1_s", "iq4_nl", "iq3_s",
      "iq2_s", "iq4_xs", "i8",   "i16",    "i32",   "i64",   "f64",   "iq1_m", "bf16",    "",       "",
      "",     "tq1_0", "tq2_0",  "",       "",      "",      "mxfp4", "nvfp4", "q1_0",    "q2_0"};
  return type < std::size(kNames) ? kNames[type] : std::string_view();
}

uint64_t align_up(uint64_t x, uint64_t alignment) { return (x + alignment - 1) / alignment * alignment; }

class Reader {
 public:
  Reader(std::span<const uint8_t> bytes, const std::string& file) : b_(bytes), file_(file) {}

  // What is being read, named in every error: "header", "key 'general.name'", "tensor #3", ...
  std::string subject = "header";

  size_t pos() const { return pos_; }
  size_t remaining() const { return b_.size() - pos_; }

  [[noreturn]] void error(const std::string& what, size_t at) const {
    fail(file_, " at byte ", at, ": ", subject, ": ", what);
  }
  [[noreturn]] void error(const std::string& what) const { error(what, pos_); }

  void need(uint64_t n, std::string_view what) const {
    if (n > remaining())
      error(str_cat(what, " needs ", n, " bytes but only ", remaining(), " remain (truncated file?)"));
  }
  template <class T>
  T scalar(std::string_view what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string string(std::string_view what) {
    const size_t at = pos_;
    const uint64_t n = scalar<uint64_t>(str_cat(what, " length"));
    if (n > remaining())
      error(str_cat(what, " of ", n, " bytes runs past the end of the file (", remaining(), " bytes left; truncated?)"), at);
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }
  GgufType value_type(std::string_view what) {
    const size_t at = pos_;
    const uint32_t raw = scalar<uint32_t>(what);
    if (!is_value_type(raw)) error(str_cat("unknown ", what, " ", raw), at);
    return static_cast<GgufType>(raw);
  }

  // `depth` counts the arrays around this value.
  GgufValue value(GgufType type, size_t depth) {
    GgufValue v;
    v.type = type;
    switch (type) {
      case GgufType::UInt8: v.u = scalar<uint8_t>("u8 value"); break;
      case GgufType::Int8: v.i = scalar<int8_t>("i8 value"); break;
      case GgufType::UInt16: v.u = scalar<uint16_t>("u16 value"); break;
      case GgufType::Int16: v.i = scalar<int16_t>("i16 value"); break;
      case GgufType::UInt32: v.u = scalar<uint32_t>("u32 value"); break;
      case GgufType::Int32: v.i = scalar<int32_t>("i32 value"); break;
      case GgufType::UInt64: v.u = scalar<uint64_t>("u64 value"); break;
      case GgufType::Int64: v.i = scalar<int64_t>("i64 value"); break;
      case GgufType::Float32: v.f = scalar<float>("f32 value"); break;
      case GgufType::Float64: v.f = scalar<double>("f64 value"); break;
      case GgufType::Bool: {
        const uint8_t x = scalar<uint8_t>("bool value");
        if (x > 1) error(str_cat("bool value ", int(x), " is neither 0 nor 1"), pos_ - 1);
        v.u = x;
        break;
      }
      case GgufType::String: v.str = string("string value"); break;
      case GgufType::Array: {
        if (depth == kMaxArrayDepth) error(str_cat("arrays nested more than ", kMaxArrayDepth, " deep"));
        v.array_type = value_type("array element type");
        const size_t at = pos_;
        const uint64_t n = scalar<uint64_t>("array length");
        if (n > remaining() / min_encoded_size(v.array_type))
          error(str_cat("array of ", n, " ", gguf_type_name(v.array_type), " elements cannot fit in the ", remaining(),
                        " bytes left (truncated?)"), at);
        v.array.reserve(static_cast<size_t>(n));
        for (uint64_t i = 0; i < n; ++i) v.array.push_back(value(v.array_type, depth + 1));
        break;
      }
    }
    return v;
  }

 private:
  std::span<const uint8_t> b_;
  const std::string& file_;
  size_t pos_ = 0;
};

std::string printable(std::span<const uint8_t> bytes) {
  std::string out;
  for (uint8_t c : bytes) out += c >= 0x20 && c < 0x7f ? str_cat(char(c)) : str_cat("\\x", "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]);
  return out;
}

void read_header(Reader& r, uint32_t& version, uint64_t& n_tensors, uint64_t& n_kv) {
  const auto magic = r.scalar<std::array<uint8_t, 4>>("magic");
  if (std::memcmp(magic.data(), "GGUF", 4) != 0) r.error(str_cat("not a GGUF file (magic '", printable(magic), "', expected 'GGUF')"), 0);
  version = r.scalar<uint32_t>("version");
  if (version == 1) r.error("GGUF v1 is not supported (it predates 64-bit counts); re-convert the model with a current llama.cpp", 4);
  if ((version & 0xFFFFFF) == 0 && (version >> 24 == 2 || version >> 24 == 3))
    r.error("big-endian GGUF files are not supported", 4);
  if (version != 2 && version != 3) r.error(str_cat("unsupported GGUF version ", version, " (weblm reads versions 2 and 3)"), 4);
  n_tensors = r.scalar<uint64_t>("tensor count");
  n_kv = r.scalar<uint64_t>("metadata count");
  // A key/value pair takes at least 13 bytes (key length, type, a 1-byte value) and a tensor info
  // 32 (name length, dim count, one dim, type, offset): bounds both counts before any allocation.
  if (n_kv > r.remaining() / 13) r.error(str_cat("metadata count ", n_kv, " cannot fit in the ", r.remaining(), " bytes left (truncated?)"), 16);
  if (n_tensors > r.remaining() / 32)
    r.error(str_cat("tensor count ", n_tensors, " cannot fit in the ", r.remaining(), " bytes left (truncated?)"), 8);
}

}  // namespace

GgufFile::GgufFile(GgufFile&&) noexcept = default;
GgufFile& GgufFile::operator=(GgufFile&&) noexcept = default;
GgufFile::~GgufFile() = default;

GgufFile GgufFile::open(const std::string& path) {
  GgufFile f = open_one(path);
  const int64_t count = f.split_count();
  if (count <= 1) return f;
  // PREFIX-00001-of-0000N.gguf: the other parts are PREFIX-0000i-of-0000N.gguf.
  const std::string tail = gguf_split_path("", 0, static_cast<int>(count));
  if (path.size() <= tail.size() || path.compare(path.size() - tail.size(), tail.size(), tail) != 0)
    fail(path, ": part 1 of a model split in ", count, " files, but not named PREFIX", tail,
         ", so its other parts cannot be found");
  const std::string prefix = path.substr(0, path.size() - tail.size());
  for (int i = 1; i < count; ++i) f.join(open_one(gguf_split_path(prefix, i, static_cast<int>(count))));
  f.check_split_complete();
  return f;
}

GgufFile GgufFile::parse_parts(std::span<const uint8_t> bytes, std::span<const uint64_t> part_sizes, std::string name) {
  uint64_t total = 0;
  for (uint64_t s : part_sizes) total += s;
  if (part_sizes.empty() || total != bytes.size())
    fail(name, ": the parts' sizes add up to ", total, " bytes, but ", bytes.size(), " bytes were given");
  const bool split = part_sizes.size() > 1 && part_sizes[1] >= 4 && std::memcmp(bytes.data() + part_sizes[0], "GGUF", 4) == 0;
  if (!split) return parse(bytes, std::move(name));
  GgufFile f = parse(bytes.first(static_cast<size_t>(part_sizes[0])), name);
  if (f.split_count() != static_cast<int64_t>(part_sizes.size()))
    fail(name, ": ", part_sizes.size(), " files were given, but the first announces ", f.split_count(), " (split.count)");
  size_t at = static_cast<size_t>(part_sizes[0]);
  for (size_t i = 1; i < part_sizes.size(); ++i) {
    f.join(parse(bytes.subspan(at, static_cast<size_t>(part_sizes[i])), str_cat(name, " part ", i + 1)));
    at += static_cast<size_t>(part_sizes[i]);
  }
  f.check_split_complete();
  return f;
}

int64_t GgufFile::split_count() const {
  const int64_t count = get_int("split.count", 1);
  if (count < 1 || count > 65535) fail(name_, ": split.count ", count, " is out of range");
  const int64_t no = get_int("split.no", 0);
  if (parts_.empty() && no != 0)
    fail(name_, " is part ", no + 1, " of a model split in ", count, " files: open the first part (",
         gguf_split_path("PREFIX", 0, static_cast<int>(count)), ")");
  return count;
}

void GgufFile::join(GgufFile part) {
  const int64_t index = static_cast<int64_t>(parts_.size()) + 1;
  const int64_t count = get_int("split.count", 1);
  if (part.get_int("split.no", -1) != index || part.get_int("split.count", -1) != count)
    fail(part.name_, ": expected part ", index + 1, " of ", count, " of ", name_, " (split.no ", index, "), but it says part ",
         part.get_int("split.no", -1) + 1, " of ", part.get_int("split.count", -1));
  std::unordered_set<std::string_view> names;
  for (const GgufTensorInfo& t : tensors_) names.insert(t.name);
  for (GgufTensorInfo& t : part.tensors_) {
    if (names.count(t.name)) fail(part.name_, ": tensor '", t.name, "' is also in an earlier part");
    t.part = static_cast<uint16_t>(index);
    tensors_.push_back(std::move(t));
  }
  part.tensors_.clear();
  parts_.push_back(std::move(part));
}

void GgufFile::check_split_complete() const {
  const int64_t announced = get_int("split.tensors.count", static_cast<int64_t>(tensors_.size()));
  if (announced != static_cast<int64_t>(tensors_.size()))
    fail(name_, ": the ", parts_.size() + 1, " parts hold ", tensors_.size(), " tensors, split.tensors.count says ", announced);
}

std::string gguf_split_path(const std::string& prefix, int index, int count) {
  char tail[32];
  std::snprintf(tail, sizeof tail, "-%05d-of-%05d.gguf", index + 1, count);
  return prefix + tail;
}

GgufFile GgufFile::open_one(const std::string& path) {
  auto mapping = std::make_unique<Mapping>(path);
  GgufFile f = parse(mapping->file.bytes(), path);
  f.mapping_ = std::move(mapping);
  return f;
}

GgufFile GgufFile::parse(std::span<const uint8_t> bytes, std::string name) {
  GgufFile f;
  f.name_ = std::move(name);
  f.bytes_ = bytes;
  Reader r(bytes, f.name_);
  uint64_t n_tensors = 0, n_kv = 0;
  read_header(r, f.version_, n_tensors, n_kv);
  f.alignment_ = kDefaultAlignment;

  f.metadata_.reserve(static_cast<size_t>(n_kv));
  std::unordered_set<std::string> keys;
  for (uint64_t i = 0; i < n_kv; ++i) {
    r.subject = str_cat("key #", i);
    const size_t at = r.pos();
    std::string key = r.string("key");
    if (key.empty()) r.error("empty key", at);
    r.subject = str_cat("key '", key, "'");
    if (!keys.insert(key).second) r.error("duplicate key", at);
    GgufValue v = r.value(r.value_type("value type"), 0);
    if (key == "general.alignment") {
      if (v.type != GgufType::UInt32 || v.u == 0 || (v.u & (v.u - 1)) != 0)
        r.error(str_cat("must be a u32 power of two, not the ", gguf_type_name(v.type), " ",
                        v.type == GgufType::UInt32 ? str_cat(v.u) : std::string("value")), at);
      f.alignment_ = static_cast<size_t>(v.u);
    }
    f.metadata_.emplace_back(std::move(key), std::move(v));
  }

  f.tensors_.reserve(static_cast<size_t>(n_tensors));
  std::vector<size_t> info_at;  // where each tensor info starts, for errors found after the loop
  std::vector<uint64_t> sizes;  // bytes, checked against the file before narrowing to size_t
  std::unordered_set<std::string> names;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    r.subject = str_cat("tensor #", i);
    info_at.push_back(r.pos());
    GgufTensorInfo t;
    t.name = r.string("tensor name");
    r.subject = str_cat("tensor '", t.name, "'");
    if (!names.insert(t.name).second) r.error("duplicate tensor name", info_at.back());
    const uint32_t n_dims = r.scalar<uint32_t>("dimension count");
    if (n_dims == 0 || n_dims > kMaxDims) r.error(str_cat(n_dims, " dimensions (1 to ", kMaxDims, " supported)"), r.pos() - 4);
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const int64_t dim = r.scalar<int64_t>("dimension");
      if (dim <= 0) r.error(str_cat("dimension ", d, " is ", dim, " (must be positive)"), r.pos() - 8);
      if (elements > static_cast<uint64_t>(INT64_MAX) / static_cast<uint64_t>(dim))
        r.error("element count overflows 64 bits", r.pos() - 8);
      elements *= static_cast<uint64_t>(dim);
      t.dims.push_back(dim);
    }
    const uint32_t type = r.scalar<uint32_t>("tensor type");
    const DTypeTraits* traits = dtype_traits(type);
    if (!traits) {
      const std::string_view known = ggml_type_name(type);
      r.error(known.empty() ? str_cat("unknown tensor type ", type)
                            : str_cat("tensor type ", type, " (", known, ") is not supported by weblm"),
              r.pos() - 4);
    }
    t.type = static_cast<DType>(type);
    if (t.dims[0] % traits->block_size != 0)
      r.error(str_cat("rows of ", t.dims[0], " elements are not whole ", traits->name, " blocks of ", traits->block_size),
              r.pos() - 4);
    const uint64_t blocks = elements / static_cast<uint64_t>(traits->block_size);
    if (blocks > UINT64_MAX / traits->block_bytes) r.error("byte size overflows 64 bits", r.pos() - 4);
    sizes.push_back(blocks * traits->block_bytes);
    t.offset = r.scalar<uint64_t>("data offset");
    if (t.offset % f.alignment_ != 0)
      r.error(str_cat("data offset ", t.offset, " is not a multiple of the alignment ", f.alignment_), r.pos() - 8);
    f.tensors_.push_back(std::move(t));
  }

  const uint64_t data_offset = align_up(r.pos(), f.alignment_);
  f.data_offset_ = static_cast<size_t>(std::min<uint64_t>(data_offset, bytes.size()));
  for (size_t i = 0; i < f.tensors_.size(); ++i) {
    GgufTensorInfo& t = f.tensors_[i];
    if (data_offset > bytes.size() || t.offset > bytes.size() - data_offset ||
        sizes[i] > bytes.size() - data_offset - t.offset) {
      r.subject = str_cat("tensor '", t.name, "'");
      r.error(str_cat("data of ", sizes[i], " bytes at data offset ", t.offset, " runs past the end of the file (data starts at byte ",
                      data_offset, ", the file has ", bytes.size(), " bytes; truncated?)"),
              info_at[i]);
    }
    t.size = static_cast<size_t>(sizes[i]);
  }
  return f;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  for (const auto& [k, v] : metadata_)
    if (k == key) return &v;
  return nullptr;
}

namespace {
bool is_int(GgufType t) {
  return t == GgufType::UInt8 || t == GgufType::Int8 || t == GgufType::UInt16 || t == GgufType::Int16 ||
         t == GgufType::UInt32 || t == GgufType::Int32 || t == GgufType::UInt64 || t == GgufType::Int64 ||
         t == GgufType::Bool;
}
bool is_signed(GgufType t) {
  return t == GgufType::Int8 || t == GgufType::Int16 || t == GgufType::Int32 || t == GgufType::Int64;
}
int64_t as_int(const GgufValue& v, std::string_view key, const std::string& file) {
  if (!is_int(v.type)) fail(file, ": key '", key, "' is ", gguf_type_name(v.type), ", expected an integer");
  if (is_signed(v.type)) return v.i;
  if (v.u > static_cast<uint64_t>(INT64_MAX)) fail(file, ": key '", key, "' value ", v.u, " is out of range");
  return static_cast<int64_t>(v.u);
}
}  // namespace

std::string GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) fail(name_, ": missing required key '", key, "'");
  if (v->type != GgufType::String) fail(name_, ": key '", key, "' is ", gguf_type_name(v->type), ", expected a string");
  return v->str;
}
std::string GgufFile::get_string(std::string_view key, std::string fallback) const {
  return has(key) ? get_string(key) : fallback;
}
int64_t GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) fail(name_, ": missing required key '", key, "'");
  return as_int(*v, key, name_);
}
int64_t GgufFile::get_int(std::string_view key, int64_t fallback) const { return has(key) ? get_int(key) : fallback; }
float GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) fail(name_, ": missing required key '", key, "'");
  if (v->type == GgufType::Float32 || v->type == GgufType::Float64) return static_cast<float>(v->f);
  return static_cast<float>(as_int(*v, key, name_));
}
float GgufFile::get_float(std::string_view key, float fallback) const { return has(key) ? get_float(key) : fallback; }
bool GgufFile::get_bool(std::string_view key, bool fallback) const {
  const GgufValue* v = find(key);
  if (!v) return fallback;
  if (v->type != GgufType::Bool) fail(name_, ": key '", key, "' is ", gguf_type_name(v->type), ", expected a bool");
  return v->u != 0;
}

namespace {
const GgufValue* array_of_type(const GgufFile& f, std::string_view key, const char* expected, bool (*ok)(GgufType)) {
  const GgufValue* v = f.find(key);
  if (!v) return nullptr;
  if (v->type != GgufType::Array || !ok(v->array_type))
    fail(f.name(), ": key '", key, "' is not an array of ", expected);
  return v;
}
}  // namespace

std::vector<std::string> GgufFile::get_strings(std::string_view key) const {
  std::vector<std::string> out;
  if (const GgufValue* v = array_of_type(*this, key, "strings", [](GgufType t) { return t == GgufType::String; }))
    for (const GgufValue& e : v->array) out.push_back(e.str);
  return out;
}
std::vector<float> GgufFile::get_floats(std::string_view key) const {
  std::vector<float> out;
  if (const GgufValue* v = array_of_type(*this, key, "numbers", [](GgufType t) {
        return t == GgufType::Float32 || t == GgufType::Float64 || is_int(t); }))
    for (const GgufValue& e : v->array)
      out.push_back(e.type == GgufType::Float32 || e.type == GgufType::Float64 ? static_cast<float>(e.f)
                                                                                : static_cast<float>(as_int(e, key, name_)));
  return out;
}
std::vector<int32_t> GgufFile::get_ints(std::string_view key) const {
  std::vector<int32_t> out;
  if (const GgufValue* v = array_of_type(*this, key, "integers", is_int))
    for (const GgufValue& e : v->array) {
      const int64_t x = as_int(e, key, name_);
      if (x < INT32_MIN || x > INT32_MAX) fail(name_, ": key '", key, "' holds ", x, ", out of the 32-bit range");
      out.push_back(static_cast<int32_t>(x));
    }
  return out;
}
std::vector<int64_t> GgufFile::get_int_per_layer(std::string_view key, int64_t n_layers) const {
  const GgufValue* v = find(key);
  if (!v) fail(name_, ": missing required key '", key, "'");
  if (n_layers < 0) fail(name_, ": key '", key, "' read for a negative layer count ", n_layers);
  if (v->type != GgufType::Array) return std::vector<int64_t>(static_cast<size_t>(n_layers), as_int(*v, key, name_));
  if (static_cast<int64_t>(v->array.size()) != n_layers)
    fail(name_, ": key '", key, "' has ", v->array.size(), " entries for ", n_layers, " layers");
  std::vector<int64_t> out;
  for (const GgufValue& e : v->array) out.push_back(as_int(e, key, name_));
  return out;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  for (const GgufTensorInfo& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

std::span<const uint8_t> GgufFile::tensor_data(const GgufTensorInfo& info) const {
  const GgufFile& holder = info.part == 0 ? *this : parts_.at(info.part - 1);
  return holder.bytes_.subspan(holder.data_offset_ + info.offset, info.size);
}

// --- writing ---------------------------------------------------------------------------------

namespace {

// The writer refuses what the reader would reject, so everything it writes reads back.
void check_value(const GgufValue& v, const std::string& key, size_t depth) {
  if (!is_value_type(static_cast<uint32_t>(v.type)))
    fail("GGUF writer: key '", key, "' has unknown value type ", static_cast<uint32_t>(v.type));
  if (v.type == GgufType::Bool && v.u > 1) fail("GGUF writer: key '", key, "' has bool value ", v.u);
  if (v.type != GgufType::Array) return;
  if (depth == kMaxArrayDepth) fail("GGUF writer: key '", key, "' nests arrays more than ", kMaxArrayDepth, " deep");
  if (!is_value_type(static_cast<uint32_t>(v.array_type)))
    fail("GGUF writer: key '", key, "' has unknown array element type ", static_cast<uint32_t>(v.array_type));
  for (const GgufValue& e : v.array) {
    if (e.type != v.array_type)
      fail("GGUF writer: key '", key, "': array of ", gguf_type_name(v.array_type), " holds a ", gguf_type_name(e.type), " element");
    check_value(e, key, depth + 1);
  }
}

}  // namespace

void GgufWriter::set(std::string key, GgufValue value) {
  if (key.empty()) fail("GGUF writer: empty key");
  check_value(value, key, 0);
  if (key == "general.alignment" && (value.type != GgufType::UInt32 || value.u == 0 || (value.u & (value.u - 1)) != 0))
    fail("GGUF writer: general.alignment must be a u32 power of two");
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(std::move(key), std::move(value));
}

void GgufWriter::add_tensor(std::string name, DType type, std::vector<int64_t> dims, std::vector<uint8_t> data) {
  if (dims.empty() || dims.size() > kMaxDims) fail("GGUF writer: tensor '", name, "' has ", dims.size(), " dimensions (1 to 4 supported)");
  int64_t rows = 1;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] <= 0) fail("GGUF writer: tensor '", name, "' dimension ", d, " is ", dims[d]);
    if (d > 0 && __builtin_mul_overflow(rows, dims[d], &rows)) fail("GGUF writer: tensor '", name, "' is too large");
  }
  for (const PendingTensor& t : tensors_)
    if (t.name == name) fail("GGUF writer: duplicate tensor '", name, "'");
  size_t expected = 0;
  if (__builtin_mul_overflow(row_bytes(type, dims[0]), static_cast<uint64_t>(rows), &expected) || data.size() != expected)
    fail("GGUF writer: tensor '", name, "' has ", data.size(), " bytes, its shape and type ", dtype_name(type), " need ", expected);
  tensors_.push_back({std::move(name), type, std::move(dims), std::move(data)});
}

void GgufWriter::copy_metadata(const GgufFile& from) {
  for (const auto& [k, v] : from.metadata())
    if (k.rfind("split.", 0) != 0) set(k, v);
}

namespace {
class Out {
 public:
  std::vector<uint8_t> bytes;
  template <class T>
  void scalar(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
  }
  void string(const std::string& s) {
    scalar<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void value(const GgufValue& v) {
    switch (v.type) {
      case GgufType::UInt8: scalar<uint8_t>(static_cast<uint8_t>(v.u)); break;
      case GgufType::Int8: scalar<int8_t>(static_cast<int8_t>(v.i)); break;
      case GgufType::UInt16: scalar<uint16_t>(static_cast<uint16_t>(v.u)); break;
      case GgufType::Int16: scalar<int16_t>(static_cast<int16_t>(v.i)); break;
      case GgufType::UInt32: scalar<uint32_t>(static_cast<uint32_t>(v.u)); break;
      case GgufType::Int32: scalar<int32_t>(static_cast<int32_t>(v.i)); break;
      case GgufType::UInt64: scalar<uint64_t>(v.u); break;
      case GgufType::Int64: scalar<int64_t>(v.i); break;
      case GgufType::Float32: scalar<float>(static_cast<float>(v.f)); break;
      case GgufType::Float64: scalar<double>(v.f); break;
      case GgufType::Bool: scalar<uint8_t>(static_cast<uint8_t>(v.u)); break;
      case GgufType::String: string(v.str); break;
      case GgufType::Array:
        scalar<uint32_t>(static_cast<uint32_t>(v.array_type));
        scalar<uint64_t>(v.array.size());
        for (const GgufValue& e : v.array) value(e);
        break;
    }
  }
  void pad(size_t alignment) { bytes.resize(static_cast<size_t>(align_up(bytes.size(), alignment)), 0); }
};
}  // namespace

std::vector<uint8_t> GgufWriter::to_bytes() const {
  size_t alignment = kDefaultAlignment;
  for (const auto& [k, v] : metadata_)
    if (k == "general.alignment") alignment = static_cast<size_t>(v.u);
  Out o;
  o.bytes = {'G', 'G', 'U', 'F'};
  o.scalar<uint32_t>(3);
  o.scalar<uint64_t>(tensors_.size());
  o.scalar<uint64_t>(metadata_.size());
  for (const auto& [k, v] : metadata_) {
    o.string(k);
    o.scalar<uint32_t>(static_cast<uint32_t>(v.type));
    o.value(v);
  }
  uint64_t offset = 0;
  for (const PendingTensor& t : tensors_) {
    o.string(t.name);
    o.scalar<uint32_t>(static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) o.scalar<int64_t>(d);
    o.scalar<uint32_t>(static_cast<uint32_t>(t.type));
    o.scalar<uint64_t>(offset);
    offset = align_up(offset + t.data.size(), alignment);
  }
  // Without tensors there is no data section, so nothing to align (as in llama.cpp's reader).
  if (!tensors_.empty()) o.pad(alignment);
  for (const PendingTensor& t : tensors_) {
    o.bytes.insert(o.bytes.end(), t.data.begin(), t.data.end());
    o.pad(alignment);
  }
  return o.bytes;
}

void GgufWriter::write(const std::string& path) const {
  const std::vector<uint8_t> bytes = to_bytes();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail(path, ": cannot create (", std::strerror(errno), ")");
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) fail(path, ": write failed");
}

}  // namespace weblm
