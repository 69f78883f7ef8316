#include "format/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "format/mapped_file.h"
#include "format/quants.h"
#include "util/error.h"

namespace weblm {

namespace {

// The reference implementation's limit: a larger header is treated as corrupt.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr std::string_view kMetadataKey = "__metadata__";

struct DtypeSize {
  std::string_view name;
  size_t bytes;
};
constexpr DtypeSize kDtypes[] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},   {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"F8_E8M0", 1}, {"I16", 2}, {"U16", 2},
    {"F16", 2},  {"BF16", 2}, {"I32", 4}, {"U32", 4},     {"F32", 4},     {"F64", 8},     {"I64", 8}, {"U64", 8},
};

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += str_cat(i ? ", " : "", shape[i]);
  return s + "]";
}

// Bytes of a tensor of `dtype` and `shape`; false if the count overflows 64 bits.
bool tensor_bytes(size_t element_bytes, const std::vector<int64_t>& shape, uint64_t& bytes) {
  bytes = element_bytes;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes)) return false;
  return true;
}

// A JSON number that is a non-negative integer below 2^63 (nlohmann parses those as unsigned).
bool as_index(const nlohmann::json& j, int64_t& out) {
  if (!j.is_number_unsigned() || j.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return false;
  out = static_cast<int64_t>(j.get<uint64_t>());
  return true;
}

}  // namespace

size_t safetensors_dtype_size(std::string_view dtype) {
  for (const DtypeSize& d : kDtypes)
    if (d.name == dtype) return d.bytes;
  return 0;
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  auto mapping = std::make_unique<MappedFile>(path);
  SafetensorsFile f = parse(mapping->bytes(), path);
  f.mapping_ = std::move(mapping);
  return f;
}

