// safetensors: Hugging Face's tensor file format. Reader and writer.
//
// Layout: u64 little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value", ...}}   (optional, string values only)
// then the data buffer; offsets are relative to its start. As in the reference implementation,
// the tensors must tile the buffer exactly: no gaps, no overlap, nothing after the last one.
// The reader validates all of it, so a corrupt file is an Error naming what is wrong.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace weblm {

class MappedFile;

class SafetensorsFile {
 public:
  struct Tensor {
    std::string name;
    std::string dtype;           // "F32", "F16", "BF16", "I64", ... as in the file
    std::vector<int64_t> shape;  // row-major, outermost first (PyTorch order)
    std::span<const uint8_t> data;
  };

  // Maps the file (native) or reads it (wasm); throws Error naming the path on any problem.
  static SafetensorsFile open(const std::string& path);
  // Parses bytes owned by the caller, who keeps them alive as long as the SafetensorsFile.
  // `name` appears in error messages.
  static SafetensorsFile parse(std::span<const uint8_t> bytes, std::string name);

  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  ~SafetensorsFile();

  const std::string& name() const { return name_; }
  // In file order (ascending data offsets).
  const std::vector<Tensor>& tensors() const { return tensors_; }
  const Tensor* find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // F32, F16 or BF16 elements as floats; any other dtype is an Error naming the tensor.
  static std::vector<float> to_f32(const Tensor& tensor);

 private:
  SafetensorsFile() = default;
  std::unique_ptr<MappedFile> mapping_;
  std::string name_;
  std::vector<Tensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Bytes per element of a safetensors dtype name; 0 for a name weblm does not know (sub-byte
// types such as F4 included).
size_t safetensors_dtype_size(std::string_view dtype);

// Serializes tensors in the given order (their `data` must match dtype and shape) with optional
// `__metadata__`. The header is padded with spaces to a multiple of 8 bytes, as Hugging Face's
// writer does, so the data starts aligned.
std::vector<uint8_t> safetensors_bytes(std::span<const SafetensorsFile::Tensor> tensors,
                                       const std::map<std::string, std::string>& metadata = {});
void write_safetensors(const std::string& path, std::span<const SafetensorsFile::Tensor> tensors,
                       const std::map<std::string, std::string>& metadata = {});  // throws Error naming the path

}  // namespace weblm
