#include "format/gguf.h"

#include <cstring>
#include <fstream>

#include "util/error.h"

#ifndef __EMSCRIPTEN__
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

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
  void* addr = nullptr;
  size_t size = 0;
  std::vector<uint8_t> owned;
  ~Mapping() {
#ifndef __EMSCRIPTEN__
    if (addr) munmap(addr, size);
#endif
  }
};

namespace {

constexpr uint64_t kMaxDims = 4;
constexpr size_t kMaxArrayNesting = 8;

class Reader {
 public:
  Reader(std::span<const uint8_t> bytes, const std::string& name) : b_(bytes), name_(name) {}

  size_t pos() const { return pos_; }
  [[noreturn]] void error(const std::string& what) const { fail(name_, ": ", what, " (at byte ", pos_, ")"); }

  void need(uint64_t n, const char* what) const {
    if (n > b_.size() - pos_)
      error(str_cat("truncated file: ", what, " needs ", n, " bytes, only ", b_.size() - pos_, " left"));
  }
  template <class T>
  T scalar(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string string(const char* what) {
    const uint64_t n = scalar<uint64_t>(what);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  // Minimum encoded size of one value of `type`: bounds array counts before allocating.
  static uint64_t min_size(GgufType type) {
    switch (type) {
      case GgufType::UInt8: case GgufType::Int8: case GgufType::Bool: return 1;
      case GgufType::UInt16: case GgufType::Int16: return 2;
      case GgufType::UInt32: case GgufType::Int32: case GgufType::Float32: return 4;
      default: return 8;  // 64-bit scalars, string and array lengths
    }
  }
  GgufValue value(uint32_t raw_type, const std::string& key, size_t depth) {
    if (raw_type > static_cast<uint32_t>(GgufType::Float64)) error(str_cat("key '", key, "' has unknown value type ", raw_type));
    GgufValue v;
    v.type = static_cast<GgufType>(raw_type);
    switch (v.type) {
      case GgufType::UInt8: v.u = scalar<uint8_t>("u8"); break;
      case GgufType::Int8: v.i = scalar<int8_t>("i8"); break;
      case GgufType::UInt16: v.u = scalar<uint16_t>("u16"); break;
      case GgufType::Int16: v.i = scalar<int16_t>("i16"); break;
      case GgufType::UInt32: v.u = scalar<uint32_t>("u32"); break;
      case GgufType::Int32: v.i = scalar<int32_t>("i32"); break;
      case GgufType::UInt64: v.u = scalar<uint64_t>("u64"); break;
      case GgufType::Int64: v.i = scalar<int64_t>("i64"); break;
      case GgufType::Float32: v.f = scalar<float>("f32"); break;
      case GgufType::Float64: v.f = scalar<double>("f64"); break;
      case GgufType::Bool: {
        const uint8_t x = scalar<uint8_t>("bool");
        if (x > 1) error(str_cat("key '", key, "' has bool value ", int(x)));
        v.u = x;
        break;
      }
      case GgufType::String: v.str = string("string value"); break;
      case GgufType::Array: {
        if (depth >= kMaxArrayNesting) error(str_cat("key '", key, "' nests arrays too deeply"));
        const uint32_t element = scalar<uint32_t>("array type");
        if (element > static_cast<uint32_t>(GgufType::Float64)) error(str_cat("key '", key, "' has unknown array type ", element));
        v.array_type = static_cast<GgufType>(element);
        const uint64_t n = scalar<uint64_t>("array length");
        if (n > (b_.size() - pos_) / min_size(v.array_type))
          error(str_cat("key '", key, "' claims ", n, " array elements, more than the file holds"));
        v.array.reserve(n);
        for (uint64_t i = 0; i < n; ++i) v.array.push_back(value(element, key, depth + 1));
        break;
      }
    }
    return v;
  }

 private:
  std::span<const uint8_t> b_;
  const std::string& name_;
  size_t pos_ = 0;
};

}  // namespace

GgufFile::GgufFile(GgufFile&&) noexcept = default;
GgufFile& GgufFile::operator=(GgufFile&&) noexcept = default;
GgufFile::~GgufFile() = default;

GgufFile GgufFile::open(const std::string& path) {
  auto mapping = std::make_unique<Mapping>();
  std::span<const uint8_t> bytes;
#ifndef __EMSCRIPTEN__
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail(path, ": cannot open (", std::strerror(errno), ")");
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, ": not a regular file");
  }
  if (st.st_size > 0) {
    void* addr = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (addr == MAP_FAILED) fail(path, ": cannot map (", std::strerror(errno), ")");
    mapping->addr = addr;
    mapping->size = static_cast<size_t>(st.st_size);
    bytes = {static_cast<const uint8_t*>(addr), mapping->size};
  } else {
    ::close(fd);
  }
#else
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open");
  mapping->owned.assign(std::istreambuf_iterator<char>(in), {});
  bytes = mapping->owned;
#endif
  GgufFile f = parse(bytes, path);
  f.mapping_ = std::move(mapping);
  return f;
}