SafetensorsFile SafetensorsFile::parse(std::span<const uint8_t> bytes, std::string name) {
  SafetensorsFile f;
  f.name_ = std::move(name);
  const std::string& file = f.name_;
  if (bytes.size() < 8) fail(file, ": truncated: the 8-byte header length is cut off (the file has ", bytes.size(), " bytes)");
  uint64_t header_bytes;
  std::memcpy(&header_bytes, bytes.data(), 8);  // little-endian, as are all our targets
  if (header_bytes > kMaxHeaderBytes)
    fail(file, ": header length ", header_bytes, " exceeds the limit of ", kMaxHeaderBytes, " bytes (corrupt file?)");
  if (header_bytes > bytes.size() - 8)
    fail(file, ": header of ", header_bytes, " bytes runs past the end of the file (", bytes.size(), " bytes; truncated?)");

  const char* text = reinterpret_cast<const char*>(bytes.data() + 8);
  nlohmann::json header;
  // nlohmann keeps the last of duplicate keys; a duplicate tensor name is corruption, so say so.
  std::unordered_set<std::string> names;
  const auto reject_duplicates = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (depth == 1 && event == nlohmann::json::parse_event_t::key && !names.insert(parsed.get<std::string>()).second)
      fail(file, ": the JSON header names '", parsed.get<std::string>(), "' twice");
    return true;
  };
  try {
    header = nlohmann::json::parse(text, text + header_bytes, reject_duplicates);
  } catch (const nlohmann::json::exception& e) {
    fail(file, ": the JSON header (bytes 8 to ", 8 + header_bytes, ") is malformed: ", e.what());
  }
  if (!header.is_object()) fail(file, ": the JSON header is ", header.type_name(), ", expected an object");

  const std::span<const uint8_t> buffer = bytes.subspan(8 + static_cast<size_t>(header_bytes));
  struct Placed {
    uint64_t begin, end;
    Tensor tensor;
  };
  std::vector<Placed> placed;
  for (const auto& item : header.items()) {
    const std::string& key = item.key();  // (clang 14 cannot capture structured bindings)
    const nlohmann::json& entry = item.value();
    if (key == kMetadataKey) {
      if (!entry.is_object()) fail(file, ": '__metadata__' is ", entry.type_name(), ", expected an object of strings");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) fail(file, ": '__metadata__' key '", k, "' is ", v.type_name(), ", expected a string");
        f.metadata_.emplace(k, v.get<std::string>());
      }
      continue;
    }
    const auto bad = [&](const auto&... what) { fail(file, ": tensor '", key, "': ", what...); };
    if (!entry.is_object()) bad("entry is ", entry.type_name(), ", expected an object");
    const auto dtype = entry.find("dtype");
    const auto shape = entry.find("shape");
    const auto offsets = entry.find("data_offsets");
    if (dtype == entry.end() || !dtype->is_string()) bad("missing or non-string 'dtype'");
    if (shape == entry.end() || !shape->is_array()) bad("missing or non-array 'shape'");
    if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2) bad("'data_offsets' must be [begin, end]");

    Tensor t;
    t.name = key;
    t.dtype = dtype->get<std::string>();
    const size_t element_bytes = safetensors_dtype_size(t.dtype);
    if (element_bytes == 0) bad("unsupported dtype '", t.dtype, "'");
    t.shape.reserve(shape->size());
    for (const nlohmann::json& d : *shape) {
      int64_t dim = 0;
      if (!as_index(d, dim)) bad("shape entry ", d.dump(), " is not a non-negative integer");
      t.shape.push_back(dim);
    }
    int64_t begin = 0, end = 0;
    if (!as_index((*offsets)[0], begin) || !as_index((*offsets)[1], end) || end < begin)
      bad("data_offsets ", offsets->dump(), " are not integers 0 <= begin <= end");
    uint64_t expected = 0;
    if (!tensor_bytes(element_bytes, t.shape, expected)) bad("shape ", shape_str(t.shape), " overflows 64 bits");
    if (static_cast<uint64_t>(end - begin) != expected)
      bad("data_offsets [", begin, ", ", end, "] hold ", end - begin, " bytes, but shape ", shape_str(t.shape), " of ", t.dtype,
          " needs ", expected);
    if (static_cast<uint64_t>(end) > buffer.size())
      bad("data_offsets [", begin, ", ", end, "] run past the end of the ", buffer.size(), "-byte data buffer (truncated?)");
    t.data = buffer.subspan(static_cast<size_t>(begin), static_cast<size_t>(end - begin));
    placed.push_back({static_cast<uint64_t>(begin), static_cast<uint64_t>(end), std::move(t)});
  }

  // The tensors must tile the buffer in offset order; a gap or overlap means a corrupt header.
  std::stable_sort(placed.begin(), placed.end(),
                   [](const Placed& a, const Placed& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t covered = 0;
  for (const Placed& p : placed) {
    if (p.begin != covered)
      fail(file, ": tensor '", p.tensor.name, "': data starts at buffer offset ", p.begin, " but the previous tensor ends at ",
           covered, p.begin < covered ? " (overlap)" : " (gap)");
    covered = p.end;
  }
  if (covered != buffer.size())
    fail(file, ": the tensors cover ", covered, " bytes of the ", buffer.size(), "-byte data buffer (trailing bytes)");

  f.tensors_.reserve(placed.size());
  for (Placed& p : placed) f.tensors_.push_back(std::move(p.tensor));
  return f;
}

const SafetensorsFile::Tensor* SafetensorsFile::find(std::string_view name) const {
  for (const Tensor& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

std::vector<float> SafetensorsFile::to_f32(const Tensor& t) {
  const size_t element_bytes = safetensors_dtype_size(t.dtype);
  if (t.dtype != "F32" && t.dtype != "F16" && t.dtype != "BF16")
    fail("tensor '", t.name, "' has dtype ", t.dtype, "; only F32, F16 and BF16 convert to f32");
  if (t.data.size() % element_bytes != 0) fail("tensor '", t.name, "' has ", t.data.size(), " bytes, not whole ", t.dtype, " elements");
  std::vector<float> out(t.data.size() / element_bytes);
  if (t.dtype == "F32") {
    std::memcpy(out.data(), t.data.data(), t.data.size());
    return out;
  }
  const bool half = t.dtype == "F16";
  for (size_t i = 0; i < out.size(); ++i) {
    uint16_t bits;
    std::memcpy(&bits, t.data.data() + 2 * i, 2);  // the data need not be 2-byte aligned
    out[i] = half ? f16_to_f32(bits) : bf16_to_f32(bits);
  }
  return out;
}

std::vector<uint8_t> safetensors_bytes(std::span<const SafetensorsFile::Tensor> tensors,
                                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[std::string(kMetadataKey)] = metadata;
  uint64_t offset = 0;
  for (const SafetensorsFile::Tensor& t : tensors) {
    if (t.name == kMetadataKey || header.contains(t.name)) fail("safetensors writer: duplicate or reserved tensor name '", t.name, "'");
    const size_t element_bytes = safetensors_dtype_size(t.dtype);
    if (element_bytes == 0) fail("safetensors writer: tensor '", t.name, "' has unsupported dtype '", t.dtype, "'");
    uint64_t expected = 0;
    if (std::any_of(t.shape.begin(), t.shape.end(), [](int64_t d) { return d < 0; }) ||
        !tensor_bytes(element_bytes, t.shape, expected) || expected != t.data.size())
      fail("safetensors writer: tensor '", t.name, "' has ", t.data.size(), " bytes, which do not match shape ", shape_str(t.shape),
           " of ", t.dtype);
    header[t.name] = {{"dtype", t.dtype},
                      {"shape", t.shape},
                      {"data_offsets", nlohmann::ordered_json::array({offset, offset + t.data.size()})}};
    offset += t.data.size();
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {  // names or metadata that are not UTF-8
    fail("safetensors writer: ", e.what());
  }
  text.resize((text.size() + 7) / 8 * 8, ' ');

  std::vector<uint8_t> out(8);
  const uint64_t n = text.size();
  std::memcpy(out.data(), &n, 8);
  out.reserve(8 + text.size() + static_cast<size_t>(offset));
  out.insert(out.end(), text.begin(), text.end());
  for (const SafetensorsFile::Tensor& t : tensors) out.insert(out.end(), t.data.begin(), t.data.end());
  return out;
}

void write_safetensors(const std::string& path, std::span<const SafetensorsFile::Tensor> tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::vector<uint8_t> bytes = safetensors_bytes(tensors, metadata);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail(path, ": cannot create (", std::strerror(errno), ")");
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) fail(path, ": write failed");
}

}  // namespace weblm
