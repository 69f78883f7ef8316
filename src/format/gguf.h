// GGUF: the model file format of llama.cpp. Reader (v2, v3) and writer.
//
// Layout: magic "GGUF", version, tensor count, metadata count, metadata key/values, tensor
// infos (name, dims, type, offset), padding to `general.alignment` (default 32), tensor data.
// The reader validates every length and offset against the bytes it has, so a truncated or
// corrupt file is an Error naming what is wrong, never a read out of bounds.
//
// Split models (llama.cpp's gguf-split): PREFIX-00001-of-0000N.gguf holds the metadata, every part
// has `split.no`, `split.count` and `split.tensors.count`, and the tensors are spread over the
// parts. A GgufFile opened from the first part holds the tensors of all of them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "format/dtype.h"

namespace weblm {

enum class GgufType : uint32_t {
  UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
  String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12,
};
std::string_view gguf_type_name(GgufType type);

// One metadata value. Scalars of every integer width are kept as int64/uint64, floats as double;
// the getters below convert with range checks. Arrays hold their element type and elements.
struct GgufValue {
  GgufType type = GgufType::UInt32;
  uint64_t u = 0;       // UInt8..UInt64, Bool
  int64_t i = 0;        // Int8..Int64
  double f = 0;         // Float32, Float64
  std::string str;      // String
  GgufType array_type = GgufType::UInt32;
  std::vector<GgufValue> array;  // Array (elements have type == array_type)

  static GgufValue of_string(std::string s);
  static GgufValue of_u32(uint32_t v);
  static GgufValue of_i32(int32_t v);
  static GgufValue of_u64(uint64_t v);
  static GgufValue of_f32(float v);
  static GgufValue of_bool(bool v);
  static GgufValue of_strings(const std::vector<std::string>& v);
  static GgufValue of_f32s(const std::vector<float>& v);
  static GgufValue of_i32s(const std::vector<int32_t>& v);
};

struct GgufTensorInfo {
  std::string name;
  DType type = DType::F32;
  std::vector<int64_t> dims;  // ggml order: dims[0] = elements per row (ne0)
  uint64_t offset = 0;        // from the start of the data section
  size_t size = 0;            // bytes
  uint16_t part = 0;          // the file of a split model whose data section holds it (0: the first)

  int64_t elements() const;
  int64_t cols() const { return dims.empty() ? 1 : dims[0]; }
  int64_t rows() const { return elements() / cols(); }  // all dims past the first, flattened
};

class GgufFile {
 public:
  // Maps the file (native) or reads it (wasm); throws Error naming the path on any problem. The
  // first part of a split model brings in the others from beside it.
  static GgufFile open(const std::string& path);
  // Parses bytes owned by the caller, who keeps them alive as long as the GgufFile.
  // `name` appears in error messages.
  static GgufFile parse(std::span<const uint8_t> bytes, std::string name);
  // A model's files one after another in `bytes`, of `part_sizes` bytes each: the parts of a split
  // model (each starts with GGUF's magic), or pieces of one file cut anywhere (`split -b`).
  static GgufFile parse_parts(std::span<const uint8_t> bytes, std::span<const uint64_t> part_sizes, std::string name);

  // split.count: how many files this model spans (1 unless split).
  int64_t split_count() const;

  GgufFile(GgufFile&&) noexcept;
  GgufFile& operator=(GgufFile&&) noexcept;
  ~GgufFile();

  const std::string& name() const { return name_; }
  uint32_t version() const { return version_; }
  size_t alignment() const { return alignment_; }
  size_t file_size() const { return bytes_.size(); }

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  const GgufValue* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Typed getters. Without a fallback, a missing key is an Error naming the key; a value of the
  // wrong type or out of range is always an Error naming the key and both types.
  std::string get_string(std::string_view key) const;
  std::string get_string(std::string_view key, std::string fallback) const;
  int64_t get_int(std::string_view key) const;  // any integer type
  int64_t get_int(std::string_view key, int64_t fallback) const;
  float get_float(std::string_view key) const;  // any float or integer type
  float get_float(std::string_view key, float fallback) const;
  bool get_bool(std::string_view key, bool fallback) const;
  std::vector<std::string> get_strings(std::string_view key) const;  // empty if missing
  std::vector<float> get_floats(std::string_view key) const;         // empty if missing
  std::vector<int32_t> get_ints(std::string_view key) const;         // empty if missing
  // An integer key that may also be an array with one entry per layer (e.g. head_count_kv).
  std::vector<int64_t> get_int_per_layer(std::string_view key, int64_t n_layers) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  // The tensor's bytes (validated at parse time to lie inside the file).
  std::span<const uint8_t> tensor_data(const GgufTensorInfo& info) const;

 private:
  GgufFile() = default;
  static GgufFile open_one(const std::string& path);  // one file, split or not
  // Takes in the next part of a split model, checking that it is that part.
  void join(GgufFile part);
  // After the last part: every part was there and the tensor count is the announced one.
  void check_split_complete() const;
  struct Mapping;
  std::unique_ptr<Mapping> mapping_;  // keeps mapped or read bytes alive
  std::span<const uint8_t> bytes_;
  std::string name_;
  uint32_t version_ = 0;
  size_t alignment_ = 32;
  size_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::vector<GgufFile> parts_;  // split models: parts 2..N, whose data the tensors may point into
};

// The file name of part `index` (0-based) of `count` of a split model: PREFIX-00001-of-00003.gguf.
std::string gguf_split_path(const std::string& prefix, int index, int count);

// Writes GGUF v3. Keys keep insertion order (setting an existing key replaces its value);
// tensors are aligned to `general.alignment` (32 unless set).
class GgufWriter {
 public:
  void set(std::string key, GgufValue value);
  void add_tensor(std::string name, DType type, std::vector<int64_t> dims, std::vector<uint8_t> data);
  // Copies metadata (all keys but a split model's split.*) from a file, e.g. to rewrite it with
  // other tensors.
  void copy_metadata(const GgufFile& from);

  std::vector<uint8_t> to_bytes() const;
  void write(const std::string& path) const;  // throws Error naming the path

 private:
  struct PendingTensor {
    std::string name;
    DType type;
    std::vector<int64_t> dims;
    std::vector<uint8_t> data;
  };
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace weblm