GgufFile GgufFile::parse(std::span<const uint8_t> bytes, std::string name) {
  GgufFile f;
  f.name_ = std::move(name);
  f.bytes_ = bytes;
  Reader r(bytes, f.name_);
  if (bytes.size() < 4 || std::memcmp(bytes.data(), "GGUF", 4) != 0) r.error("bad magic: not a GGUF file");
  r.scalar<uint32_t>("magic");
  f.version_ = r.scalar<uint32_t>("version");
  if (f.version_ != 2 && f.version_ != 3)
    r.error(str_cat("unsupported GGUF version ", f.version_, " (2 and 3 are supported)"));
  const uint64_t n_tensors = r.scalar<uint64_t>("tensor count");
  const uint64_t n_kv = r.scalar<uint64_t>("metadata count");
  if (n_kv > bytes.size() / 13) r.error(str_cat("metadata count ", n_kv, " is larger than the file could hold"));
  if (n_tensors > bytes.size() / 24) r.error(str_cat("tensor count ", n_tensors, " is larger than the file could hold"));
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = r.string("metadata key");
    const uint32_t type = r.scalar<uint32_t>("value type");
    GgufValue v = r.value(type, key, 0);
    f.metadata_.emplace_back(std::move(key), std::move(v));
  }
  if (const GgufValue* a = f.find("general.alignment")) {
    if (a->type != GgufType::UInt32 || a->u == 0 || (a->u & (a->u - 1)) != 0)
      r.error("general.alignment must be a u32 power of two");
    f.alignment_ = a->u;
  }
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = r.string("tensor name");
    const uint32_t n_dims = r.scalar<uint32_t>("tensor dims");
    if (n_dims == 0 || n_dims > kMaxDims) r.error(str_cat("tensor '", t.name, "' has ", n_dims, " dimensions (1 to 4 supported)"));
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const int64_t dim = r.scalar<int64_t>("tensor dim");
      if (dim <= 0 || dim > (int64_t(1) << 40) || elements > (uint64_t(1) << 42) / static_cast<uint64_t>(dim))
        r.error(str_cat("tensor '", t.name, "' has invalid dimension ", dim));
      elements *= static_cast<uint64_t>(dim);
      t.dims.push_back(dim);
    }
    const uint32_t type = r.scalar<uint32_t>("tensor type");
    const DTypeTraits* traits = dtype_traits(type);
    if (!traits) r.error(str_cat("tensor '", t.name, "' has unknown or unsupported tensor type ", type));
    t.type = static_cast<DType>(type);
    if (t.dims[0] % traits->block_size != 0)
      r.error(str_cat("tensor '", t.name, "' rows of ", t.dims[0], " are not whole ", traits->name, " blocks of ", traits->block_size));
    t.size = static_cast<size_t>(elements / traits->block_size * traits->block_size) / traits->block_size * traits->block_bytes;
    t.offset = r.scalar<uint64_t>("tensor offset");
    if (t.offset % f.alignment_ != 0) r.error(str_cat("tensor '", t.name, "' offset ", t.offset, " is not aligned to ", f.alignment_));
    f.tensors_.push_back(std::move(t));
  }
  f.data_offset_ = (r.pos() + f.alignment_ - 1) / f.alignment_ * f.alignment_;
  for (const GgufTensorInfo& t : f.tensors_) {
    if (f.data_offset_ > bytes.size() || t.offset > bytes.size() - f.data_offset_ ||
        t.size > bytes.size() - f.data_offset_ - t.offset)
      fail(f.name_, ": tensor '", t.name, "' data [", f.data_offset_ + t.offset, ", ", f.data_offset_ + t.offset + t.size,
           ") lies outside the file of ", bytes.size(), " bytes (truncated or corrupt)");
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
  return bytes_.subspan(data_offset_ + info.offset, info.size);
}

// --- writing ---------------------------------------------------------------------------------

void GgufWriter::set(std::string key, GgufValue value) {
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(std::move(key), std::move(value));
}

void GgufWriter::add_tensor(std::string name, DType type, std::vector<int64_t> dims, std::vector<uint8_t> data) {
  int64_t elements = 1;
  for (int64_t d : dims) elements *= d;
  if (dims.empty() || dims.size() > kMaxDims) fail("tensor '", name, "': 1 to 4 dimensions");
  if (data.size() != row_bytes(type, dims[0]) * static_cast<size_t>(elements / dims[0]))
    fail("tensor '", name, "': ", data.size(), " bytes do not match its shape and type ", dtype_name(type));
  tensors_.push_back({std::move(name), type, std::move(dims), std::move(data)});
}

void GgufWriter::copy_metadata(const GgufFile& from) {
  for (const auto& [k, v] : from.metadata()) set(k, v);
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
      case GgufType::Bool: scalar<uint8_t>(v.u ? 1 : 0); break;
      case GgufType::String: string(v.str); break;
      case GgufType::Array:
        scalar<uint32_t>(static_cast<uint32_t>(v.array_type));
        scalar<uint64_t>(v.array.size());
        for (const GgufValue& e : v.array) value(e);
        break;
    }
  }
  void pad(size_t alignment) { bytes.resize((bytes.size() + alignment - 1) / alignment * alignment, 0); }
};
}  // namespace

std::vector<uint8_t> GgufWriter::to_bytes() const {
  size_t alignment = 32;
  for (const auto& [k, v] : metadata_)
    if (k == "general.alignment") alignment = static_cast<size_t>(v.u);
  Out o;
  o.bytes.insert(o.bytes.end(), {'G', 'G', 'U', 'F'});
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
    offset = (offset + t.data.size() + alignment - 1) / alignment * alignment;
  }
  o.pad(alignment);
  for (const PendingTensor& t : tensors_) {
    o.bytes.insert(o.bytes.end(), t.data.begin(), t.data.end());
    o.pad(alignment);
  }
  return o.bytes;
}

void GgufWriter::write(const std::string& path) const {
  const std::vector<uint8_t> bytes = to_bytes();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) fail(path, ": cannot write");
}

}  // namespace weblm
